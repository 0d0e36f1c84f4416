"""The screen as the person saw it: frames grabbed whenever something drew.

A thread waits on the display's damage and grabs the screen as soon as something
drew (at most one grab per MIN_GAP_S), so a still screen costs nothing and a frame
trails the screen's last change by a grab's time. Each frame keeps the monotonic
time its grab started; ``before(t)`` is the frame a person looked at when their
input reached the server at ``t``. The last few frames are kept (input arrives a
few ms after the server took it, so that is plenty).

Seen with a 30 ms poll instead: input scripted right after typing (xdotool's next
command) paired the Enter with a frame from before the last two characters showed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from kimicua.env.capture import ScreenCapture
from kimicua.env.core import EnvError
from kimicua.env.damage import DamageWatch
from kimicua.env.display import Display

MIN_GAP_S = 0.01  # between grabs: a screen that draws all the time costs at most 100 grabs/s
POLL_S = 0.05  # how often the grabbing thread looks whether it should stop
KEEP = 12  # frames kept for pairing: at least KEEP * MIN_GAP_S of history
QUIET_S = 0.3  # the final frame waits for the screen to be still this long...
QUIET_LIMIT_S = 3.0  # ...but no longer than this (a blinking caret never is)


@dataclass(frozen=True, eq=False)
class Shot:
    """One grabbed screen: RGB [H, W, 3] (physical px) and when its grab started."""

    rgb: np.ndarray
    t: float  # time.monotonic()


class FrameGrabber:
    """Grabs ``display`` in its own thread (mss and the damage connection live there)."""

    def __init__(self, display: Display):
        self.display = display
        self._frames: deque[Shot] = deque(maxlen=KEEP)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._final: Shot | None = None
        self.error: str | None = None
        self.grabs = 0
        self._thread = threading.Thread(target=self._run, name=f"grab{display.name}", daemon=True)

    def start(self) -> Shot:
        """Start grabbing; the first frame, once it is there."""
        self._thread.start()
        self._ready.wait(10.0)
        if self.error is not None:
            raise EnvError(self.error)
        return self.latest()

    def _run(self) -> None:
        capture = watch = None
        try:
            capture, watch = ScreenCapture(self.display), DamageWatch(self.display)
            watch.clear()
            last = self._keep(capture).t
            self._ready.set()
            while not self._stop.is_set():
                if watch.wait(POLL_S):
                    time.sleep(max(0.0, last + MIN_GAP_S - time.monotonic()))
                    watch.clear()  # what drew meanwhile is in this grab
                    last = self._keep(capture).t
            self._final = self._settled(capture, watch)
        except Exception as err:  # the display went away: said by start() or stop()
            self.error = f"screen recording on display {self.display.name} stopped: {err}"
        finally:
            self._ready.set()
            for part in (watch, capture):
                if part is not None:
                    part.close()

    def _keep(self, capture: ScreenCapture) -> Shot:
        t = time.monotonic()
        shot = Shot(capture.grab().rgb, t)
        with self._lock:
            self._frames.append(shot)
        self.grabs += 1
        return shot

    def _settled(self, capture: ScreenCapture, watch: DamageWatch) -> Shot:
        """The screen once it has been still for QUIET_S (or after QUIET_LIMIT_S)."""
        deadline = time.monotonic() + QUIET_LIMIT_S
        drew = watch.clear()
        while watch.wait(QUIET_S) and time.monotonic() < deadline:
            drew = True
        return self._keep(capture) if drew or not self._frames else self.latest()

    def latest(self) -> Shot:
        with self._lock:
            return self._frames[-1]

    def before(self, t: float) -> Shot:
        """The last frame whose grab started before ``t`` (the oldest kept, if none)."""
        with self._lock:
            for shot in reversed(self._frames):
                if shot.t <= t:
                    return shot
            return self._frames[0]

    def stop(self) -> Shot:
        """Stop; the screen as it stands once still (see QUIET_S)."""
        self._stop.set()
        self._thread.join(QUIET_LIMIT_S + 10.0)
        if self._final is None:
            raise EnvError(self.error or f"screen recording on display {self.display.name} did not stop")
        return self._final
