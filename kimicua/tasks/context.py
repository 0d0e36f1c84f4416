"""Per-episode facts that task strings may refer to, and their substitution.

Task JSON names machine-specific places through placeholders so a task is not tied
to one machine: ``{workdir}`` and ``{home}`` (the episode's fresh home as the env's
apps see it: /home/user in the sandbox), ``{pages}`` (the loopback page server's base
URL, no trailing slash), and OSWorld's own ``{SCREEN_WIDTH}``, ``{SCREEN_HEIGHT}``,
``{SCREEN_WIDTH_HALF}``, ``{SCREEN_HEIGHT_HALF}`` and ``{CLIENT_PASSWORD}`` (the VM user's
password, $KIMICUA_VM_PASSWORD or OSWorld's default).
Only these exact names are replaced, so other braces (Python dicts, OSWorld's
``{DayD}`` date rules) pass through untouched.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kimicua.env.geometry import Size

_NAMES = ("workdir", "pages", "home", "SCREEN_WIDTH_HALF", "SCREEN_HEIGHT_HALF",
          "SCREEN_WIDTH", "SCREEN_HEIGHT", "CLIENT_PASSWORD")
# The VM user's password that OSWorld's sudo steps type: "password" on its VMware,
# VirtualBox and docker images (OSWorld's default); set it for other images.
PASSWORD_ENV = "KIMICUA_VM_PASSWORD"
_PLACEHOLDER = re.compile(r"\{(" + "|".join(_NAMES) + r")\}")


class PlaceholderError(ValueError):
    """A placeholder whose value this episode does not have (e.g. no page server)."""


@dataclass(frozen=True)
class RunContext:
    """What one episode's task strings resolve against.

    ``workdir`` is the host folder the evaluator's cache lives in (never shown to the
    apps); ``home`` the episode's home as the apps see it; ``files`` the host folders a
    ``file://`` URL in the task may be read from (the task's own folder and pages)."""

    workdir: Path
    pages: str | None = None
    screen: Size | None = None
    home: str | None = None
    files: tuple[Path, ...] = ()
    cache: Path = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "cache", self.workdir / ".cache")

    def variables(self) -> dict[str, str]:
        home = self.home or str(self.workdir)
        values = {"workdir": home, "home": home, "CLIENT_PASSWORD": os.environ.get(PASSWORD_ENV, "password")}
        if self.pages is not None:
            values["pages"] = self.pages
        if self.screen is not None:
            values.update(
                SCREEN_WIDTH=str(self.screen.width),
                SCREEN_HEIGHT=str(self.screen.height),
                SCREEN_WIDTH_HALF=str(self.screen.width // 2),
                SCREEN_HEIGHT_HALF=str(self.screen.height // 2),
            )
        return values


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """``value`` with placeholders replaced in every string, recursively."""
    if isinstance(value, str):
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in variables:
                raise PlaceholderError(f"placeholder {{{name}}} has no value in this episode")
            return variables[name]

        return _PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, tuple):
        return tuple(substitute(v, variables) for v in value)
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def mentions(value: Any, name: str) -> bool:
    """Whether any string inside ``value`` uses placeholder ``{name}``."""
    if isinstance(value, str):
        return f"{{{name}}}" in value
    if isinstance(value, (list, tuple)):
        return any(mentions(v, name) for v in value)
    if isinstance(value, dict):
        return any(mentions(v, name) for v in value.values())
    return False
