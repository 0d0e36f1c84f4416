"""Golden tests of the Kimi dialect: hand-written answers -> expected actions."""

import pytest

from kimicua.agent.dialects import get_dialect
from kimicua.agent.parser import ParseError, parse
from kimicua.env.actions import (
    Click, Done, Drag, Fail, Hotkey, Key, KeyDown, KeyUp, Move, Scroll, Type, Wait,
)
from kimicua.env.geometry import Frame, Size

FHD = Frame(Size(1920, 1080))
# A 2x high-DPI screen: 1280x800 logical, the screenshot is 2560x1600.
HIDPI = Frame(Size(1280, 800), physical=Size(2560, 1600))

ANSWER = """## Thought
The Save button is at the top of the dialog; I will click it and then confirm.
## Action
Click Save, type the name, press Enter.
## Code
```python
pyautogui.click(x=0.5, y=0.25)
pyautogui.write('report.txt')
pyautogui.press('enter')
```
"""


def test_full_answer_relative_coordinates():
    assert parse(ANSWER, "kimi", FHD) == [
        Click(x=960.0, y=270.0), Type(text="report.txt"), Key(key="enter"),
    ]


def test_relative_maps_to_logical_pixels_on_hidpi():
    assert parse(ANSWER, "kimi", HIDPI)[0] == Click(x=640.0, y=200.0)


def test_values_above_one_are_screenshot_pixels():
    # 1000 px of a 2560-px-wide screenshot on a 2x screen is logical 500.
    assert parse("pyautogui.click(x=1000, y=400)", "kimi", HIDPI) == [Click(x=500.0, y=200.0)]
    assert parse("pyautogui.click(x=960, y=540)", "kimi", FHD) == [Click(x=960.0, y=540.0)]


def test_grounding_answer_in_prose_without_fences():
    text = "The element is the search box.\npyautogui.click(x=0.972, y=0.186)\n"
    [click] = parse(text, "kimi", FHD)
    assert click.x == pytest.approx(1866.24) and click.y == pytest.approx(200.88)


def test_grounding_prompt_is_the_model_cards():
    prompt = get_dialect("kimi").grounding_prompt("the search box")
    assert prompt == ("Please observe the screenshot, please locate the following elements "
                      "with action and point.<instruction> the search box")


@pytest.mark.parametrize(
    "code, expected",
    [
        ("computer.wait()", [Wait()]),
        ("computer.terminate(status='success', answer='42')", [Done(answer="42")]),
        ('computer.terminate(status="failure")', [Fail()]),
        ("computer.triple_click(0.25, 0.5)", [Click(x=480.0, y=540.0, count=3)]),
        ("pyautogui.doubleClick(0.1, 0.1)", [Click(x=192.0, y=108.0, count=2)]),
        ("pyautogui.rightClick(x=0.5, y=0.5)", [Click(x=960.0, y=540.0, button="right")]),
        ("pyautogui.click(0.5, 0.5, clicks=2, button='middle')",
         [Click(x=960.0, y=540.0, count=2, button="middle")]),
        ("pyautogui.click()", [Click()]),
        ("pyautogui.click((0.5, 0.5))", [Click(x=960.0, y=540.0)]),
        ("pyautogui.moveTo(0.5, 0.5)\npyautogui.dragTo(0.75, 0.5, duration=0.5)",
         [Move(x=960.0, y=540.0), Drag(x=1440.0, y=540.0)]),
        ("pyautogui.scroll(-5)", [Scroll(dy=-5)]),
        ("pyautogui.scroll(3, x=0.5, y=0.5)", [Scroll(dy=3, x=960.0, y=540.0)]),
        ("pyautogui.hscroll(2)", [Scroll(dx=2)]),
        ("pyautogui.hotkey('ctrl', 'shift', 't')", [Hotkey(keys=("ctrl", "shift", "t"))]),
        ("pyautogui.hotkey(['ctrl', 'c'])", [Hotkey(keys=("ctrl", "c"))]),
        ("pyautogui.hotkey(keys=['ctrl', 'v'])", [Hotkey(keys=("ctrl", "v"))]),
        ("pyautogui.press(['tab', 'tab'])", [Key(key="tab"), Key(key="tab")]),
        ("pyautogui.press('down', presses=3)", [Key(key="down")] * 3),
        ("pyautogui.keyDown('shift')\npyautogui.keyUp('shift')",
         [KeyDown(key="shift"), KeyUp(key="shift")]),
        ("pyautogui.typewrite(['a', 'enter'])", [Key(key="a"), Key(key="enter")]),
        ("pyautogui.write('a < b')", [Type(text="a < b")]),
        ("time.sleep(2)", [Wait(seconds=2.0)]),
    ],
)
def test_calls(code, expected):
    assert parse(f"## Code\n```python\n{code}\n```", "kimi", FHD) == expected


def test_code_section_wins_over_calls_quoted_in_the_thought():
    text = ("## Thought\nLast time pyautogui.click(x=0.1, y=0.1) missed.\n"
            "## Action\nclick\n## Code\n```python\npyautogui.click(x=0.9, y=0.9)\n```")
    assert parse(text, "kimi", FHD) == [Click(x=1728.0, y=972.0)]


def test_thinking_blocks_are_ignored():
    text = "◁think▷ maybe pyautogui.click(x=0.1, y=0.1) ◁/think▷" + ANSWER
    assert parse(text, "kimi", FHD)[0] == Click(x=960.0, y=270.0)
    text = "<think>pyautogui.click(x=0.1, y=0.1)</think>" + ANSWER
    assert parse(text, "kimi", FHD)[0] == Click(x=960.0, y=270.0)


def test_cut_off_while_thinking_is_an_error():
    with pytest.raises(ParseError, match="inside a ◁think▷ block"):
        parse("◁think▷ I should click pyautogui.click(x=0.1, y=0.1)", "kimi", FHD)


def test_off_screen_is_an_error_not_a_clamp():
    with pytest.raises(ParseError, match="off-screen"):
        parse("pyautogui.click(x=2000, y=10)", "kimi", FHD)
    with pytest.raises(ParseError, match="off-screen"):
        parse("pyautogui.click(x=-0.1, y=0.5)", "kimi", FHD)


def test_bad_terminate_status():
    with pytest.raises(ParseError, match="status"):
        parse("computer.terminate(status='maybe')", "kimi", FHD)


def test_thought_extraction():
    kimi = get_dialect("kimi")
    assert kimi.thought(ANSWER).startswith("The Save button is at the top")
    assert "pyautogui" not in kimi.thought(ANSWER)
    assert kimi.thought("◁think▷secret◁/think▷## Thought\nvisible\n## Code\n") == "visible"


def test_history_step_round_trips():
    kimi = get_dialect("kimi")
    actions = [Click(x=960.0, y=270.0), Type(text="it's"), Hotkey(keys=("ctrl", "s")),
               Scroll(dy=-3, x=480.0, y=540.0), Wait(), Done(answer="saved")]
    text = kimi.format_history_step("Saving the file.", actions, FHD)
    assert text.startswith("## Thought\nSaving the file.\n## Action\n")
    assert "pyautogui.click(x=0.5, y=0.25)" in text
    assert "computer.terminate(status='success', answer='saved')" in text
    assert parse(text, "kimi", FHD) == actions
