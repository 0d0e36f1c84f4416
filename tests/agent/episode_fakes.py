"""A small fake world and task for the episode tests: each action paints the screen with its
step number (pixel [0, 0, 0]), so a frame file tells which screen it holds; the task asks for
two clicks."""

from __future__ import annotations

import numpy as np

from kimicua.env.geometry import Size
from kimicua.env.observation import ActionResult, Observation


class Screens:
    """A 96x64 fake desktop whose pixel [0, 0, 0] counts the actions taken."""

    kind, screen, scale = "desktop", Size(96, 64), 1.0

    def __init__(self):
        self.n = 0

    def observe(self):
        img = np.zeros((64, 96, 3), np.uint8)
        img[0, 0, 0] = self.n
        return Observation(screenshot=img, screen=self.screen, scale=self.scale, timestamp=0.0)

    def reset(self, *, seed=None, options=None):
        self.n = 0
        return self.observe(), {}

    def step(self, action):
        self.n += 1
        info = {"result": ActionResult(action, ok=True), "execute_s": 0.0, "capture_s": 0.0}
        return self.observe(), 0.0, action.type in ("done", "fail"), False, info


class ClickTask:
    """Solved (score 1.0) once the episode took at least two actions."""

    id, instruction = "click-task", "Click twice, then finish."

    def setup(self, env):
        pass

    def evaluate(self, env, actions):
        return float(len(actions) >= 2)
