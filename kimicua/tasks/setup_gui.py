"""OSWorld's ``python -c "import pyautogui; ..."`` commands, played as actions.

Many tasks save files and close dialogs in ``postconfig`` by running pyautogui on the
VM (``pyautogui.hotkey('ctrl', 's'); time.sleep(0.5); pyautogui.press('enter')``). The
code is read, never run (``agent.pycode``: literal calls of pyautogui and time only),
and each call becomes an action the env plays with ``step``, like the agent's own:
the local sandbox needs no pyautogui, and coordinates mean the screenshot's pixels as
pyautogui's do. Code that does anything else is left to run as a command.
"""

from __future__ import annotations

import os

from kimicua.agent.dialects.pyautogui_code import PyAutoGUICode
from kimicua.agent.parser import ParseError
from kimicua.agent.pycode import read_calls
from kimicua.env.actions import Action
from kimicua.env.geometry import Frame, Size
from kimicua.tasks.setup_common import SetupError

_PYTHONS = ("python", "python3")
_DIALECT = PyAutoGUICode()


def gui_code(argv: str | list[str]) -> str | None:
    """The code of ``python -c CODE`` when ``argv`` is one, else None."""
    if not isinstance(argv, list) or len(argv) != 3 or argv[1] != "-c":
        return None
    return argv[2] if os.path.basename(argv[0]) in _PYTHONS else None


def as_actions(env, code: str) -> list[Action] | None:
    """The actions ``code`` stands for, or None when it is more than pyautogui calls."""
    if "pyautogui" not in code:
        return None
    try:
        calls = read_calls(code)
        physical = Size(round(env.screen.width * env.scale), round(env.screen.height * env.scale))
        return _DIALECT.actions_of(calls, Frame(screen=env.screen, physical=physical))
    except ParseError:
        return None


def play(env, actions: list[Action]) -> None:
    """Play ``actions`` on ``env``; SetupError naming the first that failed."""
    for action in actions:
        _, _, _, _, info = env.step(action)
        result = info.get("result")
        if result is not None and not result.ok:
            raise SetupError(f"{action.type} failed: {result.error}")
