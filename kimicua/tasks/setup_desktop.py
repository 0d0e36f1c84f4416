"""OSWorld's desktop setup steps beyond programs and files: closing windows, commands
checked until they take effect, files uploaded from the task's folder, the wallpaper,
and tidying the desktop.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kimicua.tasks.context import RunContext
from kimicua.tasks.fetch import FetchError, fetch
from kimicua.tasks.setup_common import (
    WINDOW_TIMEOUT_S, SetupError, app_path, argv_of, matching, resolve_program, wait_until,
)

# What OSWorld's VM server does for change_wallpaper (GNOME's background setting).
WALLPAPER_KEY = ("org.gnome.desktop.background", "picture-uri")
CLOSE_TIMEOUT_S = 10.0


@runtime_checkable
class _ClosesWindows(Protocol):
    """An env whose own server closes windows (the OSWorld VM env)."""

    def close_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> None: ...


def close_window(env, ctx: RunContext, window_name: str, strict: bool = False,
                 by_class: bool = False) -> None:
    """Ask every window matching ``window_name`` (title substring, exact title when
    ``strict``, ``instance.Class`` when ``by_class``) to close, as wmctrl -c does, and
    wait up to CLOSE_TIMEOUT_S for them to go: the app writes its settings as it exits,
    and the getters after this step read them. A window that asks a question instead
    of closing stays, as on the VM; none matching is no error (OSWorld's server)."""
    if isinstance(env, _ClosesWindows):
        env.close_window(window_name, strict=strict, by_class=by_class)
        return
    targets = matching(env, window_name, strict=strict, by_class=by_class)
    if not targets and by_class and strict:
        # Thunderbird and Firefox append their profile's remoting name to the class
        # ("Mail.thunderbird-default" here, "Mail.thunderbird" on OSWorld's VM).
        targets = [w for w in env.windows() if w.wm_class.startswith(window_name + "-")]
    for window in targets:
        env.run(["wmctrl", "-i", "-c", hex(window.id)], timeout=10.0)
    ids = {w.id for w in targets}
    deadline = time.monotonic() + CLOSE_TIMEOUT_S
    while ids & {w.id for w in env.windows()} and time.monotonic() < deadline:
        time.sleep(0.2)


def execute_with_verification(env, ctx: RunContext, command: str | list[str],
                              verification: dict[str, Any] | None = None, max_wait_time: float = 10,
                              check_interval: float = 1.0, shell: bool = False) -> None:
    """Run ``command``, then wait until ``verification`` holds: ``window_exists`` (a
    window title containing it, any case) and ``command_success`` (a shell command
    exiting 0), checked every ``check_interval`` s for ``max_wait_time`` s."""
    argv = resolve_program(env, argv_of(env, command, shell))
    env.run(argv, shell=shell, timeout=120.0)
    checks = dict(verification or {})
    unknown = sorted(set(checks) - {"window_exists", "command_success"})
    if unknown:
        raise SetupError(f"unknown verification {unknown[0]!r}")

    def verified() -> bool:
        if "window_exists" in checks:
            name = str(checks["window_exists"]).lower()
            if not any(name in w.name.lower() for w in env.windows()):
                return False
        if "command_success" in checks:
            if env.run(str(checks["command_success"]), shell=True, timeout=5.0).returncode != 0:
                return False
        return True

    deadline = time.monotonic() + float(max_wait_time)
    while not verified():
        if time.monotonic() > deadline:
            raise SetupError(f"verification {checks} did not hold after {float(max_wait_time):g}s")
        time.sleep(float(check_interval))


def upload_file(env, ctx: RunContext, files: list[dict[str, str]]) -> None:
    """Copy each ``{"local_path", "path"}``: a file of the task's own folder (relative to
    it, or absolute inside it) to ``path`` in the episode's home or /tmp."""
    for item in files:
        try:
            local = Path(item["local_path"])
            if not local.is_absolute() and ctx.files:
                local = ctx.files[0] / local
            copy = ctx.cache / "uploads" / local.name
            fetch(local.resolve().as_uri(), copy, files=ctx.files)
            env.put_file(copy, app_path(env, item["path"]))
        except KeyError as err:
            raise SetupError(f"upload_file item needs {err.args[0]!r}: {item!r:.120}") from None
        except FetchError as err:
            raise SetupError(str(err).replace("cannot fetch", "cannot upload")) from None


def change_wallpaper(env, ctx: RunContext, path: str) -> None:
    """Set the desktop's wallpaper to the image ``path`` (GNOME's background setting, as
    OSWorld's VM server does)."""
    if not path:
        raise SetupError("no wallpaper path")
    full = app_path(env, path)
    argv = resolve_program(env, ["gsettings", "set", *WALLPAPER_KEY, Path(full).as_uri()])
    out = env.run(argv, timeout=10.0)
    if out.returncode != 0:
        raise SetupError(f"gsettings failed: {(out.stderr.strip().splitlines() or ['exit ' + str(out.returncode)])[-1]}")


def tidy_desktop(env, ctx: RunContext) -> None:
    """Empty the Desktop folder (OSWorld names this step but never implemented it;
    here a tidy desktop is one with no files on it)."""
    desktop = app_path(env, "~/Desktop")
    for name in env.list_dir(desktop) or []:
        out = env.run(["rm", "-rf", "--", f"{desktop}/{name}"], timeout=30.0)
        if out.returncode != 0:
            raise SetupError(f"cannot remove {desktop}/{name}: {out.stderr.strip()[:200]}")
    wait_until(lambda: not env.list_dir(desktop), WINDOW_TIMEOUT_S, f"{desktop} is not empty")
