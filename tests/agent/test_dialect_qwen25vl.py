"""Golden tests of the Qwen2.5-VL computer_use tool calls (resized-image pixels)."""

import json

import pytest

from kimicua.agent.dialects import get_dialect
from kimicua.agent.parser import ParseError, parse
from kimicua.env.actions import Click, Done, Drag, Fail, Hotkey, Key, Move, Scroll, Type, Wait
from kimicua.env.geometry import Frame, Size

# The back end resized the 1920x1080 screenshot to 1288x728 (centre = 644, 364).
FRAME = Frame(Size(1920, 1080), image=Size(1288, 728))


def call(**arguments) -> str:
    return f"<tool_call>\n{json.dumps({'name': 'computer_use', 'arguments': arguments})}\n</tool_call>"


@pytest.mark.parametrize(
    "text, expected",
    [
        (call(action="left_click", coordinate=[644, 364]), [Click(x=960.0, y=540.0)]),
        (call(action="right_click", coordinate=[0, 0]), [Click(x=0.0, y=0.0, button="right")]),
        (call(action="middle_click", coordinate=[1288, 728]),
         [Click(x=1920.0, y=1080.0, button="middle")]),
        (call(action="double_click", coordinate=[644, 364]), [Click(x=960.0, y=540.0, count=2)]),
        (call(action="mouse_move", coordinate=[322, 182]), [Move(x=480.0, y=270.0)]),
        (call(action="left_click_drag", coordinate=[644, 364]), [Drag(x=960.0, y=540.0)]),
        (call(action="key", keys=["ctrl", "c"]), [Hotkey(keys=("ctrl", "c"))]),
        (call(action="key", keys=["Return"]), [Key(key="enter")]),
        (call(action="key", keys=["ctrl+s"]), [Hotkey(keys=("ctrl", "s"))]),
        (call(action="type", text="héllo <b>"), [Type(text="héllo <b>")]),
        (call(action="scroll", pixels=-3), [Scroll(dy=-3)]),
        (call(action="scroll", pixels=5, coordinate=[644, 364]), [Scroll(dy=5, x=960.0, y=540.0)]),
        (call(action="wait", time=2), [Wait(seconds=2.0)]),
        (call(action="terminate", status="success"), [Done()]),
        (call(action="terminate", status="failure"), [Fail()]),
        ("I will open the menu first.\n" + call(action="left_click", coordinate=[644, 364])
         + "\n" + call(action="type", text="x"), [Click(x=960.0, y=540.0), Type(text="x")]),
        # Double-encoded arguments, as some servers return them.
        ('<tool_call>{"name": "computer_use", "arguments": "{\\"action\\": \\"wait\\"}"}</tool_call>',
         [Wait()]),
        # No tags: a bare JSON object still reads.
        ('{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [644, 364]}}',
         [Click(x=960.0, y=540.0)]),
    ],
)
def test_calls(text, expected):
    assert parse(text, "qwen25vl", FRAME) == expected


def test_default_image_size_is_the_processors_smart_resize():
    assert get_dialect("qwen25vl").image_size(Size(1920, 1080)) == Size(1932, 1092)
    text = call(action="left_click", coordinate=[966, 546])
    assert parse(text, "qwen25vl", Frame(Size(1920, 1080))) == [Click(x=960.0, y=540.0)]


@pytest.mark.parametrize(
    "text, message",
    [
        (call(action="left_click", coordinate=[2000, 10]), "off-screen"),
        (call(action="left_click", coordinate=[644]), "coordinate"),
        (call(action="fly"), "unknown computer_use action 'fly'"),
        (call(action="key", keys=["hyper"]), "unknown key 'hyper'"),
        (call(action="scroll", pixels=1.5), "whole number"),
        (call(action="terminate", status="meh"), "status"),
        ("<tool_call>{not json}</tool_call>", "invalid JSON"),
        ('<tool_call>{"name": "shell", "arguments": {}}</tool_call>', "computer_use"),
        ("no tool call here", "no action found"),
    ],
)
def test_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse(text, "qwen25vl", FRAME)


def test_system_prompt_states_the_resized_resolution():
    prompt = get_dialect("qwen25vl").system_prompt(screen=Size(1920, 1080))
    assert "1932x1092" in prompt and "<tool_call>" in prompt
    tools = json.loads(prompt.split("<tools>\n")[1].split("\n</tools>")[0])
    assert tools["function"]["parameters"]["properties"]["action"]["enum"][0] == "key"


def test_history_round_trips():
    d = get_dialect("qwen25vl")
    actions = [Click(x=960.0, y=540.0), Type(text="a"), Hotkey(keys=("ctrl", "s")),
               Scroll(dy=-3, x=960.0, y=540.0), Wait(seconds=2.0), Fail(),
               Drag(x=960.0, y=540.0), Move(x=480.0, y=270.0)]
    text = d.format_history_step("Thinking.", actions, FRAME)
    assert d.thought(text) == "Thinking."
    assert parse(text, d, FRAME) == actions
