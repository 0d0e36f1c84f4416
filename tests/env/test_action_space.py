import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kimicua.env.actions import (
    ActionError, Back, Click, Done, Drag, Fail, Hotkey, Key, KeyDown, KeyUp, MouseDown,
    MouseUp, Move, Navigate, Scroll, Type, Wait, action_from_json, action_to_json, dumps,
    from_computer13, to_computer13,
)
from kimicua.env.keys import UnknownKey, normalise_key, to_playwright, to_pyautogui, to_xdotool

EXAMPLES = [
    Move(x=1, y=2),
    Click(x=10.5, y=20),
    Click(),
    Click(x=3, y=4, button="right"),
    Click(x=3, y=4, count=2),
    Click(x=3, y=4, count=3),
    Click(x=3, y=4, button="middle"),
    MouseDown(button="right"),
    MouseUp(),
    Drag(x=100, y=200),
    Drag(x=100, y=200, start_x=5, start_y=6),
    Scroll(dy=-3),
    Scroll(dx=2, dy=0, x=50, y=60),
    Type(text="a<b>c\nüñí 漢字"),
    Key(key="enter"),
    KeyDown(key="shift"),
    KeyUp(key="shift"),
    Hotkey(keys=("ctrl", "alt", "t")),
    Navigate(url="https://example.org/a?b=c"),
    Back(),
    Wait(seconds=0.5),
    Done(answer="42"),
    Fail(reason="impossible"),
]


@pytest.mark.parametrize("action", EXAMPLES, ids=lambda a: a.type)
def test_json_round_trip(action):
    data = action_to_json(action)
    assert json.loads(json.dumps(data)) == data
    assert action_from_json(data) == action
    assert action_from_json(dumps(action)) == action


@pytest.mark.parametrize("action", [a for a in EXAMPLES if not isinstance(a, (Navigate, Back))],
                         ids=lambda a: a.type)
def test_computer13_round_trip(action):
    items = to_computer13(action)
    assert all("action_type" in item for item in items)
    back = [from_computer13(item) for item in items]
    # A drag from a point or a positioned scroll becomes MOVE_TO + the action.
    assert back[-1].type == action.type
    # computer_13 has no answer, reason or wait length: those forms are lossy.
    if len(items) == 1 and not isinstance(action, (Done, Fail, Wait)):
        assert back[0] == action


def test_computer13_names_and_osworld_forms():
    assert to_computer13(Click(x=1, y=2, button="right")) == [
        {"action_type": "RIGHT_CLICK", "parameters": {"x": 1.0, "y": 2.0}}]
    assert to_computer13(Hotkey(keys=("super", "escape")))[0]["parameters"]["keys"] == ["win", "esc"]
    # OSWorld also writes parameters inline, and WAIT/DONE/FAIL as plain strings.
    assert from_computer13({"action_type": "CLICK", "x": 5, "y": 6, "num_clicks": 2}) == Click(x=5, y=6, count=2)
    assert from_computer13("WAIT") == Wait()
    assert isinstance(from_computer13({"action_type": "FAIL"}), Fail)
    with pytest.raises(ActionError, match="unknown computer_13 action_type 'ZOOM'"):
        from_computer13({"action_type": "ZOOM"})
    with pytest.raises(ActionError, match="navigate action has no computer_13 form"):
        to_computer13(Navigate(url="https://a.b"))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"type": "click", "x": math.nan, "y": 1}, "click.x: Input should be a finite number"),
        ({"type": "click", "x": math.inf, "y": 1}, "finite"),
        ({"type": "click", "x": 1}, "x and y must be given together"),
        ({"type": "click", "x": 1, "y": 1, "count": 4}, "count"),
        ({"type": "key", "key": "hyper-banana"}, "unknown key 'hyper-banana'"),
        ({"type": "hotkey", "keys": []}, "keys"),
        ({"type": "type", "text": "x" * 10_001}, "text"),
        ({"type": "type", "text": ""}, "text"),
        ({"type": "navigate", "url": "javascript:alert(1)"}, "unsupported URL scheme 'javascript'"),
        ({"type": "wait", "seconds": -1}, "seconds"),
        ({"type": "teleport"}, "invalid teleport action"),
        ({"type": "move", "x": 1, "y": 2, "z": 3}, "z: Extra inputs are not permitted"),
    ],
)
def test_invalid_actions_give_one_line_errors(data, message):
    with pytest.raises(ActionError) as err:
        action_from_json(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_actions_are_frozen():
    with pytest.raises(Exception):
        Click(x=1, y=2).x = 5


@pytest.mark.parametrize(
    "alias, canonical",
    [("Control", "ctrl"), ("CTRL", "ctrl"), ("ctrlleft", "ctrl"), ("cmd", "super"),
     ("win", "super"), ("Return", "enter"), ("esc", "escape"), ("PgDn", "pagedown"),
     ("ArrowUp", "up"), ("F5", "f5"), ("page-up", "pageup"), ("A", "A"), ("<", "<")],
)
def test_key_aliases(alias, canonical):
    assert normalise_key(alias) == canonical


def test_key_backends_cover_every_named_key():
    from kimicua.env.keys import KEYS

    for key in KEYS:
        assert to_pyautogui(key) and to_xdotool(key) and to_playwright(key)
    assert to_xdotool("<") == "less" and to_playwright("up") == "ArrowUp"
    with pytest.raises(UnknownKey):
        normalise_key("ctrl+c")


def test_hotkey_chord_letters_are_keys_not_shifted_letters():
    assert Hotkey(keys=("ctrl", "C")).keys == ("ctrl", "c")
    assert Key(key="C").key == "C"  # alone, 'C' is a capital letter


coords = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(x=coords, y=coords, button=st.sampled_from(["left", "right", "middle"]),
       count=st.integers(1, 3))
def test_click_round_trip_property(x, y, button, count):
    a = Click(x=x, y=y, button=button, count=count)
    assert action_from_json(dumps(a)) == a
    assert [from_computer13(d) for d in to_computer13(a)] == [a]
