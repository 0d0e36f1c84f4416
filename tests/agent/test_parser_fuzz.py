"""Fuzzing parse(): for any text, every dialect returns valid on-screen actions or
raises ParseError; nothing else escapes."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimicua.agent.dialects import DIALECTS
from kimicua.agent.dialects.uitars import CALLS as UITARS_CALLS
from kimicua.agent.dialects.qwen25vl import ACTIONS as QWEN_ACTIONS
from kimicua.agent.parser import ParseError, parse
from kimicua.agent.pycode import PYAUTOGUI_CALLS
from kimicua.env.actions import ACTION_TYPES
from kimicua.env.geometry import Frame, Size

FRAMES = [Frame(Size(1920, 1080)), Frame(Size(1280, 800), physical=Size(2560, 1600)),
          Frame(Size(1366, 768), image=Size(1008, 560))]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str, name: str, frame: Frame) -> None:
    try:
        actions = parse(text, name, frame)
    except ParseError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert actions and all(isinstance(a, ACTION_TYPES) for a in actions)
    for a in actions:  # nothing is ever clamped or left off-screen
        for kx, ky in (("x", "y"), ("start_x", "start_y")):
            x, y = getattr(a, kx, None), getattr(a, ky, None)
            if x is not None:
                assert 0 <= x <= frame.screen.width and 0 <= y <= frame.screen.height


NUMBERS = st.one_of(
    st.integers(-3000, 3000), st.floats(-2, 2, allow_nan=False), st.sampled_from(
        ["1e999", "-0.0", "10**9", "0x10", "1_000", "float('nan')", "True", "None", "2j"]),
)
STRINGS = st.one_of(
    st.sampled_from(["'enter'", "'ctrl'", "'hyper'", "'a'", "''", "'ctrl c'", "'(500,500)'",
                     "'<point>1 2</point>'", "'down'", "'success'", "'failure'", "\"it's\"",
                     "f'{x}'", "b'x'", "'\\ud800'", "'(1,2,3,4)'"]),
    st.text(max_size=8).map(repr),
)
ATOMS = st.one_of(NUMBERS.map(str), STRINGS, st.sampled_from(
    ["x", "os.environ", "*a", "**k", "open('f')", "lambda: 0", "[0.5, 0.5]", "(0.5,)", "...",
     "[i for i in x]", "-'a'", "not 1", "(0.5, 0.5)", "{1: 2}"]))
KEYWORDS = st.sampled_from(["x", "y", "clicks", "button", "keys", "presses", "message", "status",
                            "answer", "seconds", "start_box", "end_box", "key", "content",
                            "direction", "interval", "mouseDownUp", "bogus"])


@st.composite
def call_code(draw, names):
    name = draw(st.sampled_from(sorted(names)))
    args = draw(st.lists(ATOMS, max_size=4))
    kwargs = draw(st.lists(st.tuples(KEYWORDS, ATOMS), max_size=3))
    parts = args + [f"{k}={v}" for k, v in kwargs]
    return f"{name}({', '.join(parts)})"


@FUZZ
@given(text=st.text(max_size=300), name=st.sampled_from(sorted(DIALECTS)),
       frame=st.sampled_from(FRAMES))
def test_random_text(text, name, frame):
    check(text, name, frame)


@FUZZ
@given(lines=st.lists(call_code(PYAUTOGUI_CALLS), min_size=1, max_size=4),
       name=st.sampled_from(["kimi", "pyautogui"]), frame=st.sampled_from(FRAMES),
       wrap=st.sampled_from(["## Code\n```python\n{}\n```", "{}", "◁think▷x◁/think▷```\n{}\n```"]))
def test_near_valid_pyautogui_code(lines, name, frame, wrap):
    check(wrap.format("\n".join(lines)), name, frame)


@FUZZ
@given(lines=st.lists(call_code(UITARS_CALLS), min_size=1, max_size=3),
       name=st.sampled_from(["uitars", "uitars1"]), frame=st.sampled_from(FRAMES))
def test_near_valid_uitars(lines, name, frame):
    check("Thought: t\nAction: " + "\n\n".join(lines), name, frame)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5000, 5000), st.floats(allow_nan=False),
              st.sampled_from(["ctrl", "enter", "hyper", "success", "x", "CLICK", "DONE", ""])),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["x", "y", "keys", "key", "text", "coordinate", "pixels", "time",
                         "status", "button", "num_clicks", "dx", "dy", "action"]), children,
        max_size=3),
    max_leaves=8,
)


@FUZZ
@given(action=st.sampled_from(list(QWEN_ACTIONS) + ["fly"]),
       args=st.dictionaries(st.sampled_from(["coordinate", "keys", "text", "pixels", "time",
                                             "status", "start_coordinate"]), JSON_VALUES, max_size=3),
       frame=st.sampled_from(FRAMES))
def test_near_valid_qwen(action, args, frame):
    body = json.dumps({"name": "computer_use", "arguments": {"action": action, **args}})
    check(f"<tool_call>{body}</tool_call>", "qwen25vl", frame)


@FUZZ
@given(kind=st.sampled_from(["MOVE_TO", "CLICK", "MOUSE_DOWN", "MOUSE_UP", "RIGHT_CLICK",
                             "DOUBLE_CLICK", "DRAG_TO", "SCROLL", "TYPING", "PRESS", "KEY_DOWN",
                             "KEY_UP", "HOTKEY", "WAIT", "FAIL", "DONE", "JUMP"]),
       params=JSON_VALUES, frame=st.sampled_from(FRAMES))
def test_near_valid_computer13(kind, params, frame):
    check(json.dumps({"action_type": kind, "parameters": params}), "computer13", frame)


def test_the_fuzzers_reach_valid_actions():
    # The generators are only useful if some of their outputs parse: spot-check one of each.
    check_ok = [("pyautogui.click(x=0.5, y=0.5)", "kimi"), ("Action: wait()", "uitars1"),
                ('{"action_type": "WAIT", "parameters": {}}', "computer13")]
    for text, name in check_ok:
        assert parse(text, name, FRAMES[0])
