"""Waiting, after an action, until the screen shows its effects: no fixed sleep.

The X server reports every drawing (``damage.DamageWatch``), so a step waits only as
long as something draws:

1. the app's own round trip first, where it has one (a page's next animation frame:
   ``barrier``), so the frame with the action's effects is under way;
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
# input to the first drawing, 60 inputs each at load 2-4.5 on 2 CPUs: xterm typing
# median 0.25 ms, max 5; mousepad median 0.6, 90% within 2.6; a Chromium page after its
# frame round trip median 0.16, max 2.8. Of the few later than 4 ms, most came while a
# drawing thread was still running, which ``busy`` waits for; the rest (a GTK app
# waiting for its frame clock, 1 in 60) are the price of not waiting longer.
FIRST_S = 0.004
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


SETTLE_TIMES = SettleTimes()
# A page's frame round trip already waits for the frame with the action's effects, and
# all of a frame reaches X within a ms; later frames are animations, which a CDP
# screenshot did not wait for either.
PAGE_SETTLE_TIMES = SettleTimes(quiet_s=0.005)


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
    """A fixed pause (``seconds``), what the envs did before; 0 for no pause."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def arm(self) -> None:
        pass

    def wait(self) -> Settled:
        if self.seconds:
            time.sleep(self.seconds)
        return Settled(waited_s=self.seconds, changed=False)


class ScreenSettle:
    """Settles on ``watch``'s display (see the module docstring)."""

    def __init__(self, watch: DamageWatch, times: SettleTimes = SETTLE_TIMES, *,
                 barrier: Callable[[], None] | None = None, busy: Callable[[], bool] | None = None):
        self.watch, self.times = watch, times
        self.barrier, self.busy = barrier, busy

    def arm(self) -> None:
        self.watch.clear()

    def wait(self) -> Settled:
        start = time.monotonic()
        self._cap = start + self.times.cap_s
        self._busy = False
        if self.barrier is not None:
            self.barrier()
        changed = self._until_still(self.times.first_s)
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
