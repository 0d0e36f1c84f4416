"""An episode as moving pictures: an MP4 (OpenCV, mp4v) and a light GIF (Pillow).

Both take pictures one at a time, so a long episode never holds its full-size
frames in memory (the GIF keeps only its scaled-down copies). Each picture is one
video frame shown for ``hold_s`` seconds (the video's rate is 1 / hold_s).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


class VideoError(RuntimeError):
    """A video that could not be written, with the file it was for."""


def mp4_available() -> bool:
    """Whether OpenCV is installed (the ``data`` extra)."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


class Mp4Writer:
    """Pictures -> an MP4 with the mp4v codec (the one the headless OpenCV wheel has).

    The size is the first picture's (rounded down to even, which the codec needs);
    a later picture of another size is scaled to it. The file appears whole (written
    under a temporary name, then renamed) when ``close`` returns."""

    def __init__(self, path: str | Path, hold_s: float = 1.0):
        if not hold_s > 0:
            raise ValueError(f"hold must be positive, got {hold_s} s")
        self.path, self.fps = Path(path), 1.0 / hold_s
        self._tmp = self.path.with_name(self.path.stem + ".tmp" + self.path.suffix)
        self._writer = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def add(self, picture: Image.Image) -> None:
        import cv2

        if self._writer is None:
            w, h = picture.size
            self._size = (max(2, w - w % 2), max(2, h - h % 2))
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._size)
            if not self._writer.isOpened():
                self._writer = None
                raise VideoError(f"{self.path}: OpenCV cannot write an mp4v video here")
        if picture.size != self._size:
            picture = picture.resize(self._size, Image.Resampling.BILINEAR)
        self._writer.write(cv2.cvtColor(np.asarray(picture.convert("RGB")), cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> Path | None:
        """Finish the file; None when no picture was added (no file then)."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        os.replace(self._tmp, self.path)
        return self.path


class GifWriter:
    """Pictures -> an animated GIF scaled down to at most ``max_width`` pixels wide."""

    def __init__(self, path: str | Path, hold_s: float = 1.0, max_width: int = 640):
        if not hold_s > 0 or max_width < 16:
            raise ValueError(f"hold must be positive and the GIF at least 16 px wide, got {hold_s} s, {max_width} px")
        self.path, self.duration_ms, self.max_width = Path(path), round(hold_s * 1000), max_width
        self._frames: list[Image.Image] = []

    def add(self, picture: Image.Image) -> None:
        w, h = picture.size
        size = self._frames[0].size if self._frames else (min(w, self.max_width), max(1, round(h * min(w, self.max_width) / w)))
        small = picture.convert("RGB")
        if small.size != size:  # a box reduction first, then bilinear: a third of LANCZOS's time
            small = small.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        # A palette per frame (screenshots change a lot between steps); octree is ten
        # times faster than median cut and looks the same on flat GUI colours.
        self._frames.append(small.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE))

    @property
    def frames(self) -> int:
        return len(self._frames)

    def close(self) -> Path | None:
        """Write the file; None when no picture was added (no file then)."""
        if not self._frames:
            return None
        tmp = self.path.with_name(self.path.name + ".tmp")
        first, *rest = self._frames
        first.save(tmp, format="GIF", save_all=True, append_images=rest, duration=self.duration_ms, loop=0)
        os.replace(tmp, self.path)
        self._frames = []
        return self.path
