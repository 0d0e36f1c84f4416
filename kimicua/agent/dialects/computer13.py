"""OSWorld's ``computer_13`` action space: ``{"action_type": ..., "parameters": {...}}``
dicts as JSON text (one, or a list), in screenshot pixels; also WAIT / DONE / FAIL."""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from kimicua.agent.dialects.base import (
    Dialect, json_values, map_points, snippet_of, strip_thinking, without_fences,
)
from kimicua.agent.dialects.pyautogui_code import key_names
from kimicua.agent.parser import MAX_ACTIONS, ParseError
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
        items = [i for v in values for i in (v if isinstance(v, list) else [v])]
        if len(items) > MAX_ACTIONS:  # each item is one action: refuse before building them
            raise ParseError(f"{len(items)} actions in one answer, more than {MAX_ACTIONS}")
        actions: list[Action] = []
        for item in items:
            try:
                actions.append(self._action(item, frame))
            except ParseError as err:
                raise ParseError(err.reason, snippet=snippet_of(item)) from None
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
            key_names([k for k in [params.get("key"), *(keys or [])] if k is not None])
            for c in ("x", "y"):
                if c in params:
                    number(params[c], c)
        try:
            raw = from_computer13(item)
        except ActionError as err:
            raise ParseError(str(err)) from None
        return map_points(raw, lambda x, y: self.to_screen(x, y, frame))

    def thought(self, text: str) -> str | None:
        body = _without_json(without_fences(strip_thinking(text, strict=False))).strip()
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


def _without_json(text: str) -> str:
    """``text`` less each span from a bracket to the last matching closer after it, as
    ``re.sub(r"\\{.*\\}|\\[.*\\]", "", text, flags=re.S)`` does; that regex scans to
    the end from every bracket, quadratic in a text of brackets."""
    kept, i = [], 0
    while True:
        # A bracket without a closer after it means none after it has one either.
        spans = [(p, end) for opener, closer in ("{}", "[]")
                 if 0 <= (p := text.find(opener, i)) < (end := text.rfind(closer))]
        if not spans:
            break
        p, end = min(spans)
        kept.append(text[i:p])
        i = end + 1
    kept.append(text[i:])
    return "".join(kept)
