"""Waiting, after an action, until the screen shows its effects: no fixed sleep.

The X server reports every drawing (``damage.DamageWatch``), so a step waits only as
long as something draws:

1. the app's own round trip first, where it has one (a page's next animation frame:
   ``barrier``), so the frame with the action's effects is under way;
2. up to ``first_s`` for the first drawing. Nothing by then and no process of the env
   running (``busy``): the action changed nothing, and the step goes on at once. A
   process still running (a slow app, or one waiting for a CPU): keep watching;
3. once something drew: until nothing has drawn for ``quiet_s``;
4. never past ``cap_s`` (an animation or a video never goes quiet).

SETTLE_TIMES holds the measured defaults; benchmarks/step.py prints what they cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from kimicua.env.damage import DamageWatch

# How long an action may show nothing before it counts as a no-op. Measured (load 1-2.5
# on 2 cores) from the end of the input to the first damage: xterm and mousepad typing
# median 0.3 ms, 90% within 3 ms; Chromium after its frame round trip median 0.2 ms.
# The rare later ones (up to 12 ms) came while the app was still running: ``busy``
# waits for those.
FIRST_S = 0.004
# A redraw in several parts (a GTK or Chromium frame, then the next one): 60 Hz apps
# draw at most one frame interval (16.7 ms) apart, and jitter adds a few ms.
QUIET_S = 0.020
CAP_S = 1.0
BUSY_POLL_S = 0.002  # while an app runs but has not drawn: look again this often


@dataclass(frozen=True, slots=True)
class SettleTimes:
    first_s: float = FIRST_S
    quiet_s: float = QUIET_S
    cap_s: float = CAP_S


SETTLE_TIMES = SettleTimes()


@dataclass(frozen=True, slots=True)
class Settled:
    """How a step's settle went (the env's step info, under "settle")."""

    waited_s: float
    changed: bool  # something drew after the action
    busy: bool = False  # nothing had drawn yet while the env's processes were running
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
        cap = start + self.times.cap_s
        if self.barrier is not None:
            self.barrier()
        first = time.monotonic() + self.times.first_s
        busy = False
        while not self.watch.wait(max(0.0, min(first, cap) - time.monotonic())):
            now = time.monotonic()
            if now >= cap:
                return Settled(now - start, changed=False, busy=busy, capped=busy)
            if now < first:
                continue  # woken early without damage (another event): keep waiting
            if self.busy is None or not self.busy():
                # Nobody runs, so what they drew has reached the watch: one last look.
                if self.watch.wait(0.0):
                    break
                return Settled(time.monotonic() - start, changed=False, busy=busy)
            busy = True
            first = now + BUSY_POLL_S
        while self.watch.wait(max(0.0, min(self.times.quiet_s, cap - time.monotonic()))):
            if time.monotonic() >= cap:
                return Settled(time.monotonic() - start, changed=True, busy=busy, capped=True)
        now = time.monotonic()
        return Settled(now - start, changed=True, busy=busy, capped=now >= cap)
