"""OSWorld's setup steps, run against an Env (the local desktop or a VM).

Each step runs against the Env with its parameters already substituted (see
``context``). Programs and shell commands run where the env runs its apps (the
sandbox by default); file steps name files as the apps see them and reach them on
the host through the env's file methods (``get_file``/``put_file``/``list_dir``), which
keep writes inside the episode's home and reach a VM's files over its server.
On the local desktop (``apps.is_local``) a few of OSWorld's commands have local
meanings: Google Chrome is the env's Chromium, ``pkill chrome`` stops it gently
(``chrome_profile``), ``python -c "import pyautogui; ..."`` is played as actions
(``setup_gui``), and an app started for the first time gets the VM's first-run
settings (``app_prefs``). Unsupported types raise UnsupportedStep naming the type
(and why); any other failure raises SetupError with one line naming the step.
"""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path
from typing import Any, Callable, Protocol, runtime_checkable

from kimicua.tasks import app_prefs, chrome_profile
from kimicua.tasks.apps import is_local, opener, with_local_env
from kimicua.tasks.context import PlaceholderError, RunContext, substitute
from kimicua.tasks.fetch import FetchError, fetch
from kimicua.tasks.schema import SetupStep
from kimicua.tasks.setup_chrome import chrome_close_tabs, chrome_open_tabs, is_chrome_kill, update_browse_history
from kimicua.tasks.setup_common import (
    WINDOW_TIMEOUT_S, SetupError, UnsupportedStep, app_path, argv_of, command_text, is_chrome,
    resolve_program, wait_until,
)
from kimicua.tasks.setup_desktop import (
    change_wallpaper, close_window, execute_with_verification, tidy_desktop, upload_file,
)
from kimicua.tasks.setup_gui import as_actions, gui_code, play

__all__ = ["SetupError", "UnsupportedStep", "STEPS", "SUPPORTED_STEPS", "UNSUPPORTED_STEPS",
           "run_step", "run_steps"]


def is_chrome_relay(argv: str | list[str]) -> bool:
    """OSWorld's ``socat tcp-listen:9222,fork tcp:localhost:1337`` (nothing to relay here)."""
    return isinstance(argv, list) and os.path.basename(argv[0]) == "socat" and any(
        a.endswith(":1337") for a in argv[1:])


def _local_meaning(env, ctx: RunContext, argv: str | list[str]) -> bool:
    """Do what ``argv`` means on the local desktop, if it means something else there;
    True when done (see the module doc)."""
    if is_chrome(argv):
        env.open_tabs([a for a in argv[1:] if not a.startswith("-")])
        return True
    if is_chrome_relay(argv):
        return True
    if not is_local(env):
        return False
    if is_chrome_kill(argv):
        chrome_profile.stop(env, ctx)
        return True
    code = gui_code(argv)
    actions = as_actions(env, code) if code is not None else None
    if actions is not None:
        play(env, actions)
        return True
    app_prefs.prepare(env, command_text(argv))
    return False


def _as_run_here(env, argv: str | list[str]) -> str | list[str]:
    """``argv`` with its program as this env runs it, and locally the app's LOCAL_ENV."""
    argv = resolve_program(env, argv)
    return with_local_env(argv) if is_local(env) else argv


def launch(env, ctx: RunContext, command: str | list[str], shell: bool = False) -> None:
    """Start a program in the background (killed at the next reset)."""
    argv = argv_of(env, command, shell)
    if _local_meaning(env, ctx, argv):
        return
    env.launch(_as_run_here(env, argv), shell=shell)


def execute(env, ctx: RunContext, command: str | list[str], shell: bool = False,
            stdout: str = "", stderr: str = "") -> None:
    """Run a command to completion; ``stdout``/``stderr`` name files in the cache."""
    argv = argv_of(env, command, shell)
    if _local_meaning(env, ctx, argv):
        return
    result = env.run(_as_run_here(env, argv), shell=shell, timeout=120.0)
    for name, text in ((stdout, result.stdout), (stderr, result.stderr)):
        if name:
            ctx.cache.mkdir(parents=True, exist_ok=True)
            (ctx.cache / name).write_text(text, encoding="utf-8")


def sleep(env, ctx: RunContext, seconds: float) -> None:
    time.sleep(float(seconds))


def activate_window(env, ctx: RunContext, window_name: str, strict: bool = False,
                    by_class: bool = False) -> None:
    """Focus a window, waiting for it to appear (it is often just launched)."""
    wait_until(lambda: env.activate_window(window_name, strict=strict, by_class=by_class),
               WINDOW_TIMEOUT_S, f"no window matching {window_name!r}")


@runtime_checkable
class _OpensFiles(Protocol):
    """An env whose own server opens files (the OSWorld VM env: its xdg-open)."""

    def open_file(self, path: str) -> None: ...


def open_file(env, ctx: RunContext, path: str) -> None:
    """Open a file (or folder) with the app for its type (``apps.opener``), then wait for
    a window titled with its name or stem, as OSWorld does; the browser env and web
    pages open in the env's own Chromium, so page getters can read them. The OSWorld
    VM env opens it with the VM's own default app."""
    if isinstance(env, _OpensFiles):
        env.open_file(path)
        return
    full = app_path(env, path)
    folder, name = os.path.split(full.rstrip("/"))
    is_dir = env.list_dir(full) is not None
    if not is_dir and name not in (env.list_dir(folder) or []):
        raise SetupError(f"no such file {full}")
    program = "browser" if env.kind == "browser" else opener(full, is_dir)
    if program == "browser":
        env.open_tabs([Path(full).as_uri()])
        return
    argv = resolve_program(env, [program, full])
    if is_local(env):
        app_prefs.prepare(env, program)
    env.launch(argv)
    names = {name.lower(), Path(name).stem.lower()} - {""}
    wait_until(lambda: any(n in w.name.lower() for w in env.windows() for n in names),
               WINDOW_TIMEOUT_S * 4 if program != "mousepad" else WINDOW_TIMEOUT_S,
               f"no window showing {name!r}")


def download(env, ctx: RunContext, files: list[dict[str, str]]) -> None:
    """Fetch each ``{"url", "path"}`` (http(s), or file:// of the task's own files) to
    its path, which must lie in the episode's home or /tmp. Remote URLs need this
    machine's network; a fetch that fails names the URL and why."""
    for item in files:
        try:
            local = ctx.cache / "downloads" / Path(item["path"]).name
            fetch(item["url"], local, files=ctx.files)
            env.put_file(local, app_path(env, item["path"]))
        except FetchError as err:
            raise SetupError(str(err)) from None
        except KeyError as err:
            raise SetupError(f"download item needs {err.args[0]!r}: {item!r:.120}") from None


STEPS: dict[str, Callable[..., None]] = {
    "launch": launch,
    "execute": execute,
    "command": execute,  # OSWorld's `command` is an alias of `execute`
    "execute_with_verification": execute_with_verification,
    "sleep": sleep,
    "activate_window": activate_window,
    "close_window": close_window,
    "open": open_file,
    "download": download,
    "upload_file": upload_file,
    "chrome_open_tabs": chrome_open_tabs,
    "chrome_close_tabs": chrome_close_tabs,
    "update_browse_history": update_browse_history,
    "change_wallpaper": change_wallpaper,
    "tidy_desktop": tidy_desktop,
}
SUPPORTED_STEPS = frozenset(STEPS)
# OSWorld's step types this runtime does not perform, and why.
UNSUPPORTED_STEPS = {
    "googledrive": "needs OSWorld's Google Drive account (its settings file with OAuth credentials)",
    "login": "signs in to a website with OSWorld's account credentials, which are not distributed",
}


def _check_parameters(func: Callable[..., None], step: SetupStep) -> None:
    accepted = set(list(inspect.signature(func).parameters)[2:])
    unknown = sorted(set(step.parameters) - accepted)
    if unknown:
        raise SetupError(f"unexpected parameter {unknown[0]!r}")


def run_step(step: SetupStep, env, ctx: RunContext) -> None:
    """Perform one step; SetupError (one line) naming the step type on failure."""
    func = STEPS.get(step.type)
    if func is None:
        raise UnsupportedStep(step.type, UNSUPPORTED_STEPS.get(step.type))
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
    """Perform steps in order, stopping at the first failure. A local home first gets
    the folders of OSWorld's VM user (``app_prefs.prepare_home``)."""
    if steps and is_local(env):
        try:
            app_prefs.prepare_home(env)
        except (OSError, RuntimeError) as err:
            raise SetupError(f"home: {err}") from None
    for step in steps:
        run_step(step, env, ctx)
