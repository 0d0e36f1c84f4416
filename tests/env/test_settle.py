"""Settling after an action: the X damage watch, the settle's rules against a scripted
watch, and the desktop env with an app that redraws late, one that never stops, and
steps that change nothing."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_display_capture import paint_root

from kimicua.env import Size, make_env
from kimicua.env.actions import Click, Move
from kimicua.env.busy import descendants, drawing_threads, running
from kimicua.env.damage import DamageWatch
from kimicua.env.desktop_env import DesktopEnv
from kimicua.env.display import Display
from kimicua.env.settle import FRAME_CLOCK_FIRST_S, ScreenSettle, SettleTimes

LATE_REDRAW = Path(__file__).parent / "apps" / "late_redraw.py"
RED, BLUE = (0xCC, 0x33, 0x33), (0x33, 0x33, 0xCC)


class ScriptedWatch:
    """A damage watch whose answers are scripted: True = something drew."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.cleared = 0

    def clear(self):
        self.cleared += 1
        return False

    def wait(self, timeout):
        drew = self.answers.pop(0) if self.answers else False
        if not drew:
            time.sleep(timeout)  # as the real watch does when nothing draws
        return drew


TIMES = SettleTimes(first_s=0.001, quiet_s=0.001, cap_s=5.0)


def test_a_drawing_thread_that_never_stops_is_cut_off_at_the_cap():
    done = ScreenSettle(ScriptedWatch([]), SettleTimes(0.001, 0.001, cap_s=0.05), busy=lambda: True).wait()
    assert done.busy and done.capped and not done.changed


def test_nothing_drawn_and_nobody_running_is_a_no_op():
    watch = ScriptedWatch([False])
    settle = ScreenSettle(watch, TIMES, busy=lambda: False)
    settle.arm()
    done = settle.wait()
    assert watch.cleared == 1 and not (done.changed or done.busy or done.capped)


def test_a_running_app_is_waited_for_until_it_draws_and_stops():
    watch = ScriptedWatch([False] * 5 + [True] + [False] * 5)
    running = iter([True] * 8 + [False] * 10)  # runs through its drawing, then sleeps
    done = ScreenSettle(watch, TIMES, busy=lambda: next(running)).wait()
    assert done.changed and done.busy and not done.capped
    assert watch.answers == [] and next(running) is False  # all drawing and running seen


def test_drawing_is_followed_until_it_goes_quiet():
    watch = ScriptedWatch([True, True, True, False, False, True])  # quiet, and a last look
    done = ScreenSettle(watch, TIMES).wait()
    assert done.changed and not done.capped
    assert watch.answers == [True]  # stopped at the first quiet period


def test_the_barrier_runs_before_watching():
    order = []

    class Watch(ScriptedWatch):
        def wait(self, timeout):
            order.append("watch")
            return False

    ScreenSettle(Watch([]), TIMES, barrier=lambda: order.append("barrier")).wait()
    assert order[0] == "barrier"


@pytest.mark.display
def test_damage_watch_sees_drawing_not_pointer_moves():
    from Xlib.display import Display as XDisplay
    from Xlib import X
    from Xlib.ext import xtest

    display = Display.start(Size(320, 240), window_manager=False)
    try:
        watch = DamageWatch(display)
        watch.clear()
        assert not watch.wait(0.05)
        paint_root(display, 0x123456)
        assert watch.wait(1.0) and not watch.wait(0.05)  # reported once, then cleared
        with display.environ():
            conn = XDisplay(display.name)
        xtest.fake_input(conn, X.MotionNotify, x=100, y=100)
        conn.sync()
        assert not watch.wait(0.05)  # the pointer is not part of the screen's image
        conn.close()
        watch.close()
    finally:
        display.stop()


def test_busy_sees_a_running_process_below_a_root(poll):
    import subprocess

    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert spin.pid in descendants([spin.pid]) and running(drawing_threads([spin.pid]))
        assert poll(lambda: not running(drawing_threads([sleeper.pid])))  # once it has started
    finally:
        for proc in (spin, sleeper):
            proc.kill()
            proc.wait()


def colour_at(obs, window) -> tuple[int, int, int]:
    x, y = round((window.x + window.width / 2) * obs.scale), round((window.y + window.height / 2) * obs.scale)
    return tuple(obs.screenshot[y, x].tolist())


def launch_app(env, title: str, delay: str):
    env.launch([sys.executable, str(LATE_REDRAW), title, delay])
    window = env.wait_for_window(title)
    env.observe()
    return window


@pytest.fixture(scope="module")
def desktop():
    with make_env("desktop", size=Size(800, 600)) as env:
        env.reset()
        yield env


@pytest.mark.display
def test_the_frame_after_a_click_shows_a_late_redraw(desktop):
    """The app works 200 ms on the click before it redraws: the step waits for it."""
    window = launch_app(desktop, "kimicua-late", "0.2")
    assert colour_at(desktop.observe(), window) == RED
    obs, _, _, _, info = desktop.step(Click(x=window.x + 50, y=window.y + 50))
    assert colour_at(obs, window) == BLUE
    assert info["settle"].changed and info["settle"].busy and not info["settle"].capped
    obs, _, _, _, info = desktop.step(Click(x=window.x + 50, y=window.y + 50))
    assert colour_at(obs, window) == RED


@pytest.mark.display
def test_without_the_settle_the_same_click_shows_a_stale_frame():
    """The control for the test above: with no wait, the frame is the old one."""
    with DesktopEnv(size=Size(800, 600), settle_s=0.0) as env:
        env.reset()
        window = launch_app(env, "kimicua-late", "0.2")
        obs, *_ = env.step(Click(x=window.x + 50, y=window.y + 50))
        assert colour_at(obs, window) == RED


@pytest.mark.display
def test_a_step_that_changes_nothing_does_not_wait_for_a_change(desktop):
    desktop.reset()
    for x in (100, 200, 300):  # over the bare desktop
        obs, _, _, _, info = desktop.step(Move(x=x, y=300))
        assert info["result"].ok
        settled = info["settle"]
        assert not (settled.changed or settled.busy or settled.capped), settled


@pytest.mark.display
@pytest.mark.skipif(shutil.which("mousepad") is None, reason="needs mousepad (a GTK app)")
def test_apps_that_paint_on_a_frame_clock_are_told_apart(desktop, poll):
    """GTK (mousepad) may paint a frame interval after the input: the settle waits
    longer for its first drawing than for xterm's."""
    desktop.reset()
    desktop.launch(["xterm", "-T", "kimicua-xterm"])
    desktop.wait_for_window("kimicua-xterm")
    assert desktop.activate_window("kimicua-xterm")
    assert poll(lambda: desktop._focus.window() == (False, "XTerm"))
    assert desktop._before_watching() is None  # the usual first_s
    desktop.launch(["mousepad"])
    desktop.wait_for_window("Mousepad", timeout=20)
    assert desktop.activate_window("Mousepad")
    assert poll(lambda: desktop._focus.window() == (True, "Mousepad"))
    assert desktop._before_watching() == FRAME_CLOCK_FIRST_S
    desktop.reset()


@pytest.mark.display
def test_an_app_that_never_stops_drawing_is_cut_off_at_the_cap(desktop):
    desktop.reset()
    launch_app(desktop, "kimicua-animate", "animate")
    capped = ScreenSettle(desktop._watch, SettleTimes(first_s=0.05, cap_s=0.2))  # it draws every 10 ms
    capped.arm()
    settled = capped.wait()
    assert settled.changed and settled.capped
    desktop.reset()


@pytest.mark.display
def test_a_fixed_pause_is_still_available():
    with DesktopEnv(size=Size(320, 240), settle_s=0.01) as env:
        _, _, _, _, info = env.step(Move(x=10, y=10))
        assert info["settle_s"] >= 0.01 and not info["settle"].changed
        assert isinstance(env.observe().screenshot, np.ndarray)
