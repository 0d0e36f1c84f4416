"""Images in any terminal: each character cell shows two pixels, one above the other,
as an upper half block (the top pixel's colour in front, the bottom one's behind)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from rich.style import Style
from rich.text import Text

UPPER_HALF = "▀"


def fit(image: np.ndarray, max_cols: int, max_rows: int) -> np.ndarray:
    """``image`` (RGB [H, W, 3]) scaled to fit ``max_cols`` x ``2 * max_rows`` pixels,
    keeping its aspect ratio (a cell is one pixel wide and two tall: square pixels)."""
    h, w = image.shape[:2]
    scale = min(max_cols / w, 2 * max_rows / h, 1.0)
    size = (max(1, round(w * scale)), max(2, round(h * scale)))
    if size == (w, h):
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def halfblocks(image: np.ndarray) -> Text:
    """RGB [H, W, 3] as rich Text, one cell per pixel column and pixel row pair."""
    if image.shape[0] % 2:
        image = np.concatenate([image, image[-1:]], axis=0)  # repeat the last row
    text = Text(no_wrap=True, overflow="crop")
    for top, bottom in zip(image[0::2], image[1::2]):
        for (r1, g1, b1), (r2, g2, b2) in zip(top.tolist(), bottom.tolist()):
            text.append(UPPER_HALF, Style(color=f"rgb({r1},{g1},{b1})", bgcolor=f"rgb({r2},{g2},{b2})"))
        text.append("\n")
    text.rstrip()
    return text


def crop_around(image: np.ndarray, x: float, y: float, width: int, height: int) -> tuple[np.ndarray, tuple[int, int]]:
    """A ``width`` x ``height`` crop of ``image`` centred on pixel (x, y) as far as the
    image allows, and where the point lies in the crop."""
    h, w = image.shape[:2]
    px, py = min(max(int(x), 0), w - 1), min(max(int(y), 0), h - 1)
    left = min(max(px - width // 2, 0), max(w - width, 0))
    top = min(max(py - height // 2, 0), max(h - height, 0))
    return image[top:top + height, left:left + width], (px - left, py - top)


def mark(image: np.ndarray, x: int, y: int, colour: tuple[int, int, int] = (255, 0, 0)) -> np.ndarray:
    """A copy of ``image`` with a cross at (x, y): where an action lands."""
    out = np.array(image)
    arm = max(2, min(out.shape[:2]) // 8)
    out[max(y - arm, 0):y + arm + 1, x] = colour
    out[y, max(x - arm, 0):x + arm + 1] = colour
    return out
