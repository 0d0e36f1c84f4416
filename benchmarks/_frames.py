"""Screenshot-like test frames: flat panels, text and a photo-like region.

Random noise would be the worst case for PNG and nothing like a desktop."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def screenshot_like(width: int = 1920, height: int = 1080, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height), (236, 239, 244))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, width, 40], fill=(40, 44, 52))
    for i in range(12):
        x0, y0 = int(rng.integers(0, width - 300)), int(rng.integers(50, height - 200))
        draw.rectangle([x0, y0, x0 + 300, y0 + 180], fill=tuple(int(c) for c in rng.integers(0, 255, 3)),
                       outline=(0, 0, 0))
    for row in range(60, height - 20, 18):
        draw.text((20, row), "The quick brown fox jumps over the lazy dog 0123456789" * 3, fill=(20, 20, 20))
    arr = np.asarray(img).copy()
    # A photo-like patch (a wallpaper or an image in a page).
    arr[height // 2:height // 2 + 300, width // 2:width // 2 + 400] = rng.integers(0, 255, (300, 400, 3))
    return arr
