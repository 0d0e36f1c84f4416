"""What every setup step shares: its errors, OSWorld's command forms, the apps' paths,
and waiting for windows."""

from __future__ import annotations

import os
import shlex
import time
from typing import Callable

from kimicua.env import windows as wins
from kimicua.env.core import Window
from kimicua.tasks.apps import CHROME_NAMES, NOT_LOCAL, PACKAGES, is_local, local_program, package_of

WINDOW_TIMEOUT_S = 15.0


class SetupError(RuntimeError):
    """A setup step that failed (one line naming the step)."""


class UnsupportedStep(SetupError):
    """A setup step type this runtime cannot perform (``reason``: why, when known)."""

    def __init__(self, step_type: str, reason: str | None = None):
        self.step_type = step_type
        self.reason = reason
        super().__init__(f"setup step type {step_type!r} is not supported here" + (f": {reason}" if reason else ""))


def argv_of(env, command: str | list[str], shell: bool) -> str | list[str]:
    """OSWorld's command forms: a list, or a string split unless ``shell``."""
    if shell:
        return command if isinstance(command, str) else shlex.join(command)
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if not argv:
        raise SetupError("empty command")
    # OSWorld's VM server expands a leading ~/ in each argument (to the VM user's home).
    return [env.home + a[1:] if a.startswith("~/") else a for a in argv]


def resolve_program(env, argv: str | list[str]) -> str | list[str]:
    """``argv`` with its program as this env runs it; SetupError naming a program the
    local sandbox lacks or cannot run. A VM env's programs are the VM's own: nothing is
    checked. A script in the episode's home or /tmp is the task's own."""
    if not isinstance(argv, list) or not is_local(env) or argv[0].startswith((env.home + "/", "/tmp/")):
        return argv
    program = local_program(argv[0])
    if program is None:
        base = os.path.basename(argv[0])
        raise SetupError(f"program {argv[0]!r} is not installed" + (f" ({package_of(base)})" if base in PACKAGES else ""))
    why = NOT_LOCAL.get(os.path.basename(argv[0]))
    if why is not None:
        raise SetupError(f"program {argv[0]!r} cannot run here: it {why}")
    return [program, *argv[1:]]


def is_chrome(argv: str | list[str]) -> bool:
    return isinstance(argv, list) and os.path.basename(argv[0]) in CHROME_NAMES


def command_text(command: str | list[str]) -> str:
    return command if isinstance(command, str) else shlex.join(str(c) for c in command)


def app_path(env, path: str) -> str:
    """``path`` as the apps see it: ``~`` is the episode's home, relative is under it."""
    if path == "~" or path.startswith("~/"):
        path = env.home + path[1:]
    return path if os.path.isabs(path) else os.path.join(env.home, path)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until true; SetupError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SetupError(f"{what} after {timeout:g}s")
        time.sleep(0.2)


def matching(env, name: str, *, strict: bool = False, by_class: bool = False) -> list[Window]:
    """The env's windows that OSWorld's window steps would match (see ``windows.matches``)."""
    return [w for w in env.windows() if wins.matches(w, name, strict=strict, by_class=by_class)]
