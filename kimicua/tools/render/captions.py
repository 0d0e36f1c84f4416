"""Captions: an action's short text, and a caption strip under a picture.

The text is data (model output): in an image it is only stripped of control
characters and cut to fit; the HTML report escapes it on its own.
"""

from __future__ import annotations

import functools
import json

from PIL import Image, ImageDraw, ImageFont

from kimicua.env.actions import (
    Action, Back, Click, Done, Drag, Fail, Forward, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp, Move,
    Navigate, Scroll, Type, Wait,
)

MAX_QUOTED = 60  # characters of typed text, URLs and answers shown in a caption
CAPTION_BG = (24, 24, 27)
CAPTION_FG = (244, 244, 245)
CAPTION_ERROR = (251, 146, 60)
_CLICKS = {1: "click", 2: "double click", 3: "triple click"}


def _num(v: float) -> str:
    """640.0 -> '640', 640.25 -> '640.2': logical pixels, as a person reads them."""
    return f"{v:.1f}".removesuffix(".0")


def _at(x: float | None, y: float | None) -> str:
    return "" if x is None or y is None else f" ({_num(x)}, {_num(y)})"


def quoted(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` in double quotes, escapes visible (newlines as \\n), cut at ``limit``."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return json.dumps(cut, ensure_ascii=False)


def _scroll(a: Scroll) -> str:
    # Positive dy scrolls up, positive dx right (pyautogui's and OSWorld's sign).
    parts = [f"{'up' if a.dy > 0 else 'down'} {abs(a.dy)}"] if a.dy else []
    parts += [f"{'right' if a.dx > 0 else 'left'} {abs(a.dx)}"] if a.dx else []
    return f"scroll {' '.join(parts) or '0'}" + (f" at{_at(a.x, a.y)}" if a.x is not None else "")


def describe(action: Action) -> str:
    """A few words for an action: ``click (640, 360)``, ``type "hello"``, ``hotkey ctrl+c``."""
    match action:
        case Click(button=button, count=count):
            kind = _CLICKS.get(count, f"{count}x click")
            return (f"{button} {kind}" if button != "left" else kind) + _at(action.x, action.y)
        case Move():
            return f"move{_at(action.x, action.y)}"
        case Drag(start_x=None):
            return f"drag to{_at(action.x, action.y)}"
        case Drag():
            return f"drag{_at(action.start_x, action.start_y)} →{_at(action.x, action.y)}"
        case Scroll():
            return _scroll(action)
        case Type(text=text):
            return f"type {quoted(text)}"
        case Key(key=key):
            return f"key {key}"
        case KeyDown(key=key) | KeyUp(key=key):
            return f"{action.type.replace('_', ' ')} {key}"
        case Hotkey(keys=keys):
            return f"hotkey {'+'.join(keys)}"
        case MouseDown(button=b) | MouseUp(button=b):
            return f"{action.type.replace('_', ' ')} {b}"
        case Navigate(url=url):
            return f"navigate {quoted(url, 2 * MAX_QUOTED)}"
        case Back() | Forward():
            return action.type
        case Wait(seconds=s):
            return f"wait {_num(s)} s"
        case Done(answer=answer):
            return "done" + ("" if answer is None else f" {quoted(answer)}")
        case Fail(reason=reason):
            return "fail" + ("" if reason is None else f" {quoted(reason)}")
    return action.type


def one_line(text: str) -> str:
    """``text`` with every run of whitespace and control characters as one space."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


@functools.lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (Debian's fonts-dejavu-core, which the Makefile installs), else Pillow's own."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        try:
            return ImageFont.load_default(size)
        except TypeError:  # Pillow < 10.1: one bitmap size only
            return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, face, width: float) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` pixels."""
    if draw.textlength(text, font=face) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if draw.textlength(text[:mid] + "…", font=face) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def with_caption(image: Image.Image, text: str, error: str | None = None) -> Image.Image:
    """``image`` with a strip below it: ``text`` on the first line, ``error`` (if any)
    on the second. The strip's height depends only on the image's width, so every
    picture of an episode gets the same size (a video needs that)."""
    w, h = image.size
    size = max(12, w // 64)
    pad, line = size // 2, round(size * 1.35)
    out = Image.new("RGB", (w, h + 2 * pad + 2 * line), CAPTION_BG)
    out.paste(image.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(out)
    face = font(size)
    room = w - 2 * pad
    draw.text((pad, h + pad), _fit(draw, one_line(text), face, room), font=face, fill=CAPTION_FG)
    if error:
        draw.text((pad, h + pad + line), _fit(draw, "error: " + one_line(error), face, room), font=face,
                  fill=CAPTION_ERROR)
    return out
