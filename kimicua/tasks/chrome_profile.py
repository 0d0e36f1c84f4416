"""Where the env's Chrome keeps its profile, and stopping it so the profile is on disk.

OSWorld's getters read Chrome's profile files (Preferences, Bookmarks, History, Cookies)
from ``~/.config/google-chrome/Default`` after ``postconfig`` ran ``pkill chrome`` and
started Chrome again: Chrome writes what it holds in memory when it exits. Here the
profile is wherever the running browser's ``--user-data-dir`` says (the local desktop's
Chromium keeps its own), else Chrome's default. Stopping the local Chromium
(``stop``) closes it as its own Quit does (CDP ``Browser.close``: it writes what it
has pending, which a SIGTERM drops; SIGTERM only when no CDP answers), waits for it to
go, and keeps a copy of the profile in the evaluator's cache, since the Chromium
started next begins with a fresh profile; the profile getters read that copy when
there is one.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from pathlib import Path

from kimicua.tasks import browser_access
from kimicua.tasks.apps import CHROME_NAMES
from kimicua.tasks.context import RunContext

DEFAULT_USER_DATA = "~/.config/google-chrome"
PROFILE = "Default"
# The profile's files the getters read (under the profile folder, or the user data dir).
FILES = ("Preferences", "Secure Preferences", "Bookmarks", "History", "Cookies")
USER_DATA_FILES = ("Local State",)
STOP_TIMEOUT_S = 15.0
SNAPSHOT = "chrome-profile"


def _browser_args(env) -> list[str] | None:
    """The command line of the env's Chrome browser process (not a renderer), if running."""
    out = env.run(["ps", "-eo", "args"], timeout=10.0)
    for line in out.stdout.splitlines()[1:]:
        try:
            args = shlex.split(line)
        except ValueError:
            args = line.split()
        if not args or args[0].rsplit("/", 1)[-1] not in CHROME_NAMES:
            continue
        if not any(a.startswith("--type=") for a in args):
            return args
    return None


def _flag(args: list[str], name: str) -> str | None:
    for arg in args:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def user_data_dir(env) -> str:
    """The running browser's user data folder as the apps see it (Chrome's default when
    none runs or it names none)."""
    args = _browser_args(env)
    folder = (_flag(args, "user-data-dir") if args else None) or DEFAULT_USER_DATA
    return env.home + folder[1:] if folder.startswith("~") else folder


def profile_file(env, ctx: RunContext, name: str) -> Path | None:
    """A copy of the profile's file ``name`` (one of FILES or USER_DATA_FILES) in the
    cache: from the stopped browser's snapshot when ``stop`` kept one, else the live
    profile. None when the profile has no such file."""
    snapshot = ctx.cache / SNAPSHOT / name
    if snapshot.is_file():
        return snapshot
    folder = user_data_dir(env)
    path = f"{folder}/{name}" if name in USER_DATA_FILES else f"{folder}/{PROFILE}/{name}"
    dest = ctx.cache / "chrome-live" / name
    return dest if env.get_file(path, dest) else None


def _quit(env) -> bool:
    """Ask the env's Chrome to quit over CDP; False when it has no CDP connection."""
    try:
        session = browser_access.context(env).browser.new_browser_cdp_session()
        session.send("Browser.close")
    except browser_access.NoBrowser:
        return False
    except Exception:  # noqa: BLE001 - the connection drops as Chrome quits; the wait below tells
        pass
    return True


def stop(env, ctx: RunContext) -> None:
    """End the env's Chrome gently, wait for it to exit, and keep its profile files."""
    args = _browser_args(env)
    if args is None:
        return
    folder = user_data_dir(env)
    if not _quit(env):
        marker = f"--user-data-dir={folder}" if _flag(args, "user-data-dir") else args[0]
        env.run(["pkill", "-TERM", "-f", "--", re.escape(marker)], timeout=10.0)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _browser_args(env) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    keep = ctx.cache / SNAPSHOT
    shutil.rmtree(keep, ignore_errors=True)
    for name in FILES + USER_DATA_FILES:
        path = f"{folder}/{name}" if name in USER_DATA_FILES else f"{folder}/{PROFILE}/{name}"
        env.get_file(path, keep / name)
