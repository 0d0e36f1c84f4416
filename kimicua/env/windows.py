"""Window helpers over wmctrl and xdotool (EWMH: needs a window manager on the display)."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import Callable

from kimicua.env.core import EnvError, Window


def _tool(args: list[str], env: dict[str, str], timeout: float = 5.0) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise EnvError(f"{args[0]} not found on PATH; it is needed for window operations")
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def _wmctrl(flags: str, env: dict[str, str], patience_s: float = 3.0) -> list[str]:
    deadline = time.monotonic() + patience_s
    while True:
        out = _tool(["wmctrl", flags], env)
        # BadWindow: a closed window is still in the WM's client list (openbox can lag
        # half a second under load); ask again until the WM catches up.
        if out.returncode == 0 or "BadWindow" not in out.stderr or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if out.returncode != 0:
        raise EnvError(f"wmctrl failed on display {env.get('DISPLAY')}: {out.stderr.strip()}")
    return out.stdout.splitlines()


def list_windows(env: dict[str, str], scale: float = 1.0) -> list[Window]:
    """Managed top-level windows, oldest first, in logical px."""
    # `-lG` lines: id desktop x y w h host title; the title is all the rest. `-lGx`
    # adds the class before the host, and a class may hold spaces (Chromium puts its
    # profile path there), so the class is what -lGx has in front of "host title".
    plain = {}
    for line in _wmctrl("-lG", env):
        parts = line.split(None, 7)
        if len(parts) >= 7:
            plain[parts[0]] = (parts[2:6], " ".join(parts[6:8]))
    windows = []
    for line in _wmctrl("-lGx", env):
        parts = line.split(None, 6)
        if len(parts) < 7 or parts[0] not in plain:
            continue  # a window that appeared between the two calls
        (x, y, w, h), host_title = plain[parts[0]]
        rest = parts[6]
        wm_class = rest[: len(rest) - len(host_title)].strip() if rest.endswith(host_title) else rest
        title = host_title.split(None, 1)[1] if " " in host_title else ""
        windows.append(Window(id=int(parts[0], 16), name=title, wm_class=wm_class,
                              x=int(x) / scale, y=int(y) / scale,
                              width=int(w) / scale, height=int(h) / scale))
    return windows


def active_window_id(env: dict[str, str]) -> int | None:
    out = _tool(["xdotool", "getactivewindow"], env)
    if out.returncode != 0 or not out.stdout.strip():
        return None  # no window has focus
    return int(out.stdout.strip())


def active_window(env: dict[str, str], scale: float = 1.0) -> Window | None:
    wid = active_window_id(env)
    if wid is None:
        return None
    return next((w for w in list_windows(env, scale) if w.id == wid), None)


def matches(window: Window, name: str, *, strict: bool = False, by_class: bool = False) -> bool:
    """OSWorld's activate_window matching: substring (or equality) of title or class."""
    if by_class:
        # wmctrl prints "instance.Class"; either part may be what the task names.
        full = window.wm_class
        if strict:
            return name == full or name in full.rsplit(".", 1)
        return name.lower() in full.lower()
    return window.name == name if strict else name in window.name


def wait_for(windows: Callable[[], list[Window]], name: str, timeout: float, missing: str,
             poll_s: float = 0.05) -> Window:
    """The newest of ``windows()`` whose title holds ``name``, asked again every ``poll_s``
    until ``timeout``; then EnvError "no <missing> after <timeout>s" (missing names what and where)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [w for w in windows() if matches(w, name)]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise EnvError(f"no {missing} after {timeout:g}s")
        time.sleep(poll_s)


def activate(env: dict[str, str], window: Window) -> bool:
    """Raise and focus ``window``; True once the window manager reports it active."""
    out = _tool(["xdotool", "windowactivate", "--sync", str(window.id)], env)
    if out.returncode != 0:
        out = _tool(["wmctrl", "-i", "-a", hex(window.id)], env)
    return out.returncode == 0 and active_window_id(env) == window.id
