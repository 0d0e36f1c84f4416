"""The parser's linear-time text helpers give what the simple (quadratic or slow)
regexes and stdlib functions they replace gave, on short texts where those are fast."""

import ast
import re
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kimicua.agent.dialects.base import fenced_blocks, strip_thinking, without_fences
from kimicua.agent.dialects.computer13 import _without_json
from kimicua.agent.dialects.pyautogui_code import _CALL_LINE
from kimicua.agent.dialects.uitars import dedent
from kimicua.agent.parser import ParseError
from kimicua.agent.pycode import _Source

SETTINGS = settings(max_examples=150, deadline=None)


def texts(*pieces: str, max_size: int = 40):
    return st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)


# --- the references: the code before issue 8 ------------------------------------------

OLD_FENCE = re.compile(r"```[ \t]*(?:([\w+-]*)[ \t]*\n)?(.*?)```", re.S)
OLD_CALL_LINE = re.compile(r"^\s*(?:pyautogui|computer|time)\.\w+\(.*\)\s*$", re.M)
THINK = (("◁think▷", "◁/think▷"), ("<think>", "</think>"))


def old_strip_thinking(text: str, strict: bool) -> str:
    for start, end in THINK:
        head, sep, tail = text.partition(end)
        if sep and start not in head:
            text = tail
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), "", text, flags=re.S)
        if start in text:
            if strict:
                raise ParseError("open")
            text = text.split(start, 1)[0]
    return text


# --- the tests -------------------------------------------------------------------------


@SETTINGS
@given(texts("```", "`", "\n", " ", "\t", "py", "thon", "c++", "-", "WAIT", "x = 1", "é"))
def test_fences_as_the_regex(text):
    expected = [((m.group(1) or "").lower(), m.group(2)) for m in OLD_FENCE.finditer(text)]
    assert fenced_blocks(text) == expected
    assert without_fences(text) == OLD_FENCE.sub("", text)


def test_too_many_fences():
    assert len(fenced_blocks("```a```" * 100)) == 100
    with pytest.raises(ParseError, match="more than 100 code blocks"):
        fenced_blocks("```a```" * 101)


@SETTINGS
@given(texts("<think>", "</think>", "◁think▷", "◁/think▷", "<thi", "nk>", "a", "\n"),
       st.booleans())
def test_strip_thinking_as_the_regex(text, strict):
    try:
        expected = old_strip_thinking(text, strict)
    except ParseError:
        with pytest.raises(ParseError, match="ends inside"):
            strip_thinking(text, strict=strict)
    else:
        assert strip_thinking(text, strict=strict) == expected


@SETTINGS
@given(texts(" ", "\t", "\n", "a", "\r", "  x", "\f"))
def test_dedent_as_textwrap(text):
    assert dedent(text) == textwrap.dedent(text)


@SETTINGS
@given(texts("{", "}", "[", "]", "a", "\n"))
def test_without_json_as_the_regex(text):
    assert _without_json(text) == re.sub(r"\{.*\}|\[.*\]", "", text, flags=re.S)


@SETTINGS
@given(texts("pyautogui.click(1)", "time.sleep(", ")", "\n", " ", "\t", "\r", "\x0b", "\u2028",
             "x", "computer.wait()"))
def test_code_lines_as_the_regex(text):
    def lines(pattern):
        return [m.group(0).strip() for m in pattern.finditer(text)]

    assert lines(_CALL_LINE) == lines(OLD_CALL_LINE)


STATEMENTS = st.sampled_from([
    "pyautogui.click(1, 2)", "pyautogui.write('é漢🙂')", "f(\n  'a',\n  'b')", "x = [1,\r\n 2]",
    "pyautogui.hotkey('ctrl', 'c'); time.sleep(1)", "y = '''a\nb'''", "# comment", "",
    "z = ('\u2028', '\f')",
])


@SETTINGS
@given(st.lists(STATEMENTS, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]))
def test_source_segments_as_ast(statements, newline):
    code = newline.join(statements)
    tree = ast.parse(code)
    src = _Source(code)
    for node in ast.walk(tree):
        assert src.segment(node) == ast.get_source_segment(code, node)
