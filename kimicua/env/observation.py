"""What the agent sees after each step, and what a controller reports for an action."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kimicua.env.actions import Action
from kimicua.env.geometry import Frame, Size


@dataclass(frozen=True, slots=True)
class Observation:
    """A screenshot at native resolution and the facts needed to act on it.

    ``screenshot`` is RGB uint8 [H, W, 3] in physical pixels; ``screen`` the logical
    screen size actions are expressed in; ``timestamp`` seconds since the epoch at
    capture; ``url`` the page's URL for a browser, else None.
    """

    screenshot: np.ndarray
    screen: Size
    scale: float
    timestamp: float
    url: str | None = None

    @property
    def frame(self) -> Frame:
        h, w = self.screenshot.shape[:2]
        return Frame(screen=self.screen, physical=Size(w, h))


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The outcome of executing one action: errors are values, never exceptions."""

    action: Action
    ok: bool
    error: str | None = None
    duration_s: float = 0.0
    output: dict = field(default_factory=dict)
