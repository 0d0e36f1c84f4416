"""Qwen2.5-VL computer use: ``<tool_call>{"name": "computer_use", "arguments": {...}}
</tool_call>`` with coordinates in pixels of the resized image the model saw."""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from kimicua.agent.dialects.base import (
    MAX_BLOCKS, Dialect, image_and_text, json_values, loads_json, make, smart_resize, snippet_of,
    strip_thinking,
)
from kimicua.agent.dialects.pyautogui_code import key_names
from kimicua.agent.parser import MAX_ACTIONS, ParseError
from kimicua.agent.pycode import integer, number, shown
from kimicua.env.actions import (
    Action, Click, Done, Drag, Fail, Hotkey, Key, Move, Scroll, Type, Wait,
)
from kimicua.env.geometry import Frame, Size, Space
from kimicua.env.keys import to_pyautogui

ACTIONS = ("key", "type", "mouse_move", "left_click", "left_click_drag", "right_click",
           "middle_click", "double_click", "scroll", "wait", "terminate")
_CLICKS = {"left_click": ("left", 1), "right_click": ("right", 1),
           "middle_click": ("middle", 1), "double_click": ("left", 2)}
_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
TOOL = "computer_use"


class Qwen25VL(Dialect):
    name = "qwen25vl"
    space = Space.IMAGE

    def image_size(self, screenshot: Size) -> Size | None:
        # The Qwen2.5-VL processor's defaults (min 4 and max 16384 28x28 patches).
        return smart_resize(screenshot, min_pixels=4 * 28 * 28, max_pixels=16384 * 28 * 28)

    def system_prompt(self, *, screen: Size) -> str:
        size = self.image_size(screen) or screen
        tool = {
            "type": "function",
            "function": {
                "name": TOOL,
                "description": (
                    "Use a mouse and keyboard to interact with a computer, and take screenshots. "
                    f"The screen's resolution is {size.width}x{size.height}. Click with the cursor "
                    "tip in the centre of an element. Applications can take time to respond: "
                    "wait and look again when the screen has not changed yet."
                ),
                "parameters": {
                    "type": "object",
                    "required": ["action"],
                    "properties": {
                        "action": {"type": "string", "enum": list(ACTIONS)},
                        "keys": {"type": "array", "description": "Keys to press together (key)."},
                        "text": {"type": "string", "description": "Text to type (type)."},
                        "coordinate": {"type": "array", "description": "(x, y) in pixels."},
                        "pixels": {"type": "number",
                                   "description": "Scroll amount: positive up, negative down."},
                        "time": {"type": "number", "description": "Seconds to wait (wait)."},
                        "status": {"type": "string", "enum": ["success", "failure"],
                                   "description": "The task's outcome (terminate)."},
                    },
                },
            },
        }
        return (
            "You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to "
            "assist with the user query.\n\nFunction signatures, within <tools></tools>:\n"
            f"<tools>\n{json.dumps(tool, ensure_ascii=False)}\n</tools>\n\n"
            "For each function call, return a JSON object with the function name and arguments "
            "within <tool_call></tool_call> tags:\n<tool_call>\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
        )

    def grounding_messages(self, instruction: str, *, image: Size) -> list[dict]:
        # As ScreenSpot-Pro's Qwen2.5-VL script asks: the computer_use tool (whose
        # resolution is the resized image's) as the system prompt, then the screenshot
        # and the bare instruction; the answer is a left_click tool call.
        return [{"role": "system", "content": self.system_prompt(screen=image)},
                {"role": "user", "content": image_and_text(instruction)}]

    # --- parsing ---------------------------------------------------------------------

    def parse(self, text: str, frame: Frame) -> list[Action]:
        text = strip_thinking(text)
        blocks = _TOOL_CALL.findall(text)
        if len(blocks) > MAX_BLOCKS:
            raise ParseError(f"{len(blocks)} tool calls in one answer, more than {MAX_BLOCKS}")
        # Inside tags every block must be JSON; without tags, look for JSON anywhere.
        values = [loads_json(b.strip()) for b in blocks] if blocks else json_values(text)
        calls = [c for v in values for c in (v if isinstance(v, list) else [v])]
        if len(calls) > MAX_ACTIONS:  # each call is one action: refuse before building them
            raise ParseError(f"{len(calls)} calls in one answer, more than {MAX_ACTIONS}")
        actions: list[Action] = []
        for call in calls:
            try:
                actions.extend(self._action(call, frame))
            except ParseError as err:
                raise ParseError(err.reason, snippet=snippet_of(call)) from None
        return actions

    def _action(self, call: Any, frame: Frame) -> list[Action]:
        if not isinstance(call, dict) or call.get("name") not in (TOOL, "computer"):
            raise ParseError(f'expected {{"name": "{TOOL}", "arguments": {{...}}}}')
        args = call.get("arguments")
        if isinstance(args, str):  # some servers double-encode the arguments
            try:
                args = json.loads(args)
            except (ValueError, RecursionError):
                raise ParseError("arguments are not JSON") from None
        if not isinstance(args, dict):
            raise ParseError("arguments must be an object")
        action = args.get("action")
        if action not in ACTIONS:
            raise ParseError(f"unknown computer_use action {shown(action)}; known: {', '.join(ACTIONS)}")

        def point(key: str = "coordinate", required: bool = True) -> dict[str, float]:
            value = args.get(key)
            if value is None and not required:
                return {}
            if not isinstance(value, list) or len(value) != 2:
                raise ParseError(f"{action} needs {key}: [x, y]")
            x, y = self.to_screen(value[0], value[1], frame)
            return {"x": x, "y": y}

        if action in _CLICKS:
            button, count = _CLICKS[action]
            return [Click(button=button, count=count, **point(required=False))]
        if action == "mouse_move":
            return [Move(**point())]
        if action == "left_click_drag":
            start = point("start_coordinate", required=False)
            begin = {"start_x": start["x"], "start_y": start["y"]} if start else {}
            return [Drag(**point(), **begin)]
        if action == "key":
            keys = args.get("keys")
            keys = [keys] if isinstance(keys, str) else keys
            if not isinstance(keys, list) or not keys:
                raise ParseError("key needs keys: [...]")
            if len(keys) == 1 and isinstance(keys[0], str) and len(keys[0]) > 1 and "+" in keys[0]:
                keys = keys[0].split("+")
            names = key_names(keys)
            return [Key(key=names[0])] if len(names) == 1 else [make({"type": "hotkey", "keys": names})]
        if action == "type":
            if not isinstance(args.get("text"), str):
                raise ParseError("type needs text")
            return [make({"type": "type", "text": args["text"]})]
        if action == "scroll":
            pixels = integer(args.get("pixels"), "pixels")
            return [make({"type": "scroll", "dy": pixels, **point(required=False)})]
        if action == "wait":
            t = args.get("time")
            return [Wait() if t is None else make({"type": "wait", "seconds": number(t, "time")})]
        status = args.get("status", "success")
        if status == "success":
            return [Done()]
        if status == "failure":
            return [Fail()]
        raise ParseError(f"terminate status must be 'success' or 'failure', got {shown(status)}")

    def thought(self, text: str) -> str | None:
        body = _TOOL_CALL.sub("", strip_thinking(text, strict=False)).strip()
        return body or None

    # --- writing back ----------------------------------------------------------------

    def format_history_step(self, thought: str | None, actions: Sequence[Action], frame: Frame) -> str:
        calls = "\n".join(self.tool_call(a, frame) for a in actions) or "(no action)"
        return f"{thought.strip()}\n{calls}" if thought else calls

    def tool_call(self, action: Action, frame: Frame) -> str:
        """One action as a ``<tool_call>`` block (or a note where none exists)."""

        def xy(x: float | None, y: float | None) -> dict[str, Any]:
            return {} if x is None or y is None else {"coordinate": list(self.from_screen(x, y, frame))}

        args: dict[str, Any] | None = None
        match action:
            case Click(button=b, count=n) if (b, n) in _CLICKS.values():
                name = next(k for k, v in _CLICKS.items() if v == (b, n))
                args = {"action": name, **xy(action.x, action.y)}
            case Move(x=x, y=y):
                args = {"action": "mouse_move", **xy(x, y)}
            case Drag(start_x=sx, start_y=sy, x=x, y=y):
                start = {"start_coordinate": xy(sx, sy)["coordinate"]} if sx is not None else {}
                args = {"action": "left_click_drag", **xy(x, y), **start}
            case Key(key=k):
                args = {"action": "key", "keys": [to_pyautogui(k)]}
            case Hotkey(keys=ks):
                args = {"action": "key", "keys": [to_pyautogui(k) for k in ks]}
            case Type(text=t):
                args = {"action": "type", "text": t}
            case Scroll(dy=dy, dx=0):
                args = {"action": "scroll", "pixels": dy, **xy(action.x, action.y)}
            case Wait(seconds=s):
                args = {"action": "wait", "time": s}
            case Done():
                args = {"action": "terminate", "status": "success"}
            case Fail():
                args = {"action": "terminate", "status": "failure"}
        if args is None:
            return f"({action.type} has no computer_use form)"
        body = json.dumps({"name": TOOL, "arguments": args}, ensure_ascii=False)
        return f"<tool_call>\n{body}\n</tool_call>"
