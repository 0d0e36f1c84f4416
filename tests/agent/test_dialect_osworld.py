"""Golden tests of OSWorld's two action spaces: pyautogui code and computer_13 JSON."""

import json

import pytest

from kimicua.agent.dialects import get_dialect
from kimicua.agent.parser import ParseError, parse
from kimicua.env.actions import (
    Click, Done, Drag, Fail, Hotkey, Key, KeyDown, MouseDown, MouseUp, Move, Scroll, Type, Wait,
)
from kimicua.env.geometry import Frame, Size

FHD = Frame(Size(1920, 1080))
HIDPI = Frame(Size(1280, 800), physical=Size(2560, 1600))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("```python\nimport pyautogui\nimport time\npyautogui.click(960, 540)\ntime.sleep(0.5)\n"
         "pyautogui.write('hi')\n```", [Click(x=960.0, y=540.0), Wait(seconds=0.5), Type(text="hi")]),
        ("I will wait.\n```\nWAIT\n```", [Wait()]),
        ("```DONE```", [Done()]),
        ("FAIL", [Fail()]),
        ("pyautogui.mouseDown(100, 200, button='left')\npyautogui.mouseUp()",
         [Move(x=100.0, y=200.0), MouseDown(), MouseUp()]),
        ("pyautogui.dragTo(100, 200, button='right')", [Drag(x=100.0, y=200.0, button="right")]),
        ("pyautogui.dragTo(100, 200, mouseDownUp=False)", [Move(x=100.0, y=200.0)]),
        ("pyautogui.click(1920, 1080)", [Click(x=1920.0, y=1080.0)]),
    ],
)
def test_pyautogui(text, expected):
    assert parse(text, "pyautogui", FHD) == expected


def test_pyautogui_pixels_are_screenshot_pixels():
    # On a 2x screen the screenshot is 2560 wide: pixel 1280 is logical 640.
    assert parse("pyautogui.click(1280, 800)", "pyautogui", HIDPI) == [Click(x=640.0, y=400.0)]


def test_pyautogui_rejects_imports_of_other_modules_and_relative_coords_mean_pixels():
    with pytest.raises(ParseError, match="import"):
        parse("```python\nimport subprocess\n```", "pyautogui", FHD)
    with pytest.raises(ParseError, match="off-screen"):
        parse("pyautogui.click(1921, 5)", "pyautogui", FHD)
    # 0.5 is half a pixel here, not half the screen.
    assert parse("pyautogui.click(0.5, 0.5)", "pyautogui", FHD) == [Click(x=0.5, y=0.5)]


@pytest.mark.parametrize(
    "value, expected",
    [
        ({"action_type": "CLICK", "parameters": {"x": 960, "y": 540, "num_clicks": 2}},
         [Click(x=960.0, y=540.0, count=2)]),
        ({"action_type": "RIGHT_CLICK", "parameters": {}}, [Click(button="right")]),
        ({"action_type": "MOVE_TO", "x": 10, "y": 20}, [Move(x=10.0, y=20.0)]),
        ({"action_type": "DRAG_TO", "parameters": {"x": 10, "y": 20}}, [Drag(x=10.0, y=20.0)]),
        ({"action_type": "SCROLL", "parameters": {"dx": 0, "dy": -3}}, [Scroll(dy=-3)]),
        ({"action_type": "PRESS", "parameters": {"key": "esc"}}, [Key(key="escape")]),
        ({"action_type": "KEY_DOWN", "parameters": {"key": "shift"}}, [KeyDown(key="shift")]),
        ({"action_type": "HOTKEY", "parameters": {"keys": ["ctrl", "c"]}}, [Hotkey(keys=("ctrl", "c"))]),
        ({"action_type": "TYPING", "parameters": {"text": "a\nb"}}, [Type(text="a\nb")]),
        ([{"action_type": "TYPING", "parameters": {"text": "x"}}, "DONE"], [Type(text="x"), Done()]),
        ("WAIT", [Wait()]),
    ],
)
def test_computer13(value, expected):
    text = f"Next I act.\n```json\n{json.dumps(value)}\n```"
    assert parse(text, "computer13", FHD) == expected


def test_computer13_bare_json_special_strings_and_hidpi():
    assert parse('{"action_type": "CLICK", "parameters": {"x": 1280, "y": 800}}', "computer13",
                 HIDPI) == [Click(x=640.0, y=400.0)]
    assert parse("DONE", "computer13", FHD) == [Done()]


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"action_type": "CLICK", "parameters": {"x": 5000, "y": 1}}', "off-screen"),
        ('{"action_type": "PRESS", "parameters": {"key": "hyper"}}', "unknown key 'hyper'"),
        ('{"action_type": "LAUNCH", "parameters": {}}', "LAUNCH"),
        ('{"action_type": "CLICK", "parameters": 5}', "parameters must be an object"),
        ('{"action_type": "HOTKEY", "parameters": {"keys": 5}}', "keys must be a list"),
        ('{"action_type": "CLICK", "parameters": {"x": "a", "y": 1}}', "x must be a number"),
        ("click the button", "no computer_13 JSON"),
    ],
)
def test_computer13_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse(text, "computer13", FHD)


@pytest.mark.parametrize("name", ["pyautogui", "computer13"])
def test_history_round_trips(name):
    d = get_dialect(name)
    actions = [Click(x=960.0, y=540.0), Type(text="it's"), Hotkey(keys=("ctrl", "s")),
               Key(key="escape"), Scroll(dy=-3), Done()]
    text = d.format_history_step("Thinking.", actions, HIDPI)
    assert d.thought(text) == "Thinking."
    assert parse(text, d, HIDPI) == actions
