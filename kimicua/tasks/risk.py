"""What a task file does to the machine: the commands it runs and whether it needs
the network. ``kimicua tasks check`` shows both, so a user sees them before running
a task file from elsewhere; the runner uses ``needs_network`` to open the sandbox's
network for the tasks that ask.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kimicua.tasks.schema import SetupStep, Task

COMMAND_STEPS = frozenset({"launch", "execute", "command", "execute_with_verification"})
COMMAND_GETTERS = frozenset({"vm_command_line", "vm_command_error", "vm_terminal_output"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Command:
    """One command a task runs: where in the file, and the command line."""

    where: str  # "config[2] execute", "postconfig[0] launch", "evaluator.result[1] vm_command_line"
    command: str
    shell: bool

    def __str__(self) -> str:
        return f"{self.where}{' (shell)' if self.shell else ''}: {self.command}"


def _text(command: Any) -> str:
    if isinstance(command, list):
        return shlex.join(str(c) for c in command)
    return " ".join(str(command).split())


def _from_steps(steps: list[SetupStep], section: str) -> list[Command]:
    return [Command(f"{section}[{i}] {s.type}", _text(s.parameters.get("command", "")),
                    bool(s.parameters.get("shell", False)))
            for i, s in enumerate(steps) if s.type in COMMAND_STEPS]


def commands(task: Task) -> list[Command]:
    """Every command the task's setup, postconfig and getters run, in file order."""
    found = _from_steps(task.config, "config") + _from_steps(task.evaluator.postconfig, "postconfig")
    for i, (_, result, expected, _) in enumerate(task.evaluator.aligned()):
        for side, spec in (("result", result), ("expected", expected)):
            if isinstance(spec, dict) and spec.get("type") in COMMAND_GETTERS:
                found.append(Command(f"evaluator.{side}[{i}] {spec['type']}", _text(spec.get("command", "")),
                                     bool(spec.get("shell", False))))
    return found


def _remote(url: Any) -> bool:
    parts = urlsplit(str(url))
    return parts.scheme in ("http", "https") and "{pages}" not in str(url) and parts.hostname not in LOOPBACK


def needs_network(task: Task) -> bool:
    """Whether the env's apps need the network: the task says so (``kimicua.network``,
    OSWorld's ``proxy``), or it opens remote pages in the browser. Downloads do not
    count: setup fetches them on the host."""
    if task.proxy or (task.kimicua is not None and task.kimicua.network):
        return True
    for step in [*task.config, *task.evaluator.postconfig]:
        urls = step.parameters.get("urls_to_open") if step.type == "chrome_open_tabs" else None
        if step.type == "launch" and isinstance(step.parameters.get("command"), list):
            urls = step.parameters["command"][1:]
        if urls and any(_remote(u) for u in urls):
            return True
    return False
