"""The benchmark's screenshots: found under the images folder by the annotation's path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kimicua.env.geometry import Size
from kimicua.tasks.screenspot.formats import FormatError


def image_path(images: Path | None, name: str) -> Path:
    """The file of the annotation's image ``name``; FormatError when there is none."""
    if images is None:
        raise FormatError(f"no images folder for {name} (give --images, or put images/ beside the annotations)")
    path = images / name
    if not path.is_file():
        raise FormatError(f"{path}: no such image")
    return path


def image_size(images: Path | None, name: str) -> Size:
    """The image's size, read from its header only."""
    from PIL import Image, UnidentifiedImageError

    path = image_path(images, name)
    try:
        with Image.open(path) as im:
            return Size(*im.size)
    except (OSError, UnidentifiedImageError) as err:
        raise FormatError(f"{path}: not an image ({err})") from None


def load_image(images: Path | None, name: str) -> np.ndarray:
    """The image as RGB uint8 [H, W, 3], at its native resolution."""
    from PIL import Image, UnidentifiedImageError

    path = image_path(images, name)
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as err:
        raise FormatError(f"{path}: not an image ({err})") from None
