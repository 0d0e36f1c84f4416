"""OSWorld's ``pyautogui`` action space: code strings in screenshot pixels, plus the
special strings WAIT, DONE and FAIL. Also the call semantics the Kimi dialect reuses."""

from __future__ import annotations

import re
from typing import Any, Sequence

from kimicua.agent.dialects.base import Dialect, fenced_blocks, image_and_text, make, strip_thinking
from kimicua.agent.parser import MAX_ACTIONS, ParseError
from kimicua.agent.pycode import PYAUTOGUI_CALLS, Call, bind, integer, number, read_calls, shown
from kimicua.env.actions import (
    Action, Click, Done, Drag, Fail, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp, Move,
    Scroll, Type, Wait,
)
from kimicua.env.geometry import Frame, Size, Space
from kimicua.env.keys import UnknownKey, normalise_key, to_pyautogui

_CLICK = ("x", "y", "interval", "button", "duration", "tween")
_PARAMS: dict[str, tuple[str, ...]] = {
    "click": ("x", "y", "clicks", "interval", "button", "duration", "tween"),
    "doubleClick": _CLICK, "tripleClick": _CLICK,
    "rightClick": ("x", "y", "duration", "tween"), "middleClick": ("x", "y", "duration", "tween"),
    "moveTo": ("x", "y", "duration", "tween"),
    "dragTo": ("x", "y", "duration", "tween", "button", "mouseDownUp"),
    "mouseDown": ("x", "y", "button", "duration", "tween"),
    "mouseUp": ("x", "y", "button", "duration", "tween"),
    "scroll": ("clicks", "x", "y"), "hscroll": ("clicks", "x", "y"),
    "write": ("message", "interval"), "typewrite": ("message", "interval"),
    "press": ("keys", "presses", "interval"),
    "keyDown": ("key",), "keyUp": ("key",),
    "wait": ("seconds",), "terminate": ("status", "answer"), "triple_click": ("x", "y"),
    "sleep": ("seconds",),
}
_COUNTS = {"click": 1, "doubleClick": 2, "tripleClick": 3, "triple_click": 3,
           "rightClick": 1, "middleClick": 1}
MAX_PRESSES = 100
SPECIAL = ("WAIT", "DONE", "FAIL")
# [^\S\n]: whitespace within the line. A \s* here spans newlines, and a search that
# tries it from every line start of a long run of newlines is quadratic.
_CALL_LINE = re.compile(r"^[^\S\n]*(?:pyautogui|computer|time)\.\w+\(.*\)[^\S\n]*$", re.M)


def key_name(value: Any) -> str:
    """A canonical key name, or a ParseError that names the unknown key."""
    if not isinstance(value, str):
        raise ParseError(f"a key must be a string, got {shown(value)}")
    try:
        return normalise_key(value)
    except UnknownKey:
        raise ParseError(f"unknown key {shown(value)}") from None


def key_names(values: Sequence[Any]) -> tuple[str, ...]:
    """Canonical names of a list of keys; more than MAX_ACTIONS is refused before
    any is looked up (a hotkey takes at most 8; the action says so)."""
    if len(values) > MAX_ACTIONS:
        raise ParseError(f"{len(values)} keys, more than {MAX_ACTIONS}")
    return tuple(key_name(k) for k in values)


class PyAutoGUICode(Dialect):
    """pyautogui calls with absolute coordinates in screenshot pixels."""

    name = "pyautogui"
    space = Space.PHYSICAL
    ndigits = 0  # how points are rounded when written back

    def system_prompt(self, *, screen: Size) -> str:
        return (
            "You are an agent that operates an Ubuntu desktop to complete the user's task.\n"
            f"The screenshot is {screen.width}x{screen.height} pixels; (0, 0) is its top-left "
            "corner.\nEach turn, think briefly, then reply with one ```python``` code block of "
            "pyautogui calls in screenshot pixels, for example:\n"
            "```python\npyautogui.click(x=100, y=200)\npyautogui.write('hello')\n```\n"
            "Allowed: click, doubleClick, tripleClick, rightClick, middleClick, moveTo, "
            "dragTo, mouseDown, mouseUp, scroll (positive = up), hscroll (positive = right), "
            "write, press, keyDown, keyUp, hotkey, and time.sleep. Use literal arguments only; "
            "no variables, loops or imports of other modules.\n"
            "Instead of code you may reply ```WAIT``` to wait, ```DONE``` when the task is "
            "complete, or ```FAIL``` when it cannot be done."
        )

    def grounding_messages(self, instruction: str, *, image: Size) -> list[dict]:
        # The pyautogui grounding prompt of OSWorld-G's evaluation (written for Aguvis),
        # with the screenshot's size, since this dialect's points are its pixels.
        system = ("You are a GUI agent. You are given a task and a screenshot of the screen. "
                  "You need to perform pyautogui click/moveTo action to complete the task.")
        task = (f"The screenshot is {image.width}x{image.height} pixels; give x and y in its pixels.\n"
                f"Please complete the following tasks by clicking using `pyautogui.click`:\n{instruction}")
        return [{"role": "system", "content": system}, {"role": "user", "content": image_and_text(task)}]

    # --- parsing ---------------------------------------------------------------------

    def parse(self, text: str, frame: Frame) -> list[Action]:
        text = strip_thinking(text)
        blocks = [body for _, body in fenced_blocks(text)]
        if not blocks:
            bare = text.strip().strip("`").strip()
            blocks = [bare] if bare in SPECIAL else [_code_in_prose(text)]
        actions: list[Action] = []
        for body in blocks:
            # WAIT / DONE / FAIL may stand on their own line between code lines.
            for chunk in re.split(r"^[ \t]*(WAIT|DONE|FAIL)[ \t]*$", body, flags=re.M):
                if chunk in SPECIAL:
                    actions.append(make({"type": chunk.lower()}))
                elif chunk.strip():
                    actions.extend(self.actions_of(read_calls(chunk, PYAUTOGUI_CALLS), frame))
                if len(actions) > MAX_ACTIONS:  # stop reading: parse refuses this many anyway
                    raise ParseError(f"more than {MAX_ACTIONS} actions in one answer")
        return actions

    def point(self, x: Any, y: Any, frame: Frame) -> tuple[float, float]:
        """A point as written in the code, in screen pixels."""
        return self.to_screen(x, y, frame)

    def actions_of(self, calls: list[Call], frame: Frame) -> list[Action]:
        out: list[Action] = []
        for call in calls:
            try:
                out.extend(self._action(call, frame))
            except ParseError as err:
                if err.snippet is None:  # say which call the argument belongs to
                    raise ParseError(err.reason, snippet=call.snippet, line=call.line) from None
                raise
            if len(out) > MAX_PRESSES:
                raise ParseError(f"more than {MAX_PRESSES} actions", line=call.line)
        return out

    def _xy(self, a: dict[str, Any], frame: Frame) -> dict[str, float]:
        x, y = a.get("x"), a.get("y")
        if isinstance(x, tuple) and y is None:  # click((x, y))
            if len(x) != 2:
                raise ParseError(f"a point needs 2 numbers, got {len(x)}")
            x, y = x
        if x is None and y is None:
            return {}
        if x is None or y is None:
            raise ParseError("x and y must be given together")
        sx, sy = self.point(x, y, frame)
        return {"x": sx, "y": sy}

    def _action(self, call: Call, frame: Frame) -> list[Action]:
        fn = call.name.rsplit(".", 1)[1]
        if fn == "hotkey":
            extra = set(call.kwargs) - {"interval", "keys"}
            if extra:
                raise ParseError(f"hotkey has no argument {sorted(extra)[0]}")
            keys = call.args[0] if len(call.args) == 1 and isinstance(call.args[0], tuple) else call.args
            if "keys" in call.kwargs:  # hotkey(keys=[...]): not pyautogui's, but models write it
                if keys:
                    raise ParseError("hotkey got keys both by position and as keys=")
                kw = call.kwargs["keys"]
                keys = kw if isinstance(kw, tuple) else (kw,)
            if not keys:
                raise ParseError("hotkey needs at least one key")
            return [make({"type": "hotkey", "keys": key_names(keys)})]
        a = bind(call, _PARAMS[fn])
        button = a.get("button") or "left"
        if fn in _COUNTS:
            count = integer(a.get("clicks", 1), "clicks") if fn == "click" else _COUNTS[fn]
            button = {"rightClick": "right", "middleClick": "middle"}.get(fn, button)
            if count == 0:
                return []
            return [make({"type": "click", "button": button, "count": count, **self._xy(a, frame)})]
        if fn == "moveTo":
            return [Move(**self._need_xy(a, frame, fn))]
        if fn == "dragTo":
            kind = "drag" if a.get("mouseDownUp", True) is not False else "move"
            extra = {"button": button} if kind == "drag" else {}
            return [make({"type": kind, **self._need_xy(a, frame, fn), **extra})]
        if fn in ("mouseDown", "mouseUp"):
            point = self._xy(a, frame)
            kind = "mouse_down" if fn == "mouseDown" else "mouse_up"
            return ([Move(**point)] if point else []) + [make({"type": kind, "button": button})]
        if fn in ("scroll", "hscroll"):
            clicks = integer(_required(a, "clicks", fn), "clicks")
            axis = "dy" if fn == "scroll" else "dx"
            return [make({"type": "scroll", axis: clicks, **self._xy(a, frame)})]
        if fn in ("write", "typewrite"):
            message = _required(a, "message", fn)
            if isinstance(message, tuple):  # typewrite(['a', 'enter']) presses keys
                return [Key(key=k) for k in key_names(message)]
            if not isinstance(message, str):
                raise ParseError(f"{fn} needs a string, got {shown(message)}")
            return [make({"type": "type", "text": message})]
        if fn == "press":
            keys = _required(a, "keys", fn)
            keys = keys if isinstance(keys, tuple) else (keys,)
            presses = integer(a.get("presses", 1), "presses")
            if not 0 <= presses * len(keys) <= MAX_PRESSES:
                raise ParseError(f"presses must be 0..{MAX_PRESSES}, got {presses}")
            names = key_names(keys)
            return [Key(key=k) for _ in range(presses) for k in names]
        if fn in ("keyDown", "keyUp"):
            key = key_name(_required(a, "key", fn))
            return [KeyDown(key=key) if fn == "keyDown" else KeyUp(key=key)]
        if fn in ("wait", "sleep"):
            seconds = a.get("seconds")
            if seconds is None and fn == "wait":
                return [Wait()]
            return [make({"type": "wait", "seconds": number(_required(a, "seconds", fn), "seconds")})]
        if fn == "terminate":
            status = str(a.get("status", "success")).lower()
            answer = a.get("answer")
            if answer is not None and not isinstance(answer, str):
                answer = str(answer)
            if status == "success":
                return [make({"type": "done", "answer": answer})]
            if status in ("failure", "fail", "failed"):
                return [make({"type": "fail", "reason": answer})]
            raise ParseError(f"terminate status must be 'success' or 'failure', got {shown(status)}")
        raise ParseError(f"{call.name} is not supported")  # pragma: no cover - whitelist guards

    def _need_xy(self, a: dict[str, Any], frame: Frame, fn: str) -> dict[str, float]:
        point = self._xy(a, frame)
        if not point:
            raise ParseError(f"{fn} needs x and y")
        return point

    # --- writing back ----------------------------------------------------------------

    def format_history_step(self, thought: str | None, actions: Sequence[Action], frame: Frame) -> str:
        code = "\n".join(self.code_of(a, frame) for a in actions) or "# (no action)"
        head = f"{thought.strip()}\n" if thought else ""
        return f"{head}```python\n{code}\n```"

    def special(self, action: Action) -> str | None:
        """How this dialect writes waits and endings."""
        match action:
            case Wait(seconds=s):
                return f"time.sleep({s!r})"
            case Done():
                return "DONE"
            case Fail():
                return "FAIL"
        return None

    def code_of(self, action: Action, frame: Frame) -> str:
        """One action as a line of pyautogui code in this dialect's space."""
        special = self.special(action)
        if special is not None:
            return special

        def at(x: float | None, y: float | None) -> str:
            if x is None or y is None:
                return ""
            px, py = self.from_screen(x, y, frame, self.ndigits)
            return f"x={px}, y={py}"

        def args(*parts: str) -> str:
            return ", ".join(p for p in parts if p)

        match action:
            case Move(x=x, y=y):
                return f"pyautogui.moveTo({at(x, y)})"
            case Click(button="left", count=n, x=x, y=y):
                fn = {1: "click", 2: "doubleClick", 3: "tripleClick"}[n]
                return f"pyautogui.{fn}({at(x, y)})"
            case Click(button=b, count=1, x=x, y=y):
                return f"pyautogui.{b}Click({at(x, y)})"
            case Click(button=b, count=n, x=x, y=y):
                return f"pyautogui.click({args(at(x, y), f'clicks={n}', f'button={b!r}')})"
            case MouseDown(button=b) | MouseUp(button=b):
                fn = "mouseDown" if isinstance(action, MouseDown) else "mouseUp"
                return f"pyautogui.{fn}(button={b!r})"
            case Drag(start_x=sx, start_y=sy, x=x, y=y, button=b):
                start = f"pyautogui.moveTo({at(sx, sy)})\n" if sx is not None else ""
                return f"{start}pyautogui.dragTo({args(at(x, y), f'button={b!r}')})"
            case Scroll(dx=dx, dy=dy, x=x, y=y):
                lines = []
                if dy or not dx:
                    lines.append(f"pyautogui.scroll({args(str(dy), at(x, y))})")
                if dx:
                    lines.append(f"pyautogui.hscroll({args(str(dx), at(x, y))})")
                return "\n".join(lines)
            case Type(text=t):
                return f"pyautogui.write({t!r})"
            case Key(key=k):
                return f"pyautogui.press({to_pyautogui(k)!r})"
            case KeyDown(key=k):
                return f"pyautogui.keyDown({to_pyautogui(k)!r})"
            case KeyUp(key=k):
                return f"pyautogui.keyUp({to_pyautogui(k)!r})"
            case Hotkey(keys=ks):
                return f"pyautogui.hotkey({', '.join(repr(to_pyautogui(k)) for k in ks)})"
        return f"# {action.type} (not expressible as pyautogui code)"


def _required(a: dict[str, Any], key: str, fn: str) -> Any:
    if a.get(key) is None:
        raise ParseError(f"{fn} needs {key}")
    return a[key]


def _code_in_prose(text: str) -> str:
    """Code lines found in an answer that has no fences (e.g. a grounding answer)."""
    lines = [m.group(0).strip() for m in _CALL_LINE.finditer(text)]
    if lines:
        return "\n".join(lines)
    # Maybe the whole answer is code; read_calls will say what is wrong if not.
    return text.strip()
