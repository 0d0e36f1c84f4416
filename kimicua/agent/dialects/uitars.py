"""UI-TARS: ``Thought: ...`` then ``Action: click(start_box='(x,y)')``.

UI-TARS 1.0 (``uitars1``) writes relative 0..1000 coordinates; 1.5 (``uitars``) writes
pixels of its own resized image (smart_resize, factor 28). Points may also come as
``<point>x y</point>``, ``<|box_start|>(x,y)<|box_end|>`` or a box (x1,y1,x2,y2),
whose centre is meant. The action line is read by the same safe reader as code.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from kimicua.agent.dialects.base import Dialect, image_and_text, make, smart_resize, strip_thinking
from kimicua.agent.dialects.pyautogui_code import key_names
from kimicua.agent.parser import MAX_ACTIONS, ParseError
from kimicua.agent.pycode import Call, bind, number, read_calls, shown
from kimicua.env.actions import (
    Action, Click, Done, Drag, Fail, Hotkey, Key, KeyDown, KeyUp, Move, Scroll, Type, Wait,
)
from kimicua.env.geometry import Frame, Size, Space
from kimicua.env.keys import to_pyautogui

CALLS = frozenset({
    "click", "left_single", "left_double", "right_single", "drag", "select", "hotkey",
    "press", "keydown", "keyup", "type", "scroll", "wait", "finished", "call_user",
    "hover", "mouse_move",
})
_POINT = ("start_box", "point", "start_point")
_END = ("end_box", "end_point")
_PARAMS = {
    "drag": _POINT + _END, "select": _POINT + _END, "hotkey": ("key", "hotkey"),
    "press": ("key",), "keydown": ("key",), "keyup": ("key",), "type": ("content",),
    "scroll": _POINT + ("direction",), "wait": (), "finished": ("content",), "call_user": (),
}
SCROLL_CLICKS = 5  # what UI-TARS's own OSWorld runner scrolls per step
WAIT_S = 5.0  # UI-TARS's prompt defines wait() as a 5 s pause
_NUM = re.compile(r"-?\d+(?:\.\d+)?")
_MARKUP = (
    (re.compile(r"<\|box_start\|>|<\|box_end\|>"), ""),
    (re.compile(r"<point>\s*(-?[\d.]+)[\s,]+(-?[\d.]+)\s*</point>"), r"(\1,\2)"),
    (re.compile(r"<bbox>\s*(-?[\d.]+)[\s,]+(-?[\d.]+)[\s,]+(-?[\d.]+)[\s,]+(-?[\d.]+)\s*</bbox>"),
     r"(\1,\2,\3,\4)"),
)
_ACTION = re.compile(r"^[ \t]*Action[ \t]*:[ \t]*", re.M)
_THOUGHT = re.compile(r"^[ \t]*Thought[ \t]*:", re.M)
# UI-TARS's grounding prompt (its README and deployment guide).
GROUNDING_PROMPT = ("Output only the coordinate of one point in your response. "
                    "What element matches the following task: {instruction}")
# A grounding answer that is only a point or a box, e.g. "(512,384)" or "[1, 2, 3, 4]".
_BARE_POINT = re.compile(r"[(\[]?[ \t]*(-?\d+(?:\.\d+)?(?:[ \t]*,[ \t]*-?\d+(?:\.\d+)?){1,3})[ \t]*[)\]]?")
_MAX_BARE = 200  # characters; a longer answer is not a bare point
# type()/finished() text with quotes the model did not escape, which ast cannot read.
_LOOSE_TEXT = re.compile(r"^\s*(type|finished)\(content=(['\"])(.*)\2\)\s*$", re.S)


class UITars(Dialect):
    """UI-TARS 1.5 (image pixels); ``UITars(version=1)`` is 1.0 (relative 0..1000)."""

    def __init__(self, version: int = 15):
        if version not in (1, 15):
            raise ValueError(f"UI-TARS version must be 1 or 15, got {version}")
        self.version = version
        self.name = "uitars1" if version == 1 else "uitars"
        self.space = Space.RELATIVE_1000 if version == 1 else Space.IMAGE

    def image_size(self, screenshot: Size) -> Size | None:
        if self.version == 1:
            return None
        return smart_resize(screenshot, min_pixels=100 * 28 * 28, max_pixels=16384 * 28 * 28)

    def system_prompt(self, *, screen: Size) -> str:
        unit = ("relative coordinates from 0 to 1000 on each axis" if self.version == 1
                else "pixels of the screenshot as you see it")
        return (
            "You are a GUI agent. You get a task and a series of screenshots with your past "
            "actions; decide the next action that moves the task forward.\n\n"
            "## Output format\nThought: ...\nAction: ...\n\n"
            "## Action space\n"
            "click(start_box='(x,y)')\nleft_double(start_box='(x,y)')\n"
            "right_single(start_box='(x,y)')\n"
            "drag(start_box='(x1,y1)', end_box='(x2,y2)')\n"
            "hotkey(key='ctrl c')  # keys separated by spaces, at most 3\n"
            "type(content='text')  # end the content with \\n to press Enter\n"
            "scroll(start_box='(x,y)', direction='down')  # or up, left, right\n"
            "wait()  # pause 5 s and look again\n"
            "finished(content='answer')  # the task is done\n"
            "call_user()  # the task cannot be done, or needs the user\n\n"
            f"## Note\nPoints are {unit}. Write one short paragraph of Thought, in the "
            "user's language, before each Action."
        )

    def grounding_messages(self, instruction: str, *, image: Size) -> list[dict]:
        return [{"role": "user", "content": image_and_text(GROUNDING_PROMPT.format(instruction=instruction))}]

    def grounding_answer(self, text: str) -> str:
        """UI-TARS answers its grounding prompt with a bare point ("(x,y)", "<point>x
        y</point>") or box: that becomes a click there; anything else is left as it is."""
        body = strip_thinking(text, strict=False).strip()
        if len(body) > _MAX_BARE:
            return text
        for pattern, repl in _MARKUP:
            body = pattern.sub(repl, body).strip()
        m = _BARE_POINT.fullmatch(body)
        if m is None or len(_NUM.findall(m.group(1))) not in (2, 4):
            return text
        return f"click(start_box='({m.group(1)})')"

    # --- parsing ---------------------------------------------------------------------

    def parse(self, text: str, frame: Frame) -> list[Action]:
        text = strip_thinking(text)
        m = _ACTION.search(text)
        # Several actions may each carry their own "Action:" prefix.
        body = dedent(_ACTION.sub("", text[m.end():] if m else text))
        for pattern, repl in _MARKUP:
            body = pattern.sub(repl, body)
        try:
            calls = read_calls(body.strip(), CALLS)
        except ParseError:
            loose = _LOOSE_TEXT.match(body)
            if loose is None:
                raise
            text_ = loose.group(3).replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"')
            calls = [Call(loose.group(1), (), {"content": text_}, 1, body.strip())]
        actions: list[Action] = []
        for call in calls:
            try:
                actions.extend(self._action(call, frame))
            except ParseError as err:
                raise ParseError(err.reason, snippet=call.snippet, line=call.line) from None
            if len(actions) > MAX_ACTIONS:  # stop building: parse refuses this many anyway
                raise ParseError(f"more than {MAX_ACTIONS} actions in one answer", line=call.line)
        return actions

    def _point(self, value: Any, frame: Frame) -> tuple[float, float]:
        # float() of a run of digits cannot fail (a long one is inf).
        raw = [float(n) for n in _NUM.findall(value)] if isinstance(value, str) else value
        if not isinstance(raw, tuple | list) or len(raw) not in (2, 4):
            raise ParseError(f"expected a point (x,y) or a box (x1,y1,x2,y2), got {shown(value)}")
        # Finite floats before any arithmetic: (a + c) / 2 of huge ints overflows, and of
        # strings or None raises TypeError.
        nums = [number(v, "xy"[i % 2]) for i, v in enumerate(raw)]
        if len(nums) == 4:  # a box means its centre
            nums = [(nums[0] + nums[2]) / 2, (nums[1] + nums[3]) / 2]
        return self.to_screen(nums[0], nums[1], frame)

    def _first(self, a: dict[str, Any], names: tuple[str, ...], frame: Frame) -> tuple[float, float] | None:
        value = next((a[n] for n in names if a.get(n) is not None), None)
        return None if value is None else self._point(value, frame)

    def _action(self, call: Call, frame: Frame) -> list[Action]:
        fn = call.name
        if fn in ("click", "left_single", "left_double", "right_single", "hover", "mouse_move"):
            point = self._first(bind(call, _POINT), _POINT, frame)
            if point is None:
                raise ParseError(f"{fn} needs start_box")
            x, y = point
            if fn in ("hover", "mouse_move"):
                return [Move(x=x, y=y)]
            count = 2 if fn == "left_double" else 1
            return [Click(x=x, y=y, count=count, button="right" if fn == "right_single" else "left")]
        a = bind(call, _PARAMS[fn])
        if fn in ("drag", "select"):
            start, end = self._first(a, _POINT, frame), self._first(a, _END, frame)
            if start is None or end is None:
                raise ParseError(f"{fn} needs start_box and end_box")
            return [Drag(start_x=start[0], start_y=start[1], x=end[0], y=end[1])]
        if fn in ("hotkey", "press", "keydown", "keyup"):
            combo = a.get("key") or a.get("hotkey")
            if not isinstance(combo, str) or not combo.strip():
                raise ParseError(f"{fn} needs key='...'")
            parts = combo.split() if combo.strip() else [combo]
            if len(parts) == 1 and len(parts[0]) > 1 and "+" in parts[0]:
                parts = parts[0].split("+")
            keys = key_names(parts)
            if fn == "keydown":
                return [KeyDown(key=k) for k in keys]
            if fn == "keyup":
                return [KeyUp(key=k) for k in keys]
            return [Key(key=keys[0])] if len(keys) == 1 else [make({"type": "hotkey", "keys": keys})]
        if fn == "type":
            content = a.get("content")
            if not isinstance(content, str) or not content:
                raise ParseError("type needs content='...'")
            # UI-TARS convention: a trailing newline submits, i.e. presses Enter.
            body, enter = (content[:-1], True) if content.endswith("\n") else (content, False)
            return ([make({"type": "type", "text": body})] if body else []) + (
                [Key(key="enter")] if enter else [])
        if fn == "scroll":
            direction = str(a.get("direction", "")).strip().lower()
            delta = {"up": ("dy", SCROLL_CLICKS), "down": ("dy", -SCROLL_CLICKS),
                     "left": ("dx", -SCROLL_CLICKS), "right": ("dx", SCROLL_CLICKS)}.get(direction)
            if delta is None:
                raise ParseError(f"scroll direction must be up, down, left or right, got {shown(direction, 20)}")
            point = self._first(a, _POINT, frame)
            where = {"x": point[0], "y": point[1]} if point else {}
            return [Scroll(**{delta[0]: delta[1]}, **where)]
        if fn == "wait":
            return [Wait(seconds=WAIT_S)]
        if fn == "finished":
            content = a.get("content")
            return [make({"type": "done", "answer": None if content in (None, "") else str(content)})]
        return [Fail(reason="call_user")]  # call_user: the model hands back to the user

    def thought(self, text: str) -> str | None:
        text = strip_thinking(text, strict=False)
        m = _ACTION.search(text)
        head = text[: m.start()] if m else ""
        t = _THOUGHT.search(head)
        head = head[t.end():] if t else head
        return head.strip() or None

    # --- writing back ----------------------------------------------------------------

    def format_history_step(self, thought: str | None, actions: Sequence[Action], frame: Frame) -> str:
        lines = "\n\n".join(self.action_text(a, frame) for a in actions) or "(no action)"
        return f"Thought: {(thought or '').strip()}\nAction: {lines}"

    def action_text(self, action: Action, frame: Frame) -> str:
        """One action as a UI-TARS action call."""

        def box(x: float, y: float) -> str:
            px, py = self.from_screen(x, y, frame)
            return f"'({px},{py})'"

        match action:
            case Click(x=None):
                pass
            case Click(button="left", count=1, x=x, y=y):
                return f"click(start_box={box(x, y)})"
            case Click(button="left", count=2, x=x, y=y):
                return f"left_double(start_box={box(x, y)})"
            case Click(button="right", count=1, x=x, y=y):
                return f"right_single(start_box={box(x, y)})"
            case Drag(start_x=sx, start_y=sy, x=x, y=y) if sx is not None:
                return f"drag(start_box={box(sx, sy)}, end_box={box(x, y)})"
            case Hotkey(keys=ks):
                return f"hotkey(key={' '.join(to_pyautogui(k) for k in ks)!r})"
            case Key(key=k):
                return f"hotkey(key={to_pyautogui(k)!r})"
            case Type(text=t):
                return f"type(content={t!r})"
            case Scroll(dx=dx, dy=dy, x=x, y=y):
                direction = ("up" if dy > 0 else "down") if dy else ("right" if dx > 0 else "left")
                where = f"start_box={box(x, y)}, " if x is not None else ""
                return f"scroll({where}direction='{direction}')"
            case Wait():
                return "wait()"
            case Done(answer=a):
                return f"finished(content={a or ''!r})"
            case Fail():
                return "call_user()"
            case Move(x=x, y=y):
                return f"hover(start_box={box(x, y)})"
        return f"# {action.type} (not expressible in UI-TARS actions)"


def dedent(text: str) -> str:
    """``textwrap.dedent`` without its cost: that compiles the common margin into a
    regex, which takes ~0.3 s for a margin of 100,000 spaces."""
    lines = text.split("\n")
    margins = [line[: len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip(" \t")]
    cut = _common_prefix(min(margins), max(margins)) if margins else 0
    return "\n".join(line[cut:] if line.strip(" \t") else "" for line in lines)


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix (of all strings between a and b too)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search: slices compare in C
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if a[:mid] == b[:mid] else (lo, mid - 1)
    return lo
