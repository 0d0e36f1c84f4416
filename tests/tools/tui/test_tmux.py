"""End to end: the real ``kimicua tui`` in tmux, driven with send-keys and read with
capture-pane: the task list is on screen, Ctrl-R plays the task on a private Xvfb
desktop, and the finished episode is on screen with its score."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.display, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (Debian package)")]

GIVE_UP_S = 120.0  # a bound on waiting for the screen, never a measure
TASK = "desktop-focus-window"


def kimicua() -> list[str]:
    script = Path(sys.executable).with_name("kimicua")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from kimicua.tools.cli import main; main()"]


class Tmux:
    """A tmux server of our own (its own socket), one session running ``command``."""

    def __init__(self, command: list[str], cwd: Path, size=(100, 30)):
        self.socket = f"kimicua-test-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "KIMICUA_TUI_IMAGES": "halfblock", "TERM": "xterm-256color"}
        env.pop("TMUX", None)
        self.tmux(["new-session", "-d", "-s", "tui", "-x", str(size[0]), "-y", str(size[1]), "-c", str(cwd),
                   " ".join(_quote(c) for c in command)], env=env)

    def tmux(self, args, env=None) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True,
                              env=env, timeout=30).stdout

    def screen(self) -> str:
        return self.tmux(["capture-pane", "-p", "-t", "tui"])

    def keys(self, *keys: str) -> None:
        self.tmux(["send-keys", "-t", "tui", *keys])

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + GIVE_UP_S
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; the screen:\n{screen}")
            time.sleep(0.2)

    def alive(self) -> bool:
        return subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", "tui"],
                              capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def test_the_real_app_in_tmux_lists_tasks_and_shows_a_finished_episode(tmp_path):
    results = tmp_path / "runs"
    command = [*kimicua(), "tui", "--tasks", TASK, "--results", str(results), "--screen", "1280x800",
               "--max-steps", "10"]
    tmux = Tmux(command, tmp_path)
    try:
        screen = tmux.wait_for(TASK)
        assert "Tasks from" in screen and "Give the keyboard focus" in screen  # the task list
        tmux.keys("C-r")
        screen = tmux.wait_for("finished: done")
        assert "score 1.00" in screen and "✓ click" in screen and "✓ done" in screen
        tmux.keys("C-q")
        deadline = time.monotonic() + GIVE_UP_S
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not tmux.alive(), "the app did not quit on ctrl+q"
    finally:
        tmux.close()
    assert (results / "kimi" / "screenshot" / "scripted" / "desktop" / TASK / "result.txt").read_text().strip() == "1.0"
