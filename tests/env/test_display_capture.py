"""Private Xvfb displays and screen capture: sizes, cookies, crash and exit handling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kimicua.env import EnvError, Size, make_env
from kimicua.env.actions import Click, Move, Wait
from kimicua.env.capture import ScreenCapture, bgra_to_rgb
from kimicua.env.display import Display


def test_bgra_to_rgb_swaps_channels_and_drops_alpha():
    bgra = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    rgb = bgra_to_rgb(bgra.tobytes(), width=3, height=2)
    assert rgb.shape == (2, 3, 3) and rgb.flags.c_contiguous
    assert np.array_equal(rgb, bgra[:, :, [2, 1, 0]])


def paint_root(display: Display, rgb: int) -> None:
    """Fill the root window with one colour (24-bit TrueColor: the pixel is the RGB)."""
    from Xlib.display import Display as XDisplay

    with display.environ():
        conn = XDisplay(display.name)
    root = conn.screen().root
    root.change_attributes(background_pixel=rgb)
    root.clear_area()
    conn.sync()
    conn.close()


@pytest.mark.display
@pytest.mark.parametrize("size", [Size(1920, 1080), Size(1366, 768)])
def test_capture_is_native_rgb_and_shows_the_screen(size):
    display = Display.start(size, window_manager=False)
    try:
        paint_root(display, 0x123456)
        capture = ScreenCapture(display)
        shot = capture.grab()
        assert shot.size == size
        assert shot.rgb.shape == (size.height, size.width, 3) and shot.rgb.dtype == np.uint8
        assert tuple(shot.rgb[size.height - 1, size.width - 1]) == (0x12, 0x34, 0x56)
        later = capture.grab()
        assert later.timestamp >= shot.timestamp and later.rgb is not shot.rgb
        capture.close()
        capture.close()
    finally:
        display.stop()


@pytest.mark.display
def test_private_display_has_its_own_cookie_and_stops_cleanly():
    display = Display.start(Size(640, 480))
    pid, auth = display.pid, Path(display.env["XAUTHORITY"])
    ok = subprocess.run(["xdpyinfo"], env=display.child_env(), capture_output=True, text=True)
    assert ok.returncode == 0 and "640x480 pixels" in ok.stdout
    no_cookie = subprocess.run(["xdpyinfo"], capture_output=True,
                               env={**display.child_env(), "XAUTHORITY": "/dev/null"})
    assert no_cookie.returncode != 0
    display.stop()
    display.stop()
    assert not Path(f"/proc/{pid}").exists() and not auth.exists()


@pytest.mark.display
def test_failed_xvfb_start_is_an_env_error_and_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with pytest.raises(EnvError, match="Xvfb failed to start"):
        Display.start(Size(70000, 70000))  # beyond the X protocol's 32767 limit
    assert list(tmp_path.iterdir()) == []


@pytest.mark.display
def test_display_is_stopped_at_interpreter_exit():
    code = ("from kimicua.env.display import Display; from kimicua.env.geometry import Size; "
            "d = Display.start(Size(320, 240)); print(d.pid, flush=True)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    pid = int(out.stdout.strip())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.display
def test_killed_xvfb_is_an_env_error_naming_the_display():
    env = make_env("desktop", size=Size(640, 480))
    try:
        env.reset()
        os.kill(env.display.pid, 9)
        with pytest.raises(EnvError, match=f"Xvfb on display {env.display.name}"):
            for _ in range(50):  # noticed at the latest once the process is reaped
                env.step(Wait(seconds=0.02))
        with pytest.raises(EnvError):
            env.observe()
    finally:
        env.close()


@pytest.mark.display
def test_users_display_is_attached_with_fail_safe_and_left_running(monkeypatch):
    """A display we did not start (standing in for ":0") is used as is: not stopped on
    close, and pyautogui's fail-safe (pointer in a corner) stops actions."""
    users = Display.start(Size(800, 600))
    try:
        monkeypatch.setenv("XAUTHORITY", users.env["XAUTHORITY"])
        with make_env("desktop", display=users.name) as env:
            assert env.screen == Size(800, 600) and not env.display.private
            assert env.step(Move(x=0, y=0))[4]["result"].ok
            info = env.step(Click(x=400, y=300))[4]
            assert not info["result"].ok and "fail-safe" in info["result"].error.lower()
        assert users.alive()
        with make_env("desktop", size=Size(320, 240)) as private:
            private.step(Move(x=0, y=0))
            assert private.step(Click(x=100, y=100))[4]["result"].ok  # no fail-safe here
    finally:
        users.stop()
