"""Nothing an env starts outlives a runner killed with kill -9, and its temp dirs are
swept by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from proc_tools import alive, processes_with

from kimicua.env import lifetime

CHILD = textwrap.dedent("""
    import sys, time
    from kimicua.env import make_env, Size
    desktop = make_env("desktop", size=Size(320, 240))
    desktop.reset()
    desktop.launch(["sleep", sys.argv[1]])
    desktop.open_tabs(["about:blank"])  # the desktop's Chromium, in the sandbox
    browser = make_env("browser", size=Size(320, 240))
    browser.reset()
    print(desktop.display.pid, desktop.display._wm.pid, desktop._sandbox._proc.pid, browser._marker,
          flush=True)
    time.sleep(600)
""")


@pytest.mark.display
@pytest.mark.browser
def test_kill_9_of_the_runner_takes_everything_along_and_the_next_run_sweeps_its_dirs(poll):
    marker = f"600.{os.getpid()}"
    child = subprocess.Popen([sys.executable, "-c", CHILD, marker], stdout=subprocess.PIPE, text=True)
    try:
        xvfb, wm, bwrap, browser_marker = child.stdout.readline().split()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    pids = [int(xvfb), int(wm), int(bwrap)]
    assert poll(lambda: not any(alive(p) for p in pids), timeout=10), "Xvfb, openbox or bwrap outlived the runner"
    assert poll(lambda: not processes_with(marker), timeout=10), "an app in the sandbox outlived the runner"
    assert poll(lambda: not processes_with(browser_marker), timeout=10), "the browser env's Chromium outlived it"
    owned = [p for p in Path(lifetime.tempfile.gettempdir()).iterdir() if f"-{child.pid}-" in p.name]
    assert owned, "the killed runner's temp dirs should be there until a sweep"
    lifetime.sweep_stale()
    assert not any(p.exists() for p in owned)
