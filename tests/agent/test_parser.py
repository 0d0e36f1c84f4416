"""parse(): the safe reader refuses everything outside the whitelist, with a
one-line ParseError that says what and where."""

import pytest

from kimicua.agent.dialects import DIALECTS, get_dialect
from kimicua.agent.parser import MAX_TEXT, ParseError, parse
from kimicua.agent.pycode import read_calls
from kimicua.env.actions import Click
from kimicua.env.geometry import Frame, Size

FHD = Frame(Size(1920, 1080))


def fenced(code: str) -> str:
    return f"## Thought\nok\n## Code\n```python\n{code}\n```"


@pytest.mark.parametrize(
    "code, message",
    [
        ("import os", "not an import"),
        ("import pyautogui as p", "not an import"),
        ("from os import system", "not an import"),
        ("os.system('rm -rf /')", "call of os.system is not allowed"),
        ("__import__('os')", "call of __import__ is not allowed"),
        ("eval('1')", "call of eval is not allowed"),
        ("pyautogui.click(x=a, y=0.5)", "names are not allowed as arguments (a)"),
        ("pyautogui.click(x=pyautogui.size()[0])", "only literal arguments"),
        ("pyautogui.click(x=int(0.5), y=0.5)", "calls are not allowed as arguments"),
        ("pyautogui.write(f'{secret}')", "f-strings are not allowed"),
        ("pyautogui.click(*pts)", "*args are not allowed"),
        ("pyautogui.click(**kw)", "**kwargs are not allowed"),
        ("for i in range(3):\n    pyautogui.click()", "not a loop"),
        ("while True:\n    pass", "not a loop"),
        ("x = 0.5", "not an assignment"),
        ("[pyautogui.click() for _ in range(9)]", "only calls are allowed"),
        ("pyautogui.click(x=0.1+0.2, y=0.5)", "only literal arguments are allowed, not BinOp"),
        ("pyautogui.click(x=0.5, y=0.5, x=0.1)", "x"),
        ("pyautogui.locateOnScreen('a.png')", "call of pyautogui.locateOnScreen is not allowed"),
        ("pyautogui.click(x=lambda: 0, y=1)", "only literal arguments"),
        ("pyautogui.click(0.5, 0.5, clicks='x')", "clicks must be a number"),
        ("pyautogui.click(x=0.5)", "x and y must be given together"),
        ("pyautogui.click(x=True, y=0.5)", "x must be a number"),
        ("pyautogui.click(x=1e999, y=0.5)", "must be finite"),
        ("pyautogui.press('hyperdrive')", "unknown key 'hyperdrive'"),
        ("pyautogui.hotkey('ctrl', 'meh')", "unknown key 'meh'"),
        ("pyautogui.hotkey('ctrl', keys=['c'])", "both by position and as keys="),
        ("pyautogui.hotkey()", "at least one key"),
        ("pyautogui.press('a', presses=10**9)", "only literal arguments"),
        ("pyautogui.press('a', presses=1000000)", "presses must be"),
        ("pyautogui.scroll(1.5)", "whole number"),
        ("pyautogui.click(x=0.5, y=0.5, foo=1)", "has no argument foo"),
        ("pyautogui.write('')", "text"),
        ("time.sleep(3600)", "seconds"),
        ("pyautogui.click(x=0.5, y=0.5", "syntax error"),
    ],
)
def test_rejected(code, message):
    with pytest.raises(ParseError) as err:
        parse(fenced(code), "kimi", FHD)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("kimi: ")


def test_error_names_line_and_snippet():
    with pytest.raises(ParseError) as err:
        read_calls("pyautogui.click(x=0.1, y=0.1)\nimport subprocess\n")
    assert err.value.line == 2 and err.value.col == 1
    assert err.value.snippet == "import subprocess"


def test_no_op_imports_are_skipped():
    assert parse(fenced("import pyautogui\nimport time\npyautogui.click(0.5, 0.5)"), "kimi", FHD) == [
        Click(x=960.0, y=540.0)
    ]


@pytest.mark.parametrize("text", ["", "   \n", "## Thought\nhmm\n## Code\n```python\n```"])
@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_empty_answers(text, name):
    with pytest.raises(ParseError):
        parse(text, name, FHD)


def test_too_long_and_not_text():
    with pytest.raises(ParseError, match="more than"):
        parse("x" * (MAX_TEXT + 1), "kimi", FHD)
    with pytest.raises(ParseError, match="expected text"):
        parse(b"pyautogui.click()", "kimi", FHD)  # type: ignore[arg-type]


def test_too_many_actions():
    code = "\n".join(["pyautogui.press('a', presses=100)"] * 2)
    with pytest.raises(ParseError, match="more than 100"):
        parse(fenced(code), "kimi", FHD)


def test_dialect_by_object_and_unknown_name():
    kimi = get_dialect("kimi")
    assert parse(fenced("pyautogui.click(0.5, 0.5)"), kimi, FHD) == [Click(x=960.0, y=540.0)]
    with pytest.raises(ValueError, match="unknown dialect 'gpt'; known: .*kimi"):
        get_dialect("gpt")
