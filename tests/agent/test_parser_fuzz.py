"""Fuzzing parse(): for any text, every dialect returns valid on-screen actions or
raises ParseError; nothing else escapes."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimicua.agent.dialects import DIALECTS
from kimicua.agent.dialects.uitars import CALLS as UITARS_CALLS
from kimicua.agent.dialects.qwen25vl import ACTIONS as QWEN_ACTIONS
from kimicua.agent.parser import MAX_TEXT, ParseError, parse
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
        str(err).encode("utf-8")  # no lone surrogate: the message is written to trajectories
        # parse's guard turns any other exception into a ParseError with that cause:
        # a dialect bug, which the guard must not hide from these tests.
        assert err.__cause__ is None, f"{type(err.__cause__).__name__} escaped the dialect: {err}"
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
              st.sampled_from(["ctrl", "enter", "hyper", "success", "x", "CLICK", "DONE", "", "\ud800"])),
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


# --- issue 8: structured near-valid boxes, long key lists, pathological repetition ---

NUMBER_TEXT = st.one_of(
    st.integers(-100, 1100).map(str), st.floats(-10, 1100, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.integers(300, 400).map(lambda n: "9" * n),  # float() is inf; int() past float range
    st.integers(1000, 5000).map(lambda n: "0x" + "f" * n),  # past repr()'s 4300 digits
    st.sampled_from(["1e999", "-1e999", "nan", "inf", "NaN", "Infinity", "-0", ".", "-", "1.2.3",
                     "abc", "", "None", "True", "'a'", "(1, 2)", "[]", "1_000", "2j", "١٢"]),
)
BOX_FORMS = st.sampled_from([
    "'({0},{1})'", "'({0},{1},{2},{3})'", "({0}, {1})", "({0}, {1}, {2}, {3})", "[{0}, {1}]",
    "'<point>{0} {1}</point>'", "'<bbox>{0} {1} {2} {3}</bbox>'", "<point>{0} {1}</point>",
    "'<|box_start|>({0},{1})<|box_end|>'", "'({0} {1})'", "'{0},{1}'", "({0},)", "{0}",
])


@st.composite
def uitars_box_action(draw):
    def box():
        return draw(BOX_FORMS).format(*(draw(NUMBER_TEXT) for _ in range(4)))

    kind = draw(st.sampled_from(["click", "left_double", "drag", "scroll", "hover"]))
    if kind == "drag":
        return f"drag(start_box={box()}, end_box={box()})"
    if kind == "scroll":
        return f"scroll(start_box={box()}, direction='down')"
    return f"{kind}(start_box={box()})"


@settings(FUZZ, max_examples=300)  # cheap examples; the bad ones are a few percent of them
@given(action=uitars_box_action(), name=st.sampled_from(["uitars", "uitars1"]),
       frame=st.sampled_from(FRAMES))
def test_uitars_boxes(action, name, frame):
    check(f"Thought: t\nAction: {action}", name, frame)


JSON_NUMBER_TEXT = st.one_of(
    NUMBER_TEXT.filter(lambda t: not t.startswith(("0x", "'", "(", "None", "True", "2j"))),
    st.sampled_from(['"500"', "null", "true", "[1, 2]", "{}", "-Infinity", "1e400"]),
)


@FUZZ
@given(coords=st.lists(JSON_NUMBER_TEXT, max_size=5),
       action=st.sampled_from(["left_click", "mouse_move", "left_click_drag", "scroll", "wait"]),
       frame=st.sampled_from(FRAMES))
def test_qwen_coordinates(coords, action, frame):
    # Raw JSON text, so NaN, Infinity and 400-digit numbers reach the dialect as json reads them.
    args = f'"action": "{action}", "coordinate": [{", ".join(coords)}], "pixels": {coords[0] if coords else 1}'
    check(f'<tool_call>{{"name": "computer_use", "arguments": {{{args}}}}}</tool_call>', "qwen25vl", frame)


KEY_NAMES = st.sampled_from(["ctrl", "shift", "alt", "a", "C", "enter", "Return", "f4", "hyper",
                             "", " ", "ctrl+c", "+", "é", "win", "space", "'", "\udfff"])
KEY_LISTS = {
    "kimi": lambda ks: "## Code\n```python\npyautogui.hotkey({})\n```".format(", ".join(map(repr, ks))),
    "pyautogui": lambda ks: "pyautogui.press({!r})".format(list(ks)),
    "uitars": lambda ks: "Action: hotkey(key={!r})".format(" ".join(ks)),
    "uitars1": lambda ks: "Action: keydown(key={!r})".format("+".join(ks)),
    "qwen25vl": lambda ks: json.dumps({"name": "computer_use", "arguments": {"action": "key", "keys": ks}}),
    "computer13": lambda ks: json.dumps({"action_type": "HOTKEY", "parameters": {"keys": ks}}),
}


@FUZZ
@given(keys=st.one_of(st.lists(KEY_NAMES, max_size=12),
                      st.tuples(KEY_NAMES, st.integers(0, 3000)).map(lambda t: [t[0]] * t[1])),
       name=st.sampled_from(sorted(KEY_LISTS)))
def test_long_key_lists(keys, name):
    check(KEY_LISTS[name](keys), name, FRAMES[0])


UNITS = st.one_of(st.sampled_from([
    "\n", " ", "\t", "\r\n", "\u2028", "<think>", "</think>", "◁think▷", "◁/think▷", "<tool_call>",
    "</tool_call>", "<point>", "<point>1 2", "</point>", "<bbox>1 2 3", "<|box_start|>", "```", "```\n",
    "``` ", "`", "Action: ", "Action: wait()\n", "Thought: ", "## Code\n", "## Action\n", "{", "[",
    '{"a":', "[1,", '"', "'", "(", ")", "pyautogui.click(", "pyautogui.click(1, 2)\n", "WAIT\n",
    "time.sleep(1);", "9", "0x", "-", "é漢🙂", "\x00", "\ufeff", "\\", "#", "NaN,", "1e999,",
]), st.text(min_size=1, max_size=6))
WRAPS = st.sampled_from(["{}", "```\n{}", "Action: click(start_box='{}')", "<think>{}",
                         "## Code\n```python\n{}", '<tool_call>{{"name": "computer_use"{}',
                         "pyautogui.write('{}')", "{}\nAction: wait()", "{}```WAIT```"])


@settings(FUZZ, max_examples=60)
@given(unit=UNITS, fill=st.floats(0, 1), wrap=WRAPS, name=st.sampled_from(sorted(DIALECTS)))
def test_pathological_repetition(unit, fill, wrap, name):
    # Long runs of one fragment, up to the size cap: what made the quadratic regexes stall.
    text = wrap.format(unit * int(fill * MAX_TEXT / len(unit)))[:MAX_TEXT]
    check(text, name, FRAMES[0])
    thought = DIALECTS[name].thought(text)  # the episode loop reads the thought of every answer
    assert thought is None or isinstance(thought, str)


def test_the_fuzzers_reach_valid_actions():
    # The generators are only useful if some of their outputs parse: spot-check one of each.
    check_ok = [("pyautogui.click(x=0.5, y=0.5)", "kimi"), ("Action: wait()", "uitars1"),
                ('{"action_type": "WAIT", "parameters": {}}', "computer13"),
                ("Action: click(start_box='(500,500,600,600)')", "uitars1"),
                (KEY_LISTS["uitars1"](["ctrl", "c"]), "uitars1"), (KEY_LISTS["kimi"](["C"] * 8), "kimi")]
    for text, name in check_ok:
        assert parse(text, name, FRAMES[0])
