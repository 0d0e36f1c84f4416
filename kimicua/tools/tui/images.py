"""Screenshots in the terminal, with the action's marker drawn where it happens.

Two ways: a terminal graphics protocol through textual-image (Kitty's TGP, Sixel)
where the terminal answers that it has one, else half blocks (two pixels a cell,
``kimicua.tools.terminal.halfblock``), which every colour terminal shows. Markers are
``kimicua render``'s own (a ring and dot for a click, a line for a drag, an arrow for a
scroll), drawn on the picture at the size it is shown.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from PIL import Image
from rich.text import Span, Text

from kimicua.env.actions import Action
from kimicua.env.geometry import Frame, Size
from kimicua.tools.render.markers import draw_action
from kimicua.tools.terminal.halfblock import fit, halfblocks

IMAGES_ENV = "KIMICUA_TUI_IMAGES"
MODES = ("auto", "halfblock", "tgp", "sixel")
# Markers are drawn on a picture this many times the cells' pixels, then scaled down:
# drawn at the shown size they would cover a fifth of it, at full size they vanish.
MARK_OVERSAMPLE = 2


def marked(image: np.ndarray, action: Action | None, screen: tuple[int, int] | None) -> Image.Image:
    """``image`` (RGB, physical pixels of the logical ``screen``) as a PIL image with
    ``action``'s marker drawn on it."""
    picture = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    logical = Size(*screen) if screen else Size(*picture.size)
    draw_action(picture, action, Frame(screen=logical, physical=Size(*picture.size)))
    return picture


def halfblock_picture(image: np.ndarray, action: Action | None, screen: tuple[int, int] | None,
                      cols: int, rows: int) -> Text:
    """The screenshot fitted into ``cols`` x ``rows`` cells as half blocks, with the
    marker drawn at MARK_OVERSAMPLE times that size and scaled down with it, so it is
    a few cells across however small the picture."""
    rgb = np.ascontiguousarray(image[..., :3])
    cols, rows = max(cols, 1), max(rows, 1)
    shown = fit(rgb, cols, rows)
    if action is not None:
        k = MARK_OVERSAMPLE
        big = np.asarray(marked(fit(rgb, k * cols, k * rows), action, screen))
        shown = np.asarray(Image.fromarray(big).resize((shown.shape[1], shown.shape[0]), Image.Resampling.BOX))
    return merged(halfblocks(shown))


def merged(text: Text) -> Text:
    """``text`` with neighbouring cells of one style as one span: a flat area draws
    as one run, not a run per cell (fewer segments for Textual to compose)."""
    spans: list[Span] = []
    for span in text.spans:
        if spans and spans[-1].end == span.start and spans[-1].style == span.style:
            spans[-1] = Span(spans[-1].start, span.end, span.style)
        else:
            spans.append(span)
    text.spans = spans
    return text


def images_mode(asked: str | None = None) -> str:
    """What to draw screenshots with: ``asked`` (the --images option), else
    $KIMICUA_TUI_IMAGES, else "auto"; auto asks the terminal (before Textual starts,
    as textual-image must) and falls back to half blocks."""
    mode = (asked or os.environ.get(IMAGES_ENV) or "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"images must be one of {', '.join(MODES)}, got {mode!r} (--images or ${IMAGES_ENV})")
    if mode == "halfblock" or (mode == "auto" and not (sys.__stdout__ and sys.__stdout__.isatty())):
        return "halfblock"
    try:
        # Imported now: textual-image asks the terminal for its cell size and protocols,
        # which it cannot once Textual owns the terminal.
        import textual_image.widget  # noqa: F401
        from textual_image.renderable import Image as Detected
        from textual_image.renderable.sixel import Image as Sixel
        from textual_image.renderable.tgp import Image as TGP
    except Exception:  # no answer from the terminal, or no textual-image: half blocks work anywhere
        return "halfblock"
    if mode != "auto":
        return mode
    return {Sixel: "sixel", TGP: "tgp"}.get(Detected, "halfblock")
