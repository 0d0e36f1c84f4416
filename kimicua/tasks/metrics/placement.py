"""Where a drawn thing sits in an image (two GIMP tasks): a text box at the left edge,
a triangle in the middle. Pillow and numpy, with OSWorld's thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from kimicua.tasks.metrics.registry import metric


@metric
def check_textbox_on_leftside(src_path: Any) -> float:
    """1 when the leftmost dark pixel (grey level below 128) lies in the left 5% of the
    image."""
    if src_path is None:
        return 0.0
    with Image.open(src_path) as image:
        gray = np.asarray(image.convert("L"))
    columns = np.flatnonzero((gray < 128).any(axis=0))
    leftmost = columns[0] if columns.size else gray.shape[1]
    return float(leftmost < gray.shape[1] * 0.05)


@metric
def check_triangle_position(tgt_path: Any) -> float:
    """1 when the pixels of the triangle's colour have their centroid within 5% (of
    each side) of the image centre.

    OSWorld takes the triangle's colour to be the one at index 1 when the colours are
    sorted by how often they occur, least first (for a two-colour picture that is the
    background, whose centroid is also central when the triangle is); kept as it is.
    """
    if tgt_path is None:
        return 0.0
    with Image.open(tgt_path) as image:
        pixels = np.array(image)
    if pixels.ndim != 3:
        raise ValueError("check_triangle_position needs a colour image")
    colors, counts = np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0, return_counts=True)
    if len(colors) < 2:
        raise ValueError("check_triangle_position needs an image of at least two colours")
    triangle = colors[np.argsort(counts)][1]
    centroid = np.argwhere(np.all(pixels == triangle, axis=2)).mean(axis=0)
    size = np.array(pixels.shape[:2])
    return float(np.all(np.abs(centroid - size / 2) < 0.05 * size))
