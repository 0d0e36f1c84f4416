"""The action space: one typed, frozen, JSON-serialisable union.

Every parser produces these and every controller consumes them. Coordinates are
screen logical pixels (floats; the geometry module is the only place that converts
into them). Scroll follows pyautogui and OSWorld: positive ``dy`` scrolls up,
positive ``dx`` scrolls right, in wheel clicks.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlparse

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic import model_validator

from kimicua.env.keys import normalise_key, to_pyautogui

MAX_COORD = 1_000_000.0
MAX_TEXT = 10_000
MAX_WAIT_S = 60.0

Coord = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_COORD, le=MAX_COORD)]
KeyName = Annotated[str, AfterValidator(normalise_key)]
Button = Literal["left", "right", "middle"]


def _check_url(url: str) -> str:
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https", "file", "about", "data", "chrome"):
        raise ValueError(f"unsupported URL scheme {scheme!r} in {url!r}")
    return url


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _OptionalPoint(_Action):
    x: Coord | None = None
    y: Coord | None = None

    @model_validator(mode="after")
    def _both_or_neither(self):
        if (self.x is None) != (self.y is None):
            raise ValueError("x and y must be given together")
        return self


class Move(_Action):
    type: Literal["move"] = "move"
    x: Coord
    y: Coord


class Click(_OptionalPoint):
    """A click at (x, y), or where the pointer is when x/y are None."""

    type: Literal["click"] = "click"
    button: Button = "left"
    count: int = Field(1, ge=1, le=3)


class MouseDown(_Action):
    type: Literal["mouse_down"] = "mouse_down"
    button: Button = "left"


class MouseUp(_Action):
    type: Literal["mouse_up"] = "mouse_up"
    button: Button = "left"


class Drag(_Action):
    """Press at start (or the pointer's position), move to end, release."""

    type: Literal["drag"] = "drag"
    x: Coord
    y: Coord
    start_x: Coord | None = None
    start_y: Coord | None = None
    button: Button = "left"

    @model_validator(mode="after")
    def _start_both_or_neither(self):
        if (self.start_x is None) != (self.start_y is None):
            raise ValueError("start_x and start_y must be given together")
        return self


class Scroll(_OptionalPoint):
    type: Literal["scroll"] = "scroll"
    dx: int = Field(0, ge=-1000, le=1000)
    dy: int = Field(0, ge=-1000, le=1000)


class Type(_Action):
    type: Literal["type"] = "type"
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class Key(_Action):
    type: Literal["key"] = "key"
    key: KeyName


class KeyDown(_Action):
    type: Literal["key_down"] = "key_down"
    key: KeyName


class KeyUp(_Action):
    type: Literal["key_up"] = "key_up"
    key: KeyName


class Hotkey(_Action):
    type: Literal["hotkey"] = "hotkey"
    keys: tuple[KeyName, ...] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _letters_lower(self):
        # In a chord, "ctrl+C" means the C key, not shift+c.
        if len(self.keys) > 1 and any(k.isupper() for k in self.keys):
            object.__setattr__(self, "keys", tuple(k.lower() if len(k) == 1 else k for k in self.keys))
        return self


class Navigate(_Action):
    """Browser only."""

    type: Literal["navigate"] = "navigate"
    url: Annotated[str, Field(min_length=1, max_length=8192), AfterValidator(_check_url)]


class Back(_Action):
    type: Literal["back"] = "back"


class Forward(_Action):
    type: Literal["forward"] = "forward"


class Wait(_Action):
    type: Literal["wait"] = "wait"
    seconds: float = Field(1.0, ge=0.0, le=MAX_WAIT_S, allow_inf_nan=False)


class Done(_Action):
    type: Literal["done"] = "done"
    answer: str | None = Field(None, max_length=MAX_TEXT)


class Fail(_Action):
    type: Literal["fail"] = "fail"
    reason: str | None = Field(None, max_length=MAX_TEXT)


Action = Annotated[
    Union[
        Move, Click, MouseDown, MouseUp, Drag, Scroll, Type, Key, KeyDown, KeyUp,
        Hotkey, Navigate, Back, Forward, Wait, Done, Fail,
    ],
    Field(discriminator="type"),
]
ACTION_TYPES: tuple[type[_Action], ...] = Action.__origin__.__args__  # type: ignore[attr-defined]
TERMINAL = (Done, Fail)

_adapter: TypeAdapter[Action] = TypeAdapter(Action)


class ActionError(ValueError):
    """An action that does not validate, with a one-line reason."""


def _one_line(err: ValidationError, what: str) -> ActionError:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "action"
    return ActionError(f"invalid {what}: {loc}: {first['msg']}")


def action_from_json(data: dict[str, Any] | str) -> Action:
    """Validate a JSON object (or its text) into an Action."""
    try:
        if isinstance(data, str):
            return _adapter.validate_json(data)
        return _adapter.validate_python(data)
    except ValidationError as err:
        kind = data.get("type", "?") if isinstance(data, dict) else "action"
        raise _one_line(err, f"{kind} action") from None


def action_to_json(action: Action) -> dict[str, Any]:
    """The JSON object of an action (defaults included, so it reads on its own)."""
    return action.model_dump(mode="json")


def dumps(action: Action) -> str:
    return json.dumps(action_to_json(action), ensure_ascii=False, separators=(",", ":"))


# --- OSWorld computer_13 -------------------------------------------------------------


def to_computer13(action: Action) -> list[dict[str, Any]]:
    """OSWorld computer_13 dicts for an action (a drag from a point or a positioned
    scroll needs a MOVE_TO first, so this returns a list)."""

    def c13(kind: str, **params: Any) -> dict[str, Any]:
        return {"action_type": kind, "parameters": params}

    def xy(a: _OptionalPoint) -> dict[str, Any]:
        return {} if a.x is None else {"x": a.x, "y": a.y}

    match action:
        case Move(x=x, y=y):
            return [c13("MOVE_TO", x=x, y=y)]
        case Click(button="right", count=1):
            return [c13("RIGHT_CLICK", **xy(action))]
        case Click(button="left", count=2):
            return [c13("DOUBLE_CLICK", **xy(action))]
        case Click(button=button, count=count):
            return [c13("CLICK", button=button, num_clicks=count, **xy(action))]
        case MouseDown(button=b):
            return [c13("MOUSE_DOWN", button=b)]
        case MouseUp(button=b):
            return [c13("MOUSE_UP", button=b)]
        case Drag(start_x=None):
            return [c13("DRAG_TO", x=action.x, y=action.y)]
        case Drag():
            return [c13("MOVE_TO", x=action.start_x, y=action.start_y),
                    c13("DRAG_TO", x=action.x, y=action.y)]
        case Scroll(x=None):
            return [c13("SCROLL", dx=action.dx, dy=action.dy)]
        case Scroll():
            return [c13("MOVE_TO", x=action.x, y=action.y),
                    c13("SCROLL", dx=action.dx, dy=action.dy)]
        case Type(text=text):
            return [c13("TYPING", text=text)]
        case Key(key=k):
            return [c13("PRESS", key=to_pyautogui(k))]
        case KeyDown(key=k):
            return [c13("KEY_DOWN", key=to_pyautogui(k))]
        case KeyUp(key=k):
            return [c13("KEY_UP", key=to_pyautogui(k))]
        case Hotkey(keys=keys):
            return [c13("HOTKEY", keys=[to_pyautogui(k) for k in keys])]
        case Wait():
            return [c13("WAIT")]
        case Done():
            return [c13("DONE")]
        case Fail():
            return [c13("FAIL")]
    raise ActionError(f"{action.type} action has no computer_13 form")


_C13_SIMPLE = {"WAIT": {"type": "wait"}, "DONE": {"type": "done"}, "FAIL": {"type": "fail"}}


def from_computer13(item: dict[str, Any] | str) -> Action:
    """An Action from one OSWorld computer_13 dict (or the strings WAIT/DONE/FAIL)."""
    if isinstance(item, str):
        if item not in _C13_SIMPLE:
            raise ActionError(f"unknown computer_13 action {item!r}")
        return action_from_json(_C13_SIMPLE[item])
    if not isinstance(item, dict) or "action_type" not in item:
        raise ActionError(f"computer_13 action needs an 'action_type': {item!r:.80}")
    kind = item["action_type"]
    params = item.get("parameters")
    if params is None:
        params = {k: v for k, v in item.items() if k != "action_type"}
    p = dict(params)
    point = {k: p[k] for k in ("x", "y") if k in p}
    match kind:
        case "MOVE_TO":
            data = {"type": "move", **point}
        case "CLICK":
            data = {"type": "click", "button": p.get("button", "left"),
                    "count": p.get("num_clicks", 1), **point}
        case "RIGHT_CLICK":
            data = {"type": "click", "button": "right", **point}
        case "DOUBLE_CLICK":
            data = {"type": "click", "count": 2, **point}
        case "MOUSE_DOWN" | "MOUSE_UP":
            data = {"type": kind.lower(), "button": p.get("button", "left")}
        case "DRAG_TO":
            data = {"type": "drag", **point}
        case "SCROLL":
            data = {"type": "scroll", "dx": p.get("dx", 0), "dy": p.get("dy", 0)}
        case "TYPING":
            data = {"type": "type", "text": p.get("text")}
        case "PRESS":
            data = {"type": "key", "key": p.get("key")}
        case "KEY_DOWN" | "KEY_UP":
            data = {"type": kind.lower(), "key": p.get("key")}
        case "HOTKEY":
            data = {"type": "hotkey", "keys": p.get("keys")}
        case "WAIT" | "DONE" | "FAIL":
            data = dict(_C13_SIMPLE[kind])
        case _:
            raise ActionError(f"unknown computer_13 action_type {kind!r}")
    return action_from_json(data)


def is_terminal(action: Action) -> bool:
    return isinstance(action, TERMINAL)
