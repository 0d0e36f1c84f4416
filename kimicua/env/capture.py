"""Screen capture of an X display: one persistent mss instance, RGB numpy out, no PNG.

mss hands back BGRA bytes; the RGB array is filled one channel at a time from a view of
those bytes, in cache-sized bands of rows. That is ~4x faster than
``ascontiguousarray(bgra[..., 2::-1])`` (a negative inner stride defeats numpy's fast
copy loops) and faster than PIL's BGRX unpacker plus its array copy;
benchmarks/capture.py measures all three.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from kimicua.env.core import EnvError
from kimicua.env.display import Display
from kimicua.env.geometry import Size


BAND_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Screenshot:
    """One captured screen: RGB uint8 [H, W, 3] at native resolution."""

    rgb: np.ndarray
    size: Size
    timestamp: float


def bgra_to_rgb(raw: bytes | bytearray | memoryview, width: int, height: int) -> np.ndarray:
    """A contiguous RGB copy of BGRA pixels (the one copy on the capture path)."""
    bgra = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 4)
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    # Bands of rows small enough that the three channel passes hit the CPU cache
    # (1.5x faster at 3840x2160, where a frame is far larger than L2/L3).
    rows = max(1, BAND_BYTES // (width * 4))
    for top in range(0, height, rows):
        src, dst = bgra[top:top + rows], rgb[top:top + rows]
        dst[..., 0] = src[..., 2]
        dst[..., 1] = src[..., 1]
        dst[..., 2] = src[..., 0]
    return rgb


class ScreenCapture:
    """Grabs the whole screen of one display. Thread-safe; keep one per display."""

    def __init__(self, display: Display):
        import mss  # imported here so the package imports without an X library

        self.display = display.name
        self._lock = threading.Lock()
        try:
            with display.environ():  # xcb reads XAUTHORITY when it connects
                self._mss = mss.MSS(display=display.name)
                mon = self._mss.monitors[0]  # monitor 0 is the whole X screen
        except Exception as err:  # mss raises ScreenShotError or OSError-like errors
            raise EnvError(f"cannot capture display {display}: {err}") from None
        self._monitor = {"left": mon["left"], "top": mon["top"],
                         "width": mon["width"], "height": mon["height"]}
        self.size = Size(mon["width"], mon["height"])

    def grab(self) -> Screenshot:
        """The screen now, as RGB."""
        with self._lock:
            if self._mss is None:
                raise EnvError(f"capture of display {self.display} is closed")
            try:
                shot = self._mss.grab(self._monitor)
            except Exception as err:
                raise EnvError(f"screen capture failed on display {self.display}: {err}") from None
            ts = time.time()
        rgb = bgra_to_rgb(shot.raw, shot.width, shot.height)
        return Screenshot(rgb=rgb, size=Size(shot.width, shot.height), timestamp=ts)

    def close(self) -> None:
        with self._lock:
            if self._mss is not None:
                try:
                    self._mss.close()
                except Exception:
                    pass  # the X server may already be gone; nothing left to release
                self._mss = None
