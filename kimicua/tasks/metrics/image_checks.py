"""Image property metrics: size, file size, a green background, and text read by OCR.

OSWorld reads text with EasyOCR, whose model cannot be downloaded here; this uses the
Tesseract binary (Debian package ``tesseract-ocr``) through pytesseract. Its reading of a
word may differ from EasyOCR's (e.g. "ls" read as "1s"), which is why tasks list both.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import numpy as np
from PIL import Image

from kimicua.tasks.metrics.registry import metric


@metric
def check_image_size(src: Any, rule: dict[str, Any]) -> float:
    """1 when the image's width / height equal ``rule["width"]`` / ``rule["height"]`` (each
    checked only when given). The size is that of the non-transparent content when
    ``ignore_transparent`` is set and the image has alpha, or whenever it has a
    transparency key (OSWorld's operator precedence)."""
    if src is None:
        return 0.0
    img = Image.open(src)
    if (rule.get("ignore_transparent", False) and img.mode in ("RGBA", "LA")) or "transparency" in img.info:
        box = img.convert("RGBA").getchannel("A").getbbox()
        width, height = (box[2] - box[0], box[3] - box[1]) if box else (0, 0)
    else:
        width, height = img.size
    ok_h = rule.get("height") is None or height == rule["height"]
    ok_w = rule.get("width") is None or width == rule["width"]
    return float(ok_h and ok_w)


@metric
def check_image_file_size(src: Any, rule: dict[str, Any]) -> float:
    """1 when the file is smaller than ``rule["max_size"]`` bytes."""
    if src is None:
        return 0.0
    return float(os.path.getsize(src) < rule["max_size"])


@metric
def check_green_background(src: Any, tgt: Any) -> float:
    """1 when every pixel that is not black in the reference is green (G > R and G > B) in
    the agent's image. OSWorld indexes both pixel arrays as [x, y], which fails on any
    non-square reference; such a reference scores 0 here too."""
    if src is None or tgt is None:
        return 0.0
    pixels = np.asarray(Image.open(src))
    reference = np.asarray(Image.open(tgt))
    if reference.ndim != 3 or pixels.ndim != 3:
        raise ValueError("check_green_background needs colour images (RGB or RGBA)")
    height, width = reference.shape[:2]
    if height != width:
        raise ValueError(f"check_green_background: OSWorld's check fails on a non-square reference ({width}x{height})")
    if pixels.shape[0] < height or pixels.shape[1] < width:
        raise ValueError(f"check_green_background: image {pixels.shape[1]}x{pixels.shape[0]} is smaller than "
                         f"the reference {width}x{height}")
    background = np.any(reference[:, :, :3] != 0, axis=2)
    r, g, b = (pixels[:height, :width, i].astype(np.int16) for i in range(3))
    return float(bool(np.all(((g > r) & (g > b))[background])))


def _ocr_text(path: str) -> str:
    if shutil.which("tesseract") is None:
        raise RuntimeError("compare_image_text needs the tesseract binary (Debian package tesseract-ocr)")
    import pytesseract

    return " ".join(pytesseract.image_to_string(Image.open(path), lang="eng").split())


@metric
def compare_image_text(image: Any, rule: dict[str, Any]) -> float:
    """1 when ``rule["text"]`` occurs in the text read from the image (``type`` "text")."""
    if not image:
        return 0.0
    if rule.get("type") != "text":
        raise ValueError(f"compare_image_text: rule type must be 'text', got {rule.get('type')!r}")
    return float(rule["text"] in _ocr_text(image))
