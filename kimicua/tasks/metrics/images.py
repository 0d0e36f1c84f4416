"""Image metrics (OSWorld's gimp.py and vlc.py's compare_images): structure by SSIM or
MSE, plus the edit each task asks for (darker, more contrast, more saturated, mirrored,
palette-based). ``src`` is the agent's file, ``tgt`` the reference, as in OSWorld.

Thresholds are OSWorld's: SSIM >= 0.9 for "same structure" (0.65 after a contrast
change, 0.99 for a mirror), MSE < 0.03 after brightness normalisation.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageStat

from kimicua.tasks.metrics.registry import metric

_SSIM_WINDOW = 7


def _ssim(a: np.ndarray, b: np.ndarray, **kwargs: Any) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, **kwargs))


def _same_structure(img1: Image.Image, img2: Image.Image, threshold: float = 0.9) -> bool:
    """OSWorld's structure_check_by_ssim: both at least 7x7 and the same size, SSIM of
    the RGB pixels (7x7 window) at least ``threshold``."""
    if min(img1.size + img2.size) < _SSIM_WINDOW or img1.size != img2.size:
        return False
    a, b = np.asarray(img1.convert("RGB")), np.asarray(img2.convert("RGB"))
    return _ssim(a, b, win_size=_SSIM_WINDOW, channel_axis=2) >= threshold


def _similar_by_mse(img1: Image.Image, img2: Image.Image, threshold: float) -> bool:
    """Mean squared error of the RGB pixels in 0..1 below ``threshold`` (the first image
    resized to the second's size first)."""
    if img1.size != img2.size:
        img1 = img1.resize(img2.size, Image.Resampling.LANCZOS)
    a = np.asarray(img1.convert("RGB"), dtype=np.float32) / 255
    b = np.asarray(img2.convert("RGB"), dtype=np.float32) / 255
    return float(np.mean((a - b) ** 2)) < threshold


def _brightness(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).mean[0])


def _normalise_brightness(image: Image.Image, target: float = 128) -> Image.Image:
    """Scale every band (alpha too, as OSWorld's point() does) so the grey mean is ``target``."""
    factor = target / _brightness(image)
    return image.point(lambda x: min(255, max(0, int(x * factor))))


def _open_pair(src: Any, tgt: Any) -> tuple[Image.Image, Image.Image] | None:
    if src is None or tgt is None:
        return None
    return Image.open(src), Image.open(tgt)


@metric
def check_structure_sim(src: Any, tgt: Any) -> float:
    """1 when both images have the same size and SSIM >= 0.9; any read error scores 0."""
    try:
        pair = _open_pair(src, tgt)
        return float(pair is not None and pair[0].size == pair[1].size and _same_structure(*pair))
    except Exception:  # noqa: BLE001 - OSWorld scores an unreadable image 0 here
        return 0.0


@metric
def check_structure_sim_resized(src: Any, tgt: Any) -> float:
    """SSIM >= 0.9 after resizing the agent's image to the reference size; a transparent
    image is first cropped to its opaque content."""
    pair = _open_pair(src, tgt)
    if pair is None:
        return 0.0
    img, ref = pair
    if img.mode in ("RGBA", "LA") or "transparency" in img.info:
        img = img.convert("RGBA")
        box = img.getchannel("A").getbbox()
        if box is None:
            return 0.0
        img = img.crop(box).convert("RGB")
    return float(_same_structure(img.resize(ref.size), ref.convert("RGB")))


@metric
def check_structure_sim_with_threshold(src: Any, tgt: Any, **options: Any) -> float:
    """SSIM of the RGB pixels >= ``ssim_threshold`` (default 0.85), the agent's image resized
    (Lanczos) to the reference size first; a window smaller than 7 for tiny images."""
    threshold = float(options.get("ssim_threshold", 0.85))
    try:
        pair = _open_pair(src, tgt)
        if pair is None:
            return 0.0
        img, ref = pair
        if img.size != ref.size:
            img = img.resize(ref.size, Image.Resampling.LANCZOS)
        a, b = np.asarray(img.convert("RGB")), np.asarray(ref.convert("RGB"))
        side = min(a.shape[:2])
        window = _SSIM_WINDOW if side >= _SSIM_WINDOW else side - (1 - side % 2)
        if window < 1:
            return 0.0
        return float(_ssim(a, b, win_size=window, channel_axis=2) >= threshold)
    except Exception:  # noqa: BLE001 - OSWorld scores any failure here 0
        return 0.0


@metric
def check_file_exists_and_structure_sim(src: Any, tgt: Any) -> float:
    """The exported file exists and has the reference's structure (SSIM >= 0.9)."""
    if src is None or tgt is None or not os.path.isfile(src):
        return 0.0
    return float(_same_structure(Image.open(src), Image.open(tgt)))


@metric
def check_brightness_decrease_and_structure_sim(src: Any, tgt: Any, threshold: float = 0.03) -> float:
    """The agent's image is darker than the reference, and after normalising both to a
    grey mean of 128 their MSE is below ``threshold``."""
    pair = _open_pair(src, tgt)
    if pair is None:
        return 0.0
    img, ref = pair
    darker = _brightness(ref) > _brightness(img)
    return float(darker and _similar_by_mse(_normalise_brightness(img), _normalise_brightness(ref), threshold))


@metric
def check_contrast_increase_and_structure_sim(src: Any, tgt: Any) -> float:
    """Higher pixel standard deviation than the reference, and SSIM >= 0.65."""
    pair = _open_pair(src, tgt)
    if pair is None:
        return 0.0
    img, ref = pair
    higher = float(np.std(np.asarray(ref, dtype=np.float32))) < float(np.std(np.asarray(img, dtype=np.float32)))
    return float(higher and _same_structure(img, ref, threshold=0.65))


@metric
def check_saturation_increase_and_structure_sim(src: Any, tgt: Any) -> float:
    """Higher mean HSV saturation than the reference, with hue and value channels each
    structurally the same (SSIM >= 0.9)."""
    pair = _open_pair(src, tgt)
    if pair is None:
        return 0.0
    h1, s1, v1 = pair[0].convert("HSV").split()
    h2, s2, v2 = pair[1].convert("HSV").split()
    more = float(np.mean(np.asarray(s2))) < float(np.mean(np.asarray(s1)))
    return float(more and _same_structure(h1, h2) and _same_structure(v1, v2))


@metric
def check_palette_and_structure_sim(src: Any, tgt: Any) -> float:
    """The agent's image is palette-based (mode P) and keeps the reference's structure."""
    pair = _open_pair(src, tgt)
    if pair is None:
        return 0.0
    img, ref = pair
    return float(img.mode == "P" and _same_structure(img.convert("RGB"), ref))


@metric
def check_image_mirror(src: Any, tgt: Any) -> float:
    """The reference flipped left-right matches the agent's image (SSIM >= 0.99)."""
    pair = _open_pair(src, tgt)
    if pair is None:
        return 0.0
    return float(_same_structure(pair[0].transpose(Image.Transpose.FLIP_LEFT_RIGHT), pair[1], 0.99))


@metric
def compare_images(image1: Any, image2: Any, **options: Any) -> float:
    """Grey-level SSIM of two images, both resized (Lanczos) to the smaller size (compared
    as (width, height) tuples, as OSWorld does). With ``reference_base_result`` b the score
    is (ssim - b) / (1 - b) when ssim >= b + 0.01, else 0."""
    if not image1 or not image2:
        return 0.0
    if not all(os.path.exists(p) and os.path.getsize(p) > 0 for p in (image1, image2)):
        return 0.0
    try:
        a, b = Image.open(image1).convert("L"), Image.open(image2).convert("L")
    except OSError:
        return 0.0
    size = min(a.size, b.size)
    a, b = a.resize(size, Image.Resampling.LANCZOS), b.resize(size, Image.Resampling.LANCZOS)
    similarity = _ssim(np.asarray(a), np.asarray(b))
    base = options.get("reference_base_result")
    if base is None:
        return similarity
    return (similarity - base) / (1 - base) if similarity >= base + 0.01 else 0.0


@metric
def compare_image_list(pred: Any, gold: Any) -> float:
    """1 when every image equals its reference pixel for pixel."""
    preds, golds = (pred, gold) if isinstance(pred, list) else ([pred], [gold])
    for p, g in zip(preds, golds):
        if not p or not g:
            return 0.0
        if ImageChops.difference(Image.open(p), Image.open(g)).getbbox():
            return 0.0
    return 1.0
