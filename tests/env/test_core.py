"""Env contract pieces that need no display: TimeLimit's Gymnasium semantics, make_env."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kimicua.env import ActionResult, Env, Observation, Size, TimeLimit, make_env
from kimicua.env.actions import Done, Wait
from kimicua.env.core import CommandResult, Window


class CountingEnv(Env):
    """The smallest real Env: counts calls, terminates on Done like the real envs."""

    screen, scale, kind = Size(4, 3), 1.0, "desktop"

    def __init__(self):
        self.steps = self.resets = self.closes = 0

    def _obs(self):
        return Observation(np.zeros((3, 4, 3), np.uint8), self.screen, 1.0, 0.0)

    def reset(self, *, seed=None, options=None):
        self.resets += 1
        return self._obs(), {"seed": seed}

    def step(self, action):
        self.steps += 1
        info = {"result": ActionResult(action, ok=True), "execute_s": 0.0, "capture_s": 0.0}
        return self._obs(), 0.0, isinstance(action, Done), False, info

    def observe(self):
        return self._obs()

    def close(self):
        self.closes += 1

    def run(self, command, *, shell=False, timeout=30.0):
        return CommandResult(0, f"ran {command}", "")

    def launch(self, command, *, shell=False):
        return 42

    def windows(self):
        return [Window(1, "w", "c.C", 0, 0, 4, 3)]

    def active_window(self):
        return self.windows()[0]

    def activate_window(self, name, *, strict=False, by_class=False):
        return (name, strict, by_class) == ("w", True, False)

    def wait_for_window(self, name, timeout=10.0):
        return self.windows()[0]

    def open_tabs(self, urls):
        self.tabs = urls

    def page_url(self):
        return "about:blank"

    def evaluate(self, expression):
        return len(expression)

    def element_box(self, selector):
        return (1.0, 2.0, 3.0, 4.0)

    home = "/home/user"

    def host_path(self, path, *, write=False):
        return Path("/host") / str(path).lstrip("/")

    def expose_port(self, port):
        self.exposed = port

    def get_file(self, path, dest):
        return False

    def put_file(self, source, path):
        self.put = (source, path)

    def list_dir(self, path):
        return ["a"]

    def enable_network(self):
        self.network = True


def test_time_limit_truncates_after_max_steps_and_resets_the_count():
    env = TimeLimit(CountingEnv(), max_steps=3)
    assert env.reset(seed=7)[1] == {"seed": 7}
    flags = [env.step(Wait(seconds=0))[2:4] for _ in range(4)]
    assert flags == [(False, False), (False, False), (False, True), (False, True)]
    env.reset()
    assert env.step(Wait(seconds=0))[3] is False
    assert env.step(Done())[2:4] == (True, False)  # terminated is the env's own


def test_time_limit_delegates_the_world_api():
    inner = CountingEnv()
    with TimeLimit(inner, max_steps=1) as env:
        assert (env.screen, env.scale, env.kind) == (Size(4, 3), 1.0, "desktop")
        assert env.run(["x"]).stdout == "ran ['x']" and env.launch("x") == 42
        assert env.activate_window("w", strict=True) and env.active_window().name == "w"
        assert env.wait_for_window("w").id == 1 and env.windows()[0].wm_class == "c.C"
        env.open_tabs(["about:blank"])
        assert inner.tabs == ["about:blank"] and env.page_url() == "about:blank"
        assert env.evaluate("1+1") == 3 and env.element_box("#a") == (1.0, 2.0, 3.0, 4.0)
        assert env.observe().screenshot.shape == (3, 4, 3)
        assert env.home == "/home/user" and env.host_path("/home/user/a") == Path("/host/home/user/a")
        env.expose_port(8123)
        env.enable_network()
        assert inner.exposed == 8123 and inner.network
    assert inner.closes == 1


def test_make_env_rejects_unknown_kinds_and_time_limit_needs_a_step():
    with pytest.raises(ValueError, match="unknown env kind"):
        make_env("phone")
    with pytest.raises(ValueError, match="max_steps"):
        TimeLimit(CountingEnv(), 0)
