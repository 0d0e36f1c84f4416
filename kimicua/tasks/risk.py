"""What a task file does to the machine: the commands it runs and whether it needs
the network. ``kimicua tasks check`` shows both, so a user sees them before running
a task file from elsewhere; the runner uses ``needs_network`` to open the sandbox's
network for the tasks that ask. ``remote_fetches`` lists what setup and getters fetch
from the internet on this machine (OSWorld's files): those need this machine's network,
not the sandbox's.
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
# Getters that open a page in the env's browser: the key naming its URL.
PAGE_GETTERS = {"page_info": "url", "pdf_from_url": "path", "info_from_website": "url"}
# Getters that browse a fixed site.
SITE_GETTERS = {"gotoRecreationPage_and_get_html_content": "https://www.recreation.gov/"}
FETCH_GETTERS = ("cloud_file",)
EMPTY_HISTORY = "https://huggingface.co/datasets/xlangai/ubuntu_osworld_file_cache (empty Chrome history)"


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


def _getter_specs(task: Task) -> list[dict[str, Any]]:
    return [s for _, result, expected, _ in task.evaluator.aligned()
            for s in (result, expected) if isinstance(s, dict)]


def remote_fetches(task: Task) -> list[str]:
    """The internet URLs setup and getters fetch on this machine, in file order:
    downloads, ``cloud_file`` and OSWorld's empty Chrome history."""
    urls = []
    for step in [*task.config, *task.evaluator.postconfig]:
        if step.type == "download":
            urls += [f.get("url") for f in step.parameters.get("files", []) if isinstance(f, dict)]
        elif step.type == "update_browse_history":
            urls.append(EMPTY_HISTORY)
    for spec in _getter_specs(task):
        if spec.get("type") in FETCH_GETTERS:
            path = spec.get("path")
            urls += path if isinstance(path, list) else [path]
    return [str(u) for u in urls if u and _remote(u)]


def needs_network(task: Task) -> bool:
    """Whether the env's apps need the network: the task says so (``kimicua.network``,
    OSWorld's ``proxy``), or it or its getters open remote pages in the browser.
    Downloads do not count: setup fetches them on the host (``remote_fetches``)."""
    if task.proxy or (task.kimicua is not None and task.kimicua.network):
        return True
    for spec in _getter_specs(task):
        if spec.get("type") in SITE_GETTERS or _remote(spec.get(PAGE_GETTERS.get(str(spec.get("type")), ""), "")):
            return True
    for step in [*task.config, *task.evaluator.postconfig]:
        urls = step.parameters.get("urls_to_open") if step.type == "chrome_open_tabs" else None
        if step.type == "launch" and isinstance(step.parameters.get("command"), list):
            urls = step.parameters["command"][1:]
        if urls and any(_remote(u) for u in urls):
            return True
    return False
