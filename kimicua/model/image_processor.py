"""Kimi-VL image processor: token-limit resize, pad (or crop), normalise, patchify.

The rule is docs/kimi-vl.md section 6, with every number read from `preprocessor_config.json`.
Legend: H, W image pixels; P patch size (14); gh, gw = H/P, W/P patches; N = gh*gw.
"""

from __future__ import annotations

import functools
import json
import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from kimicua.model.files import CheckpointError, one_line, read_json, take

CONFIG_FILE = "preprocessor_config.json"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # the processor code's defaults
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
MAX_PATCHES_PER_SIDE = 512  # the official processor rejects a side of 512 patches or more
_PARALLEL_MIN_PIXELS = 500_000  # below this, threads cost more than they save


@dataclass(frozen=True)
class ImageProcessorConfig:
    """The fields of preprocessor_config.json that the rule uses (defaults = processor code)."""

    in_token_limit: int = 4096  # patches, before merging
    patch_size: int = 14
    merge_kernel_size: tuple[int, int] = (2, 2)  # (rows, cols)
    pad_input: bool = False
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD

    @classmethod
    def from_dict(cls, d: dict) -> ImageProcessorConfig:
        """The fields present in d, each checked (ValueError naming the field); defaults for the rest."""
        shapes = {"in_token_limit": (int, 1, None), "patch_size": (int, 1, None),
                  "merge_kernel_size": (int, 1, 2), "pad_input": (bool, None, None),
                  "image_mean": (float, None, 3), "image_std": (float, 1e-6, 3)}
        known = {key: take(d, key, kind, minimum=low, length=n) for key, (kind, low, n) in shapes.items() if key in d}
        return cls(**known)


@dataclass(frozen=True)
class ImageGeometry:
    """Sizes, as (w, h), that map the model's view of an image back to the screenshot.

    original: the input; resized: after the token-limit downscale; padded: what the model sees
    (right/bottom padding, or a centre crop at crop_offset when pad_input is false).
    Relative 0..1 coordinates of the resized unpadded image equal those of the original.
    """

    original: tuple[int, int]
    resized: tuple[int, int]
    padded: tuple[int, int]
    crop_offset: tuple[int, int]
    grid_hw: tuple[int, int]
    n_tokens: int

    def to_original(self, x: float, y: float) -> tuple[float, float]:
        """A pixel position in the model's input image -> pixels of the original image."""
        sx = self.original[0] / self.resized[0]
        sy = self.original[1] / self.resized[1]
        return (x + self.crop_offset[0]) * sx, (y + self.crop_offset[1]) * sy


@dataclass(frozen=True)
class ProcessedImage:
    pixel_values: torch.Tensor  # [N, 3, P, P] float32
    geometry: ImageGeometry

    @property
    def grid_hw(self) -> tuple[int, int]:
        return self.geometry.grid_hw


class KimiImageProcessor:
    """Turns RGB screenshots (uint8 HxWx3 arrays or PIL images) into MoonViT patches."""

    def __init__(self, config: ImageProcessorConfig = ImageProcessorConfig(), *, resize: str = "pil"):
        """``resize``: "pil" (default) is exactly the official processor's PIL BICUBIC;
        "torch" is torch's antialiased bicubic on uint8, the same algorithm in SIMD code:
        several times faster, off PIL by a uint8 level or two (rounding) on a few values in a thousand."""
        if resize not in _RESIZERS:
            raise ValueError(f"unknown resize {resize!r}; expected one of {', '.join(_RESIZERS)}")
        self.config = config
        self._resize = _RESIZERS[resize]
        std = np.asarray(config.image_std, np.float32)
        mean = np.asarray(config.image_mean, np.float32)
        # (x/255 - mean)/std == x*scale + shift, per channel; [3, 1, 1] to broadcast over patches
        self._scale = (1.0 / (255.0 * std)).reshape(3, 1, 1)
        self._shift = (-mean / std).reshape(3, 1, 1)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> KimiImageProcessor:
        """Read `preprocessor_config.json` from a checkpoint dir (or the file itself)."""
        path = Path(path)
        file = path if path.is_file() else path / CONFIG_FILE
        data = read_json(file)
        try:
            return cls(ImageProcessorConfig.from_dict(data))
        except ValueError as e:
            raise CheckpointError(f"{file}: not a usable image processor config: {e}") from None

    def plan(self, width: int, height: int) -> ImageGeometry:
        """The geometry the rule gives an image of this size; ValueError if it cannot be used."""
        c = self.config
        p, (mh, mw) = c.patch_size, c.merge_kernel_size
        patches = (width // p) * (height // p)
        rw, rh = width, height
        if patches > c.in_token_limit:
            scale = math.sqrt(c.in_token_limit / patches)
            rw, rh = int(width * scale), int(height * scale)
        if rw < 1 or rh < 1:
            raise ValueError(f"image {width}x{height} is too thin: it resizes to {rw}x{rh}")
        if c.pad_input:
            fw, fh = -(-rw // (mw * p)) * mw * p, -(-rh // (mh * p)) * mh * p
            offset = (0, 0)
        else:
            fw, fh = rw - rw % p, rh - rh % p
            if fw == 0 or fh == 0:
                raise ValueError(f"image {width}x{height} is smaller than one {p}x{p} patch")
            # torchvision's center_crop offsets: int(round(d / 2)), round half to even
            offset = (int(round((rw - fw) / 2.0)), int(round((rh - fh) / 2.0)))
        gh, gw = fh // p, fw // p
        if gh >= MAX_PATCHES_PER_SIDE or gw >= MAX_PATCHES_PER_SIDE:
            raise ValueError(
                f"image {width}x{height} becomes {fw}x{fh} = {gw}x{gh} patches; "
                f"a side of {MAX_PATCHES_PER_SIDE} patches or more is not supported"
            )
        return ImageGeometry((width, height), (rw, rh), (fw, fh), offset, (gh, gw), gh * gw // (mh * mw))

    def __call__(self, image: np.ndarray | Image.Image) -> ProcessedImage:
        """Process one image."""
        pixels = _as_rgb_array(image)
        h, w = pixels.shape[:2]
        geo = self.plan(w, h)
        (rw, rh), (fw, fh), (ox, oy) = geo.resized, geo.padded, geo.crop_offset
        if self.config.pad_input:
            # black (0) padding right/bottom before normalising, as the official processor does
            view = np.zeros((fh, fw, 3), np.uint8)
            target = view[:rh, :rw]
        else:
            target = pixels if (rw, rh) == (w, h) else np.empty((rh, rw, 3), np.uint8)
            view = target[oy : oy + fh, ox : ox + fw]
        if target is not pixels:
            if (rw, rh) == (w, h):
                target[...] = pixels
            else:
                self._resize(pixels, target)
        return ProcessedImage(self._patchify(view), geo)

    def preprocess(self, images) -> tuple[torch.Tensor, torch.Tensor, list[ImageGeometry]]:
        """Many images -> (pixel_values [sum N, 3, P, P], grid_hws [n, 2] long, geometries)."""
        done = [self(im) for im in images]
        if not done:
            raise ValueError("preprocess needs at least one image")
        pixel_values = torch.cat([d.pixel_values for d in done]) if len(done) > 1 else done[0].pixel_values
        grid_hws = torch.tensor([d.grid_hw for d in done], dtype=torch.long)
        return pixel_values, grid_hws, [d.geometry for d in done]

    def _patchify(self, view: np.ndarray) -> torch.Tensor:
        """uint8 [H, W, 3] (any strides) -> normalised float32 [gh*gw, 3, P, P], row-major."""
        p = self.config.patch_size
        h, w = view.shape[:2]
        gh, gw = h // p, w // p
        src = view.reshape(gh, p, gw, p, 3).transpose(0, 2, 4, 1, 3)  # gh gw 3 P P, a view
        out = np.empty((gh, gw, 3, p, p), dtype=np.float32)
        n = n_threads() if h * w >= _PARALLEL_MIN_PIXELS else 1

        def run(i: int) -> None:  # bands of patch rows; numpy drops the GIL in these loops
            a, b = gh * i // n, gh * (i + 1) // n
            np.multiply(np.ascontiguousarray(src[a:b]), self._scale, out=out[a:b])  # uint8 gather first
            out[a:b] += self._shift

        _parallel(run, n)
        return torch.from_numpy(out.reshape(gh * gw, 3, p, p))


def load_image(path: str | Path) -> Image.Image:
    """An image file as RGB; ValueError (one line, naming the file) when it is missing, not an
    image, truncated, or so large that Pillow flags it as a decompression bomb."""
    from PIL import UnidentifiedImageError

    path = Path(path)
    try:
        with warnings.catch_warnings():
            # past MAX_IMAGE_PIXELS Pillow only warns (an error past twice that): refuse both
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return im.convert("RGB")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such image file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ValueError(f"{path}: image too large to decode ({e})") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read") from None
    except OSError as e:  # a truncated file, a directory, no permission
        raise ValueError(f"{path}: cannot read the image ({e.strerror or one_line(e)})") from None


def _as_rgb_array(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 array of shape (H, W, 3), got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr)


# ---------------------------------------------------------------- exact, parallel PIL resize

def _pool() -> ThreadPoolExecutor:
    return _pool_for(os.getpid())


@functools.cache
def _pool_for(pid: int) -> ThreadPoolExecutor:
    # one pool per process: a forked child inherits the pool object but not its threads
    return ThreadPoolExecutor(max_workers=n_threads(), thread_name_prefix="kimicua-resize")


def n_threads() -> int:
    """Threads the resize and patchify use for large images (up to 4, at most the CPU count)."""
    return max(1, min(4, os.cpu_count() or 1))


@functools.cache
def _pillow_vertical_first_rule() -> bool:
    """Whether this Pillow picks the vertical pass first when height shrinks much more.

    Recent Pillow (13 does) runs the vertical pass first when the height shrinks by more than twice
    as many pixels as the width; older ones always start horizontally. Probed once, so that the banded
    resize below matches the installed Pillow exactly.
    """
    rng = np.random.default_rng(0)
    probe = Image.fromarray(rng.integers(0, 256, (96, 20, 3), dtype=np.uint8))
    ref = np.asarray(probe.resize((19, 31), Image.BICUBIC))
    vertical_first = np.asarray(probe.resize((20, 31), Image.BICUBIC).resize((19, 31), Image.BICUBIC))
    return bool(np.array_equal(ref, vertical_first))


def resize_bicubic(src: np.ndarray, dst: np.ndarray) -> None:
    """PIL BICUBIC resize of uint8 [H, W, 3] src into dst [h, w, 3] (a view may be given).

    Equal to `Image.fromarray(src).resize((w, h), BICUBIC)`: PIL resamples in two separable
    passes, each independent across rows (horizontal) or columns (vertical), so each pass is
    split into bands run on threads (PIL releases the GIL), in the order PIL itself uses.
    """
    (H, W), (h, w) = src.shape[:2], dst.shape[:2]
    n = n_threads() if H * W >= _PARALLEL_MIN_PIXELS else 1
    if n == 1:
        dst[...] = np.asarray(Image.fromarray(src).resize((w, h), Image.BICUBIC))
        return
    vertical_first = (H - h) > 0 and (H - h) > 2 * (W - w) and _pillow_vertical_first_rule()
    if vertical_first:
        tmp = np.empty((h, W, 3), np.uint8)
        _banded(src, tmp, n, horizontal=False)
        _banded(tmp, dst, n, horizontal=True)
    else:
        tmp = np.empty((H, w, 3), np.uint8)
        _banded(src, tmp, n, horizontal=True)
        _banded(tmp, dst, n, horizontal=False)


def resize_bicubic_torch(src: np.ndarray, dst: np.ndarray) -> None:
    """torch's antialiased bicubic resize of uint8 [H, W, 3] src into dst [h, w, 3]."""
    x = torch.from_numpy(np.ascontiguousarray(src)).permute(2, 0, 1).unsqueeze(0)  # 1 3 H W
    y = torch.nn.functional.interpolate(x, size=dst.shape[:2], mode="bicubic", antialias=True,
                                        align_corners=False)
    dst[...] = y[0].permute(1, 2, 0).numpy()


def _banded(src: np.ndarray, dst: np.ndarray, n: int, horizontal: bool) -> None:
    """One resampling pass: horizontal (row bands) or vertical (column bands)."""
    (H, W), (h, w) = src.shape[:2], dst.shape[:2]

    def run(i: int) -> None:
        size = H if horizontal else W
        a, b = size * i // n, size * (i + 1) // n
        if a == b:  # fewer rows/columns than threads
            return
        if horizontal:  # rows are untouched: band i of rows keeps its height
            band = Image.fromarray(src[a:b]).resize((w, b - a), Image.BICUBIC)
            dst[a:b] = np.asarray(band)
        else:  # columns are untouched: band i of columns keeps its width
            band = Image.fromarray(np.ascontiguousarray(src[:, a:b])).resize((b - a, h), Image.BICUBIC)
            dst[:, a:b] = np.asarray(band)

    _parallel(run, n)


def _parallel(fn, n: int) -> None:
    """fn(0) .. fn(n - 1): fn(0) in this thread, the rest on the pool; re-raises the first error."""
    futures = [_pool().submit(fn, i) for i in range(1, n)]
    try:
        fn(0)  # no hand-off for the caller's share: it starts at once even when cores are busy
    finally:
        for future in futures:
            future.result()


_RESIZERS = {"pil": resize_bicubic, "torch": resize_bicubic_torch}


def write_preprocessor_config(
    out_dir: str | Path,
    in_token_limit: int = 4096,
    patch_size: int = 14,
    merge_kernel_size: tuple[int, int] = (2, 2),
    pad_input: bool = True,
    image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
    image_std: tuple[float, float, float] = (0.5, 0.5, 0.5),
) -> Path:
    """Write preprocessor_config.json with the published Kimi-VL-A3B-Instruct keys.

    The defaults are the published values. `auto_map` is left out: it names remote code
    files that a kimicua checkpoint does not ship.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "image_mean": list(image_mean),
        "image_processor_type": "KimiVLImageProcessor",
        "image_std": list(image_std),
        "in_token_limit": in_token_limit,
        "merge_kernel_size": list(merge_kernel_size),
        "num_pooled_tokens": 1024,
        "pad_input": pad_input,
        "patch_size": patch_size,
        "processor_class": "KimiVLProcessor",
    }
    (out / CONFIG_FILE).write_text(json.dumps(data, indent=2) + "\n")
    return out / CONFIG_FILE
