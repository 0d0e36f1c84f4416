"""Waiting, after an action, until the screen shows its effects: no fixed sleep.

The X server reports every drawing (``damage.DamageWatch``), so a step waits only as
long as something draws:

1. the app's own round trip first, where it has one (a page's next animation frame:
   ``barrier``), so the frame with the action's effects is under way; the barrier may
   also say how long to wait for the first drawing (FRAME_CLOCK_FIRST_S for an app that
   paints on a frame clock, see focus.py);
2. up to ``first_s`` for the first drawing. Nothing by then and no drawing thread of
   the env running (``busy``, see busy.py): the action changed nothing, and the step
   goes on at once. One still running (a slow app, or one waiting for a CPU): watch on;
3. once something drew: until nothing has drawn for ``quiet_s`` and nobody runs;
4. never past ``cap_s`` (an animation or a video never goes quiet).

benchmarks/step.py measures what the numbers are chosen from (--latency) and what the
steps cost against the fixed pause the desktop env slept before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from kimicua.env.damage import DamageWatch

# How long an action may show nothing before it counts as a no-op. From the end of an
# input to the first drawing (benchmarks/step.py --latency, load 1.3-4.5 on 2 CPUs):
# xterm typing median 0.25-0.3 ms, at most 5; a page after its frame round trip
# (page_frame.py) median 0.12, 90% within 0.16. The few later than 4 ms mostly came
# while a drawing thread still ran, which ``busy`` waits for.
FIRST_S = 0.004
# The same for an app that paints on a 60 Hz frame clock (GTK, Qt, Chromium): mousepad
# typing median 0.6-1.4 ms, but on a long line (each key scrolls it) 28 of 100 drew
# 16-17 ms late with nothing running: one frame interval, and jitter.
FRAME_CLOCK_FIRST_S = 0.020
# A redraw in several parts: toolkits that draw on a 60 Hz frame clock (GTK, Qt Quick,
# Chromium) put up to one frame interval (16.7 ms) between the parts, and jitter adds a
# few ms.
QUIET_S = 0.020
CAP_S = 1.0
BUSY_POLL_S = 0.002  # while a drawing thread runs but nothing draws: look again this often


@dataclass(frozen=True, slots=True)
class SettleTimes:
    first_s: float = FIRST_S
    quiet_s: float = QUIET_S
    cap_s: float = CAP_S


# The same times serve pages: a shorter quiet after their frame round trip was tried
# and dropped, as a scrolled page shows tiles not yet rastered as its background and
# the rastered ones a frame later (with a 5 ms quiet, 11-13 of 20 frames after a long
# scroll showed the background).
SETTLE_TIMES = SettleTimes()
# A page just brought to the front (a new window, another tab) always draws, and its
# window may take a few frames to show it: the first drawing is waited for this long.
SHOWN_FIRST_S = 0.2


@dataclass(frozen=True, slots=True)
class Settled:
    """How a step's settle went (the env's step info, under "settle")."""

    waited_s: float
    changed: bool  # something drew after the action
    busy: bool = False  # waited for a drawing thread that was still running
    capped: bool = False  # still drawing (or running) at the cap


class Settler(Protocol):
    def arm(self) -> None:
        """Called right before an action: what drew so far is not its effect."""

    def wait(self) -> Settled:
        """Called right after it: return once the screen shows its effects."""


class FixedSettle:
    """A fixed pause (``seconds``), what the envs did before; 0 for no pause. A
    ``barrier`` still runs first (the browser's screen brings the page to the front)."""

    def __init__(self, seconds: float, barrier: Callable[[], object] | None = None):
        self.seconds, self.barrier = seconds, barrier

    def arm(self) -> None:
        pass

    def wait(self) -> Settled:
        start = time.monotonic()
        if self.barrier is not None:
            self.barrier()
        if self.seconds:
            time.sleep(self.seconds)
        return Settled(waited_s=time.monotonic() - start, changed=False)


class ScreenSettle:
    """Settles on ``watch``'s display (see the module docstring)."""

    def __init__(self, watch: DamageWatch, times: SettleTimes = SETTLE_TIMES, *,
                 barrier: Callable[[], float | None] | None = None,
                 busy: Callable[[], bool] | None = None):
        self.watch, self.times = watch, times
        self.barrier, self.busy = barrier, busy

    def arm(self) -> None:
        self.watch.clear()

    def wait(self) -> Settled:
        start = time.monotonic()
        self._cap = start + self.times.cap_s
        self._busy = False
        first_s = self.barrier() if self.barrier is not None else None
        changed = self._until_still(self.times.first_s if first_s is None else first_s)
        while changed and time.monotonic() < self._cap:
            if not self._until_still(self.times.quiet_s):
                break
        now = time.monotonic()
        return Settled(now - start, changed=changed, busy=self._busy, capped=now >= self._cap)

    def _until_still(self, patience: float) -> bool:
        """Whether something draws before ``patience`` s pass with nothing drawn and no
        drawing thread running (or the cap)."""
        deadline = time.monotonic() + patience
        while True:
            if self.watch.wait(max(0.0, min(deadline, self._cap) - time.monotonic())):
                return True
            now = time.monotonic()
            if now >= self._cap:
                return False
            if now < deadline:
                continue  # woken early by another event
            if self.busy is None or not self.busy():
                # Nobody runs, so what they drew has reached the watch: one last look.
                return self.watch.wait(0.0)
            self._busy = True
            deadline = now + BUSY_POLL_S
