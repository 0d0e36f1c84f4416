"""OSWorld's ``computer_13`` action space: ``{"action_type": ..., "parameters": {...}}``
dicts as JSON text (one, or a list), in screenshot pixels; also WAIT / DONE / FAIL."""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from kimicua.agent.dialects.base import (
    Dialect, json_values, map_points, strip_thinking,
)
from kimicua.agent.dialects.pyautogui_code import key_name
from kimicua.agent.parser import ParseError
from kimicua.agent.pycode import number
from kimicua.env.actions import Action, ActionError, from_computer13, to_computer13
from kimicua.env.geometry import Frame, Size, Space

_SPECIAL = re.compile(r"^\W*(WAIT|DONE|FAIL)\W*$")


class Computer13(Dialect):
    name = "computer13"
    space = Space.PHYSICAL

    def system_prompt(self, *, screen: Size) -> str:
        return (
            "You are an agent that operates an Ubuntu desktop to complete the user's task.\n"
            f"The screenshot is {screen.width}x{screen.height} pixels; (0, 0) is its top-left "
            "corner. Each turn, think briefly, then give the next action as a JSON object "
            'in a ```json``` block, e.g. {"action_type": "CLICK", "parameters": '
            '{"x": 100, "y": 200, "button": "left", "num_clicks": 1}}.\n'
            "action_type is one of MOVE_TO{x, y}, CLICK{button?, x?, y?, num_clicks?}, "
            "MOUSE_DOWN{button?}, MOUSE_UP{button?}, RIGHT_CLICK{x?, y?}, DOUBLE_CLICK{x?, y?}, "
            "DRAG_TO{x, y}, SCROLL{dx, dy} (positive dy = up), TYPING{text}, PRESS{key}, "
            "KEY_DOWN{key}, KEY_UP{key}, HOTKEY{keys: [...]}, WAIT, DONE (the task is "
            "complete) and FAIL (it cannot be done). Keys use pyautogui names."
        )

    def parse(self, text: str, frame: Frame) -> list[Action]:
        text = strip_thinking(text)
        values = json_values(text)
        if not values:
            special = _SPECIAL.match(text.strip())
            if special is None:
                raise ParseError("no computer_13 JSON action found", snippet=text)
            values = [special.group(1)]
        actions: list[Action] = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                try:
                    actions.append(self._action(item, frame))
                except ParseError as err:
                    snippet = json.dumps(item, ensure_ascii=False)[:80]
                    raise ParseError(err.reason, snippet=snippet) from None
        return actions

    def _action(self, item: Any, frame: Frame) -> Action:
        if isinstance(item, dict):
            params = item.get("parameters")
            if params is None:
                params = {k: v for k, v in item.items() if k != "action_type"}
            if not isinstance(params, dict):
                raise ParseError("parameters must be an object")
            keys = params.get("keys")
            if keys is not None and not isinstance(keys, list):
                raise ParseError("keys must be a list")
            # Unknown keys get a ParseError that names them, not a pydantic message.
            for k in [params.get("key"), *(keys or [])]:
                if k is not None:
                    key_name(k)
            for c in ("x", "y"):
                if c in params:
                    number(params[c], c)
        try:
            raw = from_computer13(item)
        except ActionError as err:
            raise ParseError(str(err)) from None
        return map_points(raw, lambda x, y: self.to_screen(x, y, frame))

    def thought(self, text: str) -> str | None:
        body = strip_thinking(text, strict=False)
        body = re.sub(r"```.*?```|\{.*\}|\[.*\]", "", body, flags=re.S).strip()
        return body or None

    def format_history_step(self, thought: str | None, actions: Sequence[Action], frame: Frame) -> str:
        items = []
        for a in actions:
            try:
                px = map_points(a, lambda x, y: frame.from_screen(x, y, self.space))
                items.extend(to_computer13(px))
            except ActionError:
                items.append(f"({a.type} has no computer_13 form)")
        items = [i if isinstance(i, str) else _rounded(i) for i in items]
        body = json.dumps(items[0] if len(items) == 1 else items, ensure_ascii=False)
        head = f"{thought.strip()}\n" if thought else ""
        return f"{head}```json\n{body}\n```"


def _rounded(item: dict[str, Any]) -> dict[str, Any]:
    params = {k: round(v) if k in ("x", "y") else v for k, v in item["parameters"].items()}
    return {"action_type": item["action_type"], "parameters": params} if params else {
        "action_type": item["action_type"]}
