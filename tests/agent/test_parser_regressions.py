"""Inputs that once made parse() raise something other than ParseError, or stall
(issue 8; their speed is measured in benchmarks/parse.py, not asserted here)."""

import pytest

from kimicua.agent.dialects import DIALECTS
from kimicua.agent.dialects.base import Dialect
from kimicua.agent.parser import MAX_TEXT, ParseError, parse
from kimicua.env.geometry import Frame, Size, Space

FHD = Frame(Size(1920, 1080))
NINES = "9" * 400
HUGE_HEX = "0x" + "f" * 5000  # 20,000 bits: repr() of it raises ValueError


def refused(text: str, dialect: str, message: str = "") -> ParseError:
    with pytest.raises(ParseError) as err:
        parse(text, dialect, FHD)
    assert err.value.__cause__ is None, f"a {type(err.value.__cause__).__name__} reached parse's guard"
    assert message in str(err.value) and "\n" not in str(err.value)
    return err.value


@pytest.mark.parametrize("name", ["uitars", "uitars1"])
@pytest.mark.parametrize(
    "box, message",
    [
        ("'(abc,def)'", "expected a point"),
        ("(1, 'a', 2, 'b')", "y must be a number"),  # was TypeError: 'a' + 'b' / 2
        ("(None, None, 1, 2)", "x must be a number"),
        ("((1, 2), 3, (4, 5), 6)", "x must be a number"),
        (f"'({NINES},5)'", "x must be finite"),  # float('9' * 400) is inf
        (f"'({NINES},5,{NINES},5)'", "x must be finite"),
        ("(" + "9" * 308 + ", 5, " + "9" * 308 + ", 5)", "x must be finite"),  # was OverflowError
        (f"({NINES}, 5, {NINES}, 5)", "number is too large"),  # was OverflowError
        (f"({HUGE_HEX}, 1)", "number is too large"),  # was ValueError
        ("'<point>1e999 5</point>'", "expected a point"),
    ],
)
def test_uitars_boxes(name, box, message):
    refused(f"Thought: t\nAction: click(start_box={box})", name, message)


NINE_KEYS = ["ctrl", "shift", "alt", "a", "b", "c", "d", "e", "f"]
NINE_KEY_HOTKEYS = {
    "kimi": "## Code\n```python\npyautogui.hotkey({})\n```".format(", ".join(map(repr, NINE_KEYS))),
    "pyautogui": "```python\npyautogui.hotkey({})\n```".format(", ".join(map(repr, NINE_KEYS))),
    "uitars": f"Action: hotkey(key='{' '.join(NINE_KEYS)}')",
    "uitars1": f"Action: hotkey(key='{'+'.join(NINE_KEYS)}')",
    "qwen25vl": '<tool_call>{"name": "computer_use", "arguments": {"action": "key", "keys": %s}}'
                "</tool_call>" % str(NINE_KEYS).replace("'", '"'),
    "computer13": '{"action_type": "HOTKEY", "parameters": {"keys": %s}}' % str(NINE_KEYS).replace("'", '"'),
}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_nine_key_hotkey(name):
    # Section 3: a pydantic ValidationError escaped and ended the episode as an error.
    refused(NINE_KEY_HOTKEYS[name], name, "at most 8")


@pytest.mark.parametrize("name", sorted(DIALECTS))
@pytest.mark.parametrize(
    "text",
    [
        "\n" * 60_000 + "x",  # _code_in_prose: ^\s* from every line start, 17-71 s
        "<think>" * 14_000,  # <think>.*?</think> from every unclosed tag, 5 s
        "◁think▷" * 14_000,
        "```" + " " * 99_000 + "x",  # the fence regex backtracked over the spaces per position
        "```" + " " * 50_000 + "\n" + "x" * 49_000,
        "``` ```" * 14_000,  # thousands of code blocks
        "<tool_call></tool_call>" * 4_000,
        "Action: wait()\n" * 6_000,  # ast.get_source_segment re-splits the code per call
        "Action:" + " " * 99_000 + "x",  # textwrap.dedent compiles the margin into a regex
        "## Thought" + " " * 99_000 + "\nx",  # [ \t]*:?[ \t]*$ splits the blanks n ways: 25 s
        "[" * MAX_TEXT,
        "[1," * 33_000,
    ],
    ids=["newlines", "think", "kimi-think", "fence-spaces", "fence-spaces-nl", "fences",
         "tool-calls", "action-lines", "margin", "section-blanks", "brackets", "nested-lists"],
)
def test_pathological_text(text, name):
    refused(text[:MAX_TEXT], name)


@pytest.mark.parametrize(
    "code, message",
    [
        (f"pyautogui.click(x={HUGE_HEX}, y=1)", "number is too large"),
        (f"pyautogui.click(x=-{HUGE_HEX}, y=1)", "number is too large"),
        (f"pyautogui.press({HUGE_HEX})", "number is too large"),
        ("pyautogui.hotkey(" + "'a'," * 4_000 + ")", "4000 keys, more than 100"),
        ("pyautogui.press('a')\n" * 101, "101 statements"),
        ("WAIT\n" * 500, "more than 100 actions"),
    ],
)
@pytest.mark.parametrize("name", ["kimi", "pyautogui"])
def test_code(code, message, name):
    refused(f"```python\n{code}\n```", name, message)


@pytest.mark.parametrize(
    "text, name",
    [
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "wait"}}</tool_call>' * 101,
         "qwen25vl"),
        ('[%s]' % ", ".join(['"WAIT"'] * 5000), "computer13"),
        # Nested to near the recursion limit: json.dumps of it for the message can fail too.
        ('{"action_type": %s}' % ("[" * 980 + "]" * 980), "computer13"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": %s}}</tool_call>'
         % ("[" * 980 + "]" * 980), "qwen25vl"),
    ],
)
def test_json(text, name):
    refused(text, name)


@pytest.mark.parametrize(
    "text, name",
    [
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "type", "text": "a\\ud800"}}'
         "</tool_call>", "qwen25vl"),
        ('{"action_type": "PRESS", "parameters": {"key": "\\ud800"}}', "computer13"),
        ("Action: type(content='it's \ud800')", "uitars"),
    ],
)
def test_lone_surrogates_are_escaped_in_the_message(text, name):
    # JSON "\ud800" decodes to a lone surrogate; quoted back into the message, it made
    # the message unwritable as UTF-8 (a trajectory line, a log).
    err = refused(text, name)
    assert "\\ud800" in str(err)
    str(err).encode("utf-8")


class Broken(Dialect):
    name = "broken"
    space = Space.LOGICAL

    def system_prompt(self, *, screen):
        return ""

    def parse(self, text, frame):
        return [1 / 0]

    def format_history_step(self, thought, actions, frame):
        return ""


def test_an_unexpected_exception_becomes_a_parse_error_naming_it():
    with pytest.raises(ParseError) as err:
        parse("anything", Broken(), FHD)
    assert str(err.value) == "broken: unexpected ZeroDivisionError while parsing: division by zero"
    assert isinstance(err.value.__cause__, ZeroDivisionError)  # kept for the traceback
