"""OSWorld setup steps that make sense on a local display (no VM, no cloud).

Each step runs against the Env with its parameters already substituted (see
``context``). Programs and shell commands run where the env runs its apps (the
sandbox by default); file steps name files as the apps see them and reach them on
the host through the env's file methods (``get_file``/``put_file``/``list_dir``), which
keep writes inside the episode's home and reach a VM's files over its server.
Unsupported types raise UnsupportedStep naming the type; any other failure raises
SetupError with one line naming the step.
"""

from __future__ import annotations

import inspect
import os
import shlex
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from kimicua.tasks.context import PlaceholderError, RunContext, substitute
from kimicua.tasks.fetch import FetchError, fetch
from kimicua.tasks.schema import SetupStep

# File types opened in a browser rather than the text editor; the rest go to xdg-open.
_BROWSER_SUFFIXES = {".html", ".htm", ".pdf", ".svg", ".png", ".jpg", ".jpeg", ".gif"}
_TEXT_SUFFIXES = {".txt", ".md", ".py", ".csv", ".json", ".log", ".ini", ".cfg", ".conf",
                  ".sh", ".yaml", ".yml", ".xml", ".tex", ".c", ".h", ".js", ".css", ""}
TEXT_EDITOR = "mousepad"  # Debian package: mousepad
WINDOW_TIMEOUT_S = 15.0


class SetupError(RuntimeError):
    """A setup step that failed (one line naming the step)."""


class UnsupportedStep(SetupError):
    """A setup step type this runtime cannot perform locally."""

    def __init__(self, step_type: str):
        self.step_type = step_type
        super().__init__(f"setup step type {step_type!r} is not supported here")


# OSWorld's VMs run Google Chrome with DevTools on 1337, relayed to 9222 by socat; here
# the env's own Chromium stands in for it, and setup and getters reach it over CDP.
CHROME_NAMES = frozenset({"google-chrome", "google-chrome-stable", "chrome", "chromium", "chromium-browser"})


def _argv(env, command: str | list[str], shell: bool) -> str | list[str]:
    """OSWorld's command forms: a list, or a string split unless ``shell``."""
    if shell:
        return command if isinstance(command, str) else shlex.join(command)
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if not argv:
        raise SetupError("empty command")
    # OSWorld's VM server expands a leading ~/ in each argument (to the VM user's home).
    return [env.home + a[1:] if a.startswith("~/") else a for a in argv]


def _require_program(argv: str | list[str]) -> None:
    if isinstance(argv, list) and shutil.which(argv[0]) is None:
        raise SetupError(f"program {argv[0]!r} is not installed")


def is_chrome(argv: str | list[str]) -> bool:
    return isinstance(argv, list) and os.path.basename(argv[0]) in CHROME_NAMES


def is_chrome_relay(argv: str | list[str]) -> bool:
    """OSWorld's ``socat tcp-listen:9222,fork tcp:localhost:1337`` (nothing to relay here)."""
    return isinstance(argv, list) and os.path.basename(argv[0]) == "socat" and any(
        a.endswith(":1337") for a in argv[1:])


def launch(env, ctx: RunContext, command: str | list[str], shell: bool = False) -> None:
    """Start a program in the background (killed at the next reset). Google Chrome
    starts the env's Chromium, with the URLs it was given as tabs."""
    argv = _argv(env, command, shell)
    if is_chrome(argv):
        env.open_tabs([a for a in argv[1:] if not a.startswith("-")])
        return
    if is_chrome_relay(argv):
        return
    _require_program(argv)
    env.launch(argv, shell=shell)


def execute(env, ctx: RunContext, command: str | list[str], shell: bool = False,
            stdout: str = "", stderr: str = "") -> None:
    """Run a command to completion; ``stdout``/``stderr`` name files in the cache."""
    argv = _argv(env, command, shell)
    _require_program(argv)
    result = env.run(argv, shell=shell, timeout=120.0)
    for name, text in ((stdout, result.stdout), (stderr, result.stderr)):
        if name:
            ctx.cache.mkdir(parents=True, exist_ok=True)
            (ctx.cache / name).write_text(text, encoding="utf-8")


def sleep(env, ctx: RunContext, seconds: float) -> None:
    time.sleep(float(seconds))


def _wait_window(env, name: str, timeout: float, **match) -> None:
    deadline = time.monotonic() + timeout
    while not env.activate_window(name, **match):
        if time.monotonic() > deadline:
            raise SetupError(f"no window matching {name!r} after {timeout:g}s")
        time.sleep(0.2)


def activate_window(env, ctx: RunContext, window_name: str, strict: bool = False,
                    by_class: bool = False) -> None:
    """Focus a window, waiting for it to appear (it is often just launched)."""
    _wait_window(env, window_name, WINDOW_TIMEOUT_S, strict=strict, by_class=by_class)


def close_window(env, ctx: RunContext, window_name: str, strict: bool = False,
                 by_class: bool = False) -> None:
    """Close windows by title (substring, or exact when strict) or WM class, via wmctrl."""
    argv = ["wmctrl"] + (["-x"] if by_class else []) + (["-F"] if strict else []) + ["-c", window_name]
    _require_program(argv)
    env.run(argv, timeout=10.0)


def _app_path(env, path: str) -> str:
    """``path`` as the apps see it: ``~`` is the episode's home, relative is under it."""
    if path == "~" or path.startswith("~/"):
        path = env.home + path[1:]
    return path if os.path.isabs(path) else os.path.join(env.home, path)


def open_file(env, ctx: RunContext, path: str) -> None:
    """Open a file with an app chosen by its type, then wait for its window."""
    app_path = _app_path(env, path)
    if Path(app_path).name not in (env.list_dir(os.path.dirname(app_path)) or []):
        raise SetupError(f"no such file {app_path}")
    file = Path(app_path)
    suffix = file.suffix.lower()
    if env.kind == "browser" or suffix in _BROWSER_SUFFIXES:
        # The env's own Chromium, so page getters (page_eval, active_tab_url) can read it.
        env.open_tabs([file.as_uri()])
        return
    argv = [TEXT_EDITOR, str(file)] if suffix in _TEXT_SUFFIXES else ["xdg-open", str(file)]
    _require_program(argv)
    env.launch(argv)
    # Like OSWorld, the step ends when a window titled with the file's name is up.
    _wait_window(env, file.name, WINDOW_TIMEOUT_S)


def chrome_open_tabs(env, ctx: RunContext, urls_to_open: list[str]) -> None:
    """Open URLs in tabs and wait until the active one has fully loaded: the env returns
    at DOMContentLoaded, before stylesheets settle, and the first click must not land
    on a layout that is about to shift."""
    env.open_tabs(list(urls_to_open))
    deadline = time.monotonic() + WINDOW_TIMEOUT_S
    while env.evaluate("document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise SetupError(f"page {env.page_url()} did not finish loading in {WINDOW_TIMEOUT_S:g}s")
        time.sleep(0.05)


def download(env, ctx: RunContext, files: list[dict[str, str]]) -> None:
    """Fetch each ``{"url", "path"}`` (http(s), or file:// of the task's own files) to
    its path, which must lie in the episode's home or /tmp."""
    for item in files:
        try:
            local = ctx.cache / "downloads" / Path(item["path"]).name
            fetch(item["url"], local, files=ctx.files)
            env.put_file(local, _app_path(env, item["path"]))
        except FetchError as err:
            raise SetupError(str(err)) from None
        except KeyError as err:
            raise SetupError(f"download item needs {err.args[0]!r}: {item!r:.120}") from None


STEPS: dict[str, Callable[..., None]] = {
    "launch": launch,
    "execute": execute,
    "command": execute,  # OSWorld's `command` is an alias of `execute`
    "sleep": sleep,
    "activate_window": activate_window,
    "close_window": close_window,
    "open": open_file,
    "chrome_open_tabs": chrome_open_tabs,
    "download": download,
}
SUPPORTED_STEPS = frozenset(STEPS)


def _check_parameters(func: Callable[..., None], step: SetupStep) -> None:
    accepted = set(list(inspect.signature(func).parameters)[2:])
    unknown = sorted(set(step.parameters) - accepted)
    if unknown:
        raise SetupError(f"unexpected parameter {unknown[0]!r}")


def run_step(step: SetupStep, env, ctx: RunContext) -> None:
    """Perform one step; SetupError (one line) naming the step type on failure."""
    func = STEPS.get(step.type)
    if func is None:
        raise UnsupportedStep(step.type)
    try:
        _check_parameters(func, step)
        params: dict[str, Any] = substitute(dict(step.parameters), ctx.variables())
        func(env, ctx, **params)
    except PlaceholderError as err:
        raise SetupError(f"{step.type}: {err}") from None
    except SetupError as err:
        if isinstance(err, UnsupportedStep) or str(err).startswith(f"{step.type}: "):
            raise
        raise SetupError(f"{step.type}: {err}") from None
    except TypeError as err:
        raise SetupError(f"{step.type}: bad parameters: {err}") from None
    except (OSError, RuntimeError, ValueError) as err:
        # EnvError is a RuntimeError; TimeoutError and missing programs are OSErrors.
        raise SetupError(f"{step.type}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None


def run_steps(steps: list[SetupStep], env, ctx: RunContext) -> None:
    """Perform steps in order, stopping at the first failure."""
    for step in steps:
        run_step(step, env, ctx)
