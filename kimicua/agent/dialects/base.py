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

from kimicua.agent.parser import MAX_ACTIONS, MAX_TEXT, ParseError
from kimicua.agent.pycode import number, shown
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

    def grounding_messages(self, instruction: str, *, image: Size) -> list[dict]:
        """The single-step grounding prompt (ScreenSpot style): chat messages that ask
        for the element ``instruction`` describes on one screenshot of size ``image``,
        which their one ``{"type": "image"}`` item stands for. Unlike the system prompt,
        it is the model family's published grounding prompt; a dialect without one
        raises ValueError."""
        raise ValueError(f"dialect {self.name} has no grounding prompt")

    def grounding_answer(self, text: str) -> str:
        """A grounding answer as text that ``parse`` reads. Most families answer a
        grounding prompt in their action format, so it is returned unchanged."""
        return text

    def image_size(self, screenshot: Size) -> Size | None:
        """The (unpadded) size the model sees the screenshot at, when the dialect
        fixes it; None when the backend decides."""
        return None

    def thought(self, text: str) -> str | None:
        """The visible reasoning of an answer (think blocks and code removed)."""
        body = without_fences(strip_thinking(text, strict=False)).strip()
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


def image_and_text(text: str) -> list[dict]:
    """A user message's content: the screenshot, then ``text``."""
    return [{"type": "image"}, {"type": "text", "text": text}]


def make(data: dict[str, Any]) -> Action:
    """An action from its JSON form, with an invalid one as a ParseError."""
    try:
        return action_from_json(data)
    except ActionError as err:
        raise ParseError(str(err)) from None


# --- text ------------------------------------------------------------------------------

# (open, close) pairs of the reasoning wrappers of thinking checkpoints.
_THINK = (("◁think▷", "◁/think▷"), ("<think>", "</think>"))

FENCE_MARK = "```"
MAX_BLOCKS = MAX_ACTIONS  # code blocks (or tool calls) in one answer; more is not one step
# A fence's language tag counts only when a newline follows it, so ```WAIT``` is a body.
_FENCE_HEAD = re.compile(r"[ \t]*(?:([\w+-]*)[ \t]*\n)?")


def strip_thinking(text: str, *, strict: bool = True) -> str:
    """``text`` without its think blocks. A block left open means the answer was cut
    off while thinking: a ParseError when ``strict``, else everything after it goes."""
    for start, end in _THINK:
        # A template may put the opening tag in the prompt: drop up to a lone close tag.
        head, sep, tail = text.partition(end)
        if sep and start not in head:
            text = tail
        text = _drop_blocks(text, start, end)
        if start in text:
            if strict:
                raise ParseError(f"answer ends inside a {start} block (no {end})")
            text = text.split(start, 1)[0]
    return text


def _drop_blocks(text: str, start: str, end: str) -> str:
    """``text`` without each ``start``...``end`` block (the nearest end closes). A scan
    with str.find: the regex ``start.*?end`` retried from every unclosed start is quadratic."""
    kept, i = [], 0
    while (j := text.find(start, i)) >= 0:
        k = text.find(end, j + len(start))
        if k < 0:  # no later start can close either
            break
        kept.append(text[i:j])
        i = k + len(end)
    kept.append(text[i:])
    return "".join(kept)


def fence_spans(text: str, limit: int | None = None) -> list[tuple[int, int, str | None, int]]:
    """(start, end, language, body start) of each markdown code fence, in order (at
    most ``limit`` + 1 of them); the body ends 3 characters before ``end``. Linear: a
    fence closes at the next ```."""
    spans, i = [], 0
    while (j := text.find(FENCE_MARK, i)) >= 0 and (limit is None or len(spans) <= limit):
        k = text.find(FENCE_MARK, j + 3)
        if k < 0:
            break
        head = _FENCE_HEAD.match(text, j + 3, k)  # always matches, maybe empty
        spans.append((j, k + 3, head.group(1), head.end()))
        i = k + 3
    return spans


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each markdown code fence, in order; more than MAX_BLOCKS
    is a ParseError (one answer is one step)."""
    spans = fence_spans(text, MAX_BLOCKS)
    if len(spans) > MAX_BLOCKS:
        raise ParseError(f"more than {MAX_BLOCKS} code blocks in one answer")
    return [((lang or "").lower(), text[body:end - 3]) for _, end, lang, body in spans]


def without_fences(text: str) -> str:
    """``text`` with its code fences removed."""
    kept, i = [], 0
    for start, end, _, _ in fence_spans(text):
        kept.append(text[i:start])
        i = end
    kept.append(text[i:])
    return "".join(kept)


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
    values = []
    for _, body in fenced_blocks(text):
        try:
            values.append(loads_json(body))
        except ParseError:
            continue
    return values or _scan_json(text)


_JSON_START = re.compile(r"[\[{]")
_MAX_TRIES = 200  # bounds the scan of a text full of brackets
# Characters read by failed decodes. A failure can read to the end of the text (an
# unclosed bracket), and each bracket inside it is tried again: without a budget,
# tries x length.
_SCAN_BUDGET = 4 * MAX_TEXT


def _scan_json(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    values: list[Any] = []
    i, tries, spent = 0, 0, 0
    while (m := _JSON_START.search(text, i)) is not None and tries < _MAX_TRIES and spent < _SCAN_BUDGET:
        tries += 1
        try:
            value, end = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError as err:
            spent += err.pos - m.start()
        except (ValueError, RecursionError):  # too deep, or an int too long to convert
            spent += len(text) - m.start()  # how far it read is unknown: charge the most
        else:
            values.append(value)
            i = end
            continue
        i = m.start() + 1
    return values


def snippet_of(value: Any) -> str:
    """The start of a JSON value as text, for an error message; never raises (a
    value nested near the recursion limit can fail to dump)."""
    try:
        return json.dumps(value, ensure_ascii=False)[:80]
    except (ValueError, RecursionError):
        return shown(value, 80)


def loads_json(text: str) -> Any:
    """json.loads with every failure as a ParseError."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        raise ParseError(f"invalid JSON: {str(err).splitlines()[0][:80]}") from None
