"""Getters of the desktop (OSWorld names): the wallpaper, an app's window size, the
launchers on the Desktop, and the last row of a spreadsheet on it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.local import vm_file
from kimicua.tasks.getters.registry import getter

WALLPAPER_KEY = ("org.gnome.desktop.background", "picture-uri")


@getter
def vm_wallpaper(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """The picture GNOME's background shows, copied as ``dest``."""
    out = env.run(["gsettings", "get", *WALLPAPER_KEY], timeout=10.0)
    if out.returncode != 0:
        raise RuntimeError(f"gsettings: {(out.stderr.strip().splitlines() or ['exit ' + str(out.returncode)])[-1]}")
    uri = out.stdout.strip().strip("'\"")
    path = unquote(urlsplit(uri).path) if uri.startswith("file://") else uri
    return vm_file(env, ctx, {"path": path, "dest": spec["dest"]})


@getter
def vm_window_size(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, float] | None:
    """``{"width", "height"}`` of the first window whose WM class names ``app_class_name``."""
    name = spec["app_class_name"].lower()
    for window in env.windows():
        if name in [part.lower() for part in window.wm_class.split(".")]:
            return {"width": window.width, "height": window.height}
    return None


@getter
def shortcuts_on_desktop(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, str]:
    """Each ``.desktop`` launcher on ~/Desktop: file name -> its text."""
    folder = f"{env.home}/Desktop"
    found = {}
    for name in env.list_dir(folder) or []:
        if name.endswith(".desktop"):
            copy = vm_file(env, ctx, {"path": f"{folder}/{name}", "dest": f"shortcuts/{name}"})
            if copy is not None:
                with open(copy, encoding="utf-8", errors="replace") as f:
                    found[name] = f.read()
    return found


@getter
def content_from_vm_file(env, ctx: RunContext, spec: dict[str, Any]) -> Any:
    """Part of a file: for ``file_type`` xlsx and ``file_content`` last_row, the last
    data row of the first sheet as strings (pandas' reading, as OSWorld)."""
    import pandas as pd

    path = vm_file(env, ctx, {"path": spec["path"], "dest": spec["path"].rsplit("/", 1)[-1]})
    if path is None:
        return None
    kind, part = spec["file_type"], spec["file_content"]
    if (kind, part) != ("xlsx", "last_row"):
        raise ValueError(f"content_from_vm_file: {kind} {part} is not one OSWorld defines")
    return pd.read_excel(path).iloc[-1].astype(str).tolist()
