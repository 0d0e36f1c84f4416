"""What a dialect is, and the text helpers every dialect shares.

A dialect is the prompt format and the parser of one model family, with the
coordinate space its numbers are in. Coordinates change space only through
``geometry.Frame``.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any, Sequence

from kimicua.agent.parser import ParseError
from kimicua.agent.pycode import number
from kimicua.env.actions import Action, ActionError, action_from_json
from kimicua.env.geometry import Frame, OutsideScreen, Size, Space


class Dialect(ABC):
    """One model family's output format: prompt, parser, coordinate space."""

    name: str
    space: Space

    @abstractmethod
    def system_prompt(self, *, screen: Size) -> str:
        """The OS-agent system prompt; ``screen`` is the screenshot's size."""

    @abstractmethod
    def parse(self, text: str, frame: Frame) -> list[Action]:
        """Actions in screen logical pixels, or ParseError."""

    @abstractmethod
    def format_history_step(self, thought: str | None, actions: Sequence[Action], frame: Frame) -> str:
        """A previous step as text in this dialect's own format."""

    def image_size(self, screenshot: Size) -> Size | None:
        """The (unpadded) size the model sees the screenshot at, when the dialect
        fixes it; None when the backend decides."""
        return None

    def thought(self, text: str) -> str | None:
        """The visible reasoning of an answer (think blocks and code removed)."""
        body = FENCE.sub("", strip_thinking(text, strict=False)).strip()
        return body or None

    def frame_for(self, frame: Frame) -> Frame:
        """``frame`` with the model image size filled in for image-space dialects."""
        if self.space is Space.IMAGE and frame.image is None:
            size = self.image_size(frame.physical or frame.screen)
            if size is None:
                raise ParseError(f"{self.name} needs the model image size in the frame")
            return replace(frame, image=size)
        return frame

    def to_screen(self, x: Any, y: Any, frame: Frame, space: Space | None = None) -> tuple[float, float]:
        """A point of the model's (in ``space``, default the dialect's) in screen pixels."""
        px, py = number(x, "x"), number(y, "y")
        try:
            return frame.to_screen(px, py, space or self.space)
        except OutsideScreen as err:
            raise ParseError(f"off-screen point: {err}") from None

    def from_screen(self, x: float, y: float, frame: Frame, ndigits: int = 0) -> tuple[Any, Any]:
        """A screen point in the dialect's space, rounded for writing back as text."""
        fx, fy = frame.from_screen(x, y, self.space)
        if ndigits == 0:
            return round(fx), round(fy)
        return round(fx, ndigits), round(fy, ndigits)

    def __repr__(self) -> str:
        return f"<dialect {self.name} ({self.space})>"


def make(data: dict[str, Any]) -> Action:
    """An action from its JSON form, with an invalid one as a ParseError."""
    try:
        return action_from_json(data)
    except ActionError as err:
        raise ParseError(str(err)) from None


# --- text ------------------------------------------------------------------------------

# (open, close) pairs of the reasoning wrappers of thinking checkpoints.
_THINK = (("◁think▷", "◁/think▷"), ("<think>", "</think>"))

# The language tag counts only when a newline follows it, so ```WAIT``` is a body.
FENCE = re.compile(r"```[ \t]*(?:([\w+-]*)[ \t]*\n)?(.*?)```", re.S)


def strip_thinking(text: str, *, strict: bool = True) -> str:
    """``text`` without its think blocks. A block left open means the answer was cut
    off while thinking: a ParseError when ``strict``, else everything after it goes."""
    for start, end in _THINK:
        # A template may put the opening tag in the prompt: drop up to a lone close tag.
        head, sep, tail = text.partition(end)
        if sep and start not in head:
            text = tail
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), "", text, flags=re.S)
        if start in text:
            if strict:
                raise ParseError(f"answer ends inside a {start} block (no {end})")
            text = text.split(start, 1)[0]
    return text


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each markdown code fence, in order."""
    return [((m.group(1) or "").lower(), m.group(2)) for m in FENCE.finditer(text)]


# --- image size --------------------------------------------------------------------------


def smart_resize(size: Size, *, factor: int = 28, min_pixels: int, max_pixels: int) -> Size:
    """The Qwen2-VL family's resize: each side a multiple of ``factor``, the area
    within [min_pixels, max_pixels], the aspect ratio kept as far as that allows."""
    w, h = size.width, size.height
    if max(w, h) / min(w, h) > 200:
        raise ValueError(f"aspect ratio of {size} is more than 200")
    hb = max(factor, round(h / factor) * factor)
    wb = max(factor, round(w / factor) * factor)
    if hb * wb > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        hb = max(factor, math.floor(h / beta / factor) * factor)
        wb = max(factor, math.floor(w / beta / factor) * factor)
    elif hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        hb = math.ceil(h * beta / factor) * factor
        wb = math.ceil(w * beta / factor) * factor
    return Size(wb, hb)


def map_points(action: Action, fn) -> Action:
    """``action`` with each of its points (x, y) and (start_x, start_y) sent through
    ``fn(x, y) -> (x, y)``."""
    update: dict[str, float] = {}
    for kx, ky in (("x", "y"), ("start_x", "start_y")):
        x, y = getattr(action, kx, None), getattr(action, ky, None)
        if x is not None and y is not None:
            update[kx], update[ky] = fn(x, y)
    return action.model_copy(update=update) if update else action


def json_values(text: str) -> list[Any]:
    """The JSON values in an answer: each fenced block that is JSON, else each
    top-level object or array found by scanning the text."""
    decoder = json.JSONDecoder()
    values = []
    for _, body in fenced_blocks(text):
        try:
            values.append(loads_json(body))
        except ParseError:
            continue
    if values:
        return values
    i, tries = 0, 0
    while (m := _JSON_START.search(text, i)) is not None and tries < _MAX_TRIES:
        tries += 1
        try:
            value, end = decoder.raw_decode(text, m.start())
        except (ValueError, RecursionError):
            i = m.start() + 1
            continue
        values.append(value)
        i = end
    return values


_JSON_START = re.compile(r"[\[{]")
_MAX_TRIES = 200  # bounds the scan of a text full of brackets


def loads_json(text: str) -> Any:
    """json.loads with every failure as a ParseError."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        raise ParseError(f"invalid JSON: {str(err).splitlines()[0][:80]}") from None
