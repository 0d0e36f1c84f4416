"""Window helpers over wmctrl and xdotool (EWMH: needs a window manager on the display)."""

from __future__ import annotations

import shutil
import subprocess

from kimicua.env.core import EnvError, Window


def _tool(args: list[str], env: dict[str, str], timeout: float = 5.0) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise EnvError(f"{args[0]} not found on PATH; it is needed for window operations")
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def list_windows(env: dict[str, str], scale: float = 1.0) -> list[Window]:
    """Managed top-level windows, bottom-to-top stacking order, in logical px."""
    out = _tool(["wmctrl", "-l", "-G", "-x"], env)
    if out.returncode != 0:
        raise EnvError(f"wmctrl failed on display {env.get('DISPLAY')}: {out.stderr.strip()}")
    windows = []
    for line in out.stdout.splitlines():
        # id desktop x y w h wm_class host title...  (title may contain spaces or be absent)
        parts = line.split(None, 8)
        if len(parts) < 8:
            continue
        wid, _, x, y, w, h, wm_class, _host = parts[:8]
        title = parts[8] if len(parts) > 8 else ""
        windows.append(Window(id=int(wid, 16), name=title, wm_class=wm_class,
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
    field = window.wm_class if by_class else window.name
    if by_class and not strict:
        # wmctrl prints "instance.Class"; either part may be what the task names.
        return name.lower() in field.lower()
    return field == name if strict else name in field


def activate(env: dict[str, str], window: Window) -> bool:
    """Raise and focus ``window``; True once the window manager reports it active."""
    out = _tool(["xdotool", "windowactivate", "--sync", str(window.id)], env)
    if out.returncode != 0:
        out = _tool(["wmctrl", "-i", "-a", hex(window.id)], env)
    return out.returncode == 0 and active_window_id(env) == window.id
