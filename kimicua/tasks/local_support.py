"""Why a task cannot run on the local desktop though every step, getter and metric it
uses is implemented: a program this machine lacks (or that cannot work in the
sandbox), Chrome's settings pages behind the URL policy, an accessibility tree the
sandbox does not have, or (offline) the network.

Each reason is one line; ``local_reasons`` lists them in file order, without repeats.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from kimicua.env.geometry import Size
from kimicua.env.guard import UrlPolicy
from kimicua.tasks.apps import CHROME_NAMES, missing_reason, opener, shell_programs
from kimicua.tasks.getters.a11y import local_reason as a11y_reason
from kimicua.tasks.risk import needs_network, remote_fetches
from kimicua.tasks.schema import SetupStep, Task
from kimicua.tasks.setup_chrome import is_chrome_kill
from kimicua.tasks.setup_gui import as_actions, gui_code

_COMMAND_STEPS = ("launch", "execute", "command", "execute_with_verification")
_COMMAND_GETTERS = ("vm_command_line", "vm_command_error")
# Getters (and steps) that run a program in the env: the program, per type.
_GETTER_PROGRAMS = {"vm_wallpaper": "gsettings", "default_video_player": "xdg-mime",
                    "vlc_playing_info": "python3", "rule_relativeTime": "python3"}
_STEP_PROGRAMS = {"change_wallpaper": "gsettings"}
_A11Y_GETTERS = ("accessibility_tree", "vm_terminal_output")
# Getters of Chrome settings the agent changes in chrome://settings (or chrome://history).
CHROME_SETTINGS_GETTERS = frozenset({
    "history", "cookie_data", "default_search_engine", "profile_name", "chrome_font_size",
    "enable_do_not_track", "enable_safe_browsing", "data_delete_automacally", "new_startup_page",
    "chrome_appearance_mode_ui", "find_installed_extension_name", "find_unpacked_extension_path",
})
CHROME_PROFILE = ".config/google-chrome"
SETTINGS_PAGE = "chrome://settings/"


@dataclass(frozen=True)
class _ScreenOnly:
    """What ``as_actions`` needs of an env to read pyautogui code (any size will do)."""

    screen: Size = Size(1920, 1080)
    scale: float = 1.0


def _argv(step: SetupStep) -> str | list[str] | None:
    command = step.parameters.get("command")
    if command is None:
        return None
    if step.parameters.get("shell"):
        return command if isinstance(command, str) else " ".join(str(c) for c in command)
    try:
        return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
    except ValueError:
        return str(command)


def _step_programs(step: SetupStep) -> list[str]:
    if step.type in _STEP_PROGRAMS:
        return [_STEP_PROGRAMS[step.type]]
    if step.type == "open":
        path = str(step.parameters.get("path", ""))
        program = opener(path, is_dir=not PurePosixPath(path).suffix)
        return [] if program == "browser" else [program]
    if step.type not in _COMMAND_STEPS:
        return []
    argv = _argv(step)
    if isinstance(argv, str):
        return shell_programs(argv)
    if not argv or os.path.basename(argv[0]) in CHROME_NAMES or is_chrome_kill(argv):
        return []
    if os.path.basename(argv[0]) == "socat" and any(a.endswith(":1337") for a in argv[1:]):
        return []
    code = gui_code(argv)
    if code is not None and as_actions(_ScreenOnly(), code) is not None:
        return []  # played as actions, no python needed
    if os.path.basename(argv[0]) in ("bash", "sh") and len(argv) > 2 and argv[1] == "-c":
        return [argv[0], *shell_programs(argv[2])]
    return [argv[0]]


def _getter_specs(task: Task) -> list[dict[str, Any]]:
    return [s for _, result, expected, _ in task.evaluator.aligned()
            for s in (result, expected) if isinstance(s, dict)]


def programs(task: Task) -> list[str]:
    """The programs the task's steps and getters run in the env, in file order."""
    found: list[str] = []
    for step in [*task.config, *task.evaluator.postconfig]:
        found += _step_programs(step)
    for spec in _getter_specs(task):
        kind = spec.get("type")
        if kind in _GETTER_PROGRAMS:
            found.append(_GETTER_PROGRAMS[kind])
        elif kind in _COMMAND_GETTERS:
            command = spec.get("command", "")
            if isinstance(command, str):
                found += shell_programs(command)
            else:
                found += _step_programs(SetupStep(type="execute", parameters={"command": command}))
    return list(dict.fromkeys(p for p in found if not p.startswith(("/home/", "~/", "./"))))


def _needs_chrome_pages(task: Task) -> bool:
    if any(s.get("type") in CHROME_SETTINGS_GETTERS for s in _getter_specs(task)):
        return True
    return "chrome://" in json.dumps(task.evaluator.model_dump(mode="json"))


def local_reasons(task: Task, *, offline: bool = False, policy: UrlPolicy = UrlPolicy()) -> list[str]:
    """Why ``task`` cannot run on the local desktop, beyond unimplemented parts (see the
    module doc); [] when it can. ``policy`` is the run's URL policy, ``offline`` a run
    without the network."""
    reasons = [r for r in (missing_reason(p) for p in programs(task)) if r]
    if any(s.get("type") in _A11Y_GETTERS for s in _getter_specs(task)):
        reasons.append(a11y_reason())
    if _needs_chrome_pages(task) and policy.refusal(SETTINGS_PAGE):
        reasons.append("needs Chrome's settings pages (chrome://), which the URL policy refuses; "
                       "allow them with --allow-url 'chrome://*'")
    if offline:
        fetched = remote_fetches(task)
        if fetched:
            reasons.append(f"needs the network: fetches {fetched[0]}" + (f" and {len(fetched) - 1} more"
                                                                        if len(fetched) > 1 else ""))
        elif needs_network(task):
            reasons.append("needs the network: its apps open remote pages")
    return list(dict.fromkeys(reasons))
