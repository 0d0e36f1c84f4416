"""Records what a person does on a display: their input as Actions, each with the
screen they saw just before it.

The input capture (``xrecord``) calls in from its thread with each raw event; the
event is stamped with the frame grabbed last before the server took it
(``screen.FrameGrabber.before``) and folded (``events.Folder``). Finished actions
wait in a list for ``take``, so whoever writes them holds only a few frames.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

from kimicua.env.display import Display
from kimicua.tools.record.events import Folder, RawEvent, Recorded
from kimicua.tools.record.screen import FrameGrabber, Shot
from kimicua.tools.record.xrecord import InputCapture


@dataclass(frozen=True)
class Step:
    """One recorded action, the screen before it, and when it began and ended
    (time.monotonic())."""

    recorded: Recorded
    before: Shot
    start: float
    end: float

    @property
    def action(self):
        return self.recorded.action


class Recorder:
    """Input and screen of ``display`` from ``start`` to ``stop``; coordinates in
    logical px (physical / ``scale``)."""

    def __init__(self, display: Display, scale: float = 1.0):
        self.display = display
        self.grabber = FrameGrabber(display)
        self.folder = Folder()
        self._lock = threading.Lock()
        self._done: list[Step] = []
        self._capture = InputCapture(display, self._on_event, scale)
        self.started: float | None = None
        self.last_input: float | None = None  # time.monotonic() of the last event
        self.first: Shot | None = None  # the screen when recording began

    def start(self) -> None:
        try:
            self.first = self.grabber.start()
            self._capture.start()
        except BaseException:
            self._capture.stop()
            if self.first is not None:
                self.grabber.stop()
            raise
        self.started = time.monotonic()

    def _on_event(self, raw: RawEvent) -> None:
        t = self._capture.clock.local(raw.time_ms)
        self.last_input = t
        raw = dataclasses.replace(raw, tag=self.grabber.before(t))  # the screen then (a reference)
        with self._lock:
            self._keep(self.folder.feed(raw))

    def _keep(self, recorded: list[Recorded], last: Shot | None = None) -> None:
        local = self._capture.clock.local
        for rec in recorded:
            before = rec.tag if rec.tag is not None else last
            self._done.append(Step(rec, before, local(rec.start_ms), local(rec.end_ms)))

    def idle_s(self) -> float:
        """Seconds since the last input (since the start, before any)."""
        return time.monotonic() - (self.last_input or self.started or time.monotonic())

    def take(self) -> list[Step]:
        """The actions finished since the last call, in order."""
        with self._lock:
            done, self._done = self._done, []
        return done

    def stop(self) -> tuple[list[Step], Shot]:
        """Stop; the actions not taken yet (what was still open closed) and the screen
        at the end, once still. An action closed here without an event of its own (a
        modifier let go) shows that last screen."""
        self._capture.stop()
        final = self.grabber.stop()
        with self._lock:
            self._keep(self.folder.finish(), final)
        return self.take(), final

    @property
    def error(self) -> str | None:
        """Why recording stopped on its own (the display went away), if it did."""
        return self._capture.error or self.grabber.error

    @property
    def ignored(self) -> int:
        """Input that made no action (keys without a name here, extra mouse buttons)."""
        return self.folder.ignored
