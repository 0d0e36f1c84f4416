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
from rich.text import Text

from kimicua.env.actions import Action
from kimicua.env.geometry import Frame, Size
from kimicua.tools.render.markers import draw_action
from kimicua.tools.terminal.halfblock import fit, halfblocks

IMAGES_ENV = "KIMICUA_TUI_IMAGES"
MODES = ("auto", "halfblock", "tgp", "sixel")


def marked(image: np.ndarray, action: Action | None, screen: tuple[int, int] | None) -> Image.Image:
    """``image`` (RGB, physical pixels of the logical ``screen``) as a PIL image with
    ``action``'s marker drawn on it."""
    picture = Image.fromarray(np.ascontiguousarray(image[..., :3]))
    logical = Size(*screen) if screen else Size(*picture.size)
    draw_action(picture, action, Frame(screen=logical, physical=Size(*picture.size)))
    return picture


def halfblock_picture(image: np.ndarray, action: Action | None, screen: tuple[int, int] | None,
                      cols: int, rows: int) -> Text:
    """The screenshot fitted into ``cols`` x ``rows`` cells as half blocks, the marker
    drawn at that size (so it stays a few cells wide however small the picture)."""
    small = fit(np.ascontiguousarray(image[..., :3]), max(cols, 1), max(rows, 1))
    return halfblocks(np.asarray(marked(small, action, screen)))


def images_mode(asked: str | None = None) -> str:
    """What to draw screenshots with: ``asked`` (the --images option), else
    $KIMICUA_TUI_IMAGES, else "auto"; auto asks the terminal (before Textual starts,
    as textual-image must) and falls back to half blocks."""
    mode = (asked or os.environ.get(IMAGES_ENV) or "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"images must be one of {', '.join(MODES)}, got {mode!r} (--images or ${IMAGES_ENV})")
    if mode != "auto":
        return mode
    if not (sys.__stdout__ and sys.__stdout__.isatty()):
        return "halfblock"
    try:
        from textual_image.renderable import Image as Detected
        from textual_image.renderable.sixel import Image as Sixel
        from textual_image.renderable.tgp import Image as TGP
    except Exception:  # no answer from the terminal, or no textual-image: half blocks work anywhere
        return "halfblock"
    return {Sixel: "sixel", TGP: "tgp"}.get(Detected, "halfblock")
