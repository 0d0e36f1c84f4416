"""The model side of a grounding sample: each dialect's prompt, and its answers read
into a point in image pixels, a decline, or neither (with the reason)."""

from __future__ import annotations

import numpy as np
import pytest

from kimicua.agent.dialects import get_dialect
from kimicua.env.geometry import Size
from kimicua.tasks.screenspot.grounding import declines, grounding_prompt, read_answer
from kimicua.tasks.screenspot.scoring import Answer

IMAGE = Size(200, 100)


def point(text: str, dialect: str, model_image: Size | None = None):
    answer, error = read_answer(text, dialect, IMAGE, model_image)
    assert error is None, error
    assert not answer.declined
    return pytest.approx(answer.point)


def test_prompt_holds_the_image_once_with_the_dialects_text():
    image = np.zeros((100, 200, 3), np.uint8)
    prompt = grounding_prompt("kimi", "the OK button", image)
    assert prompt.images == [image]
    assert prompt.messages == [{"role": "user", "content": [
        {"type": "image"},
        {"type": "text", "text": "Please observe the screenshot, please locate the following elements with "
                                 "action and point.<instruction> the OK button"}]}]
    uitars = grounding_prompt("uitars", "the OK button", image).messages
    assert uitars[-1]["content"][1]["text"] == ("Output only the coordinate of one point in your response. "
                                               "What element matches the following task: the OK button")
    qwen = grounding_prompt("qwen25vl", "the OK button", image).messages
    size = get_dialect("qwen25vl").image_size(IMAGE)
    assert qwen[0]["role"] == "system" and f"resolution is {size.width}x{size.height}" in qwen[0]["content"]
    assert qwen[1]["content"] == [{"type": "image"}, {"type": "text", "text": "the OK button"}]
    plain = grounding_prompt("pyautogui", "the OK button", image).messages
    assert "200x100 pixels" in plain[1]["content"][1]["text"]
    with pytest.raises(ValueError, match="dialect computer13 has no grounding prompt"):
        grounding_prompt("computer13", "the OK button", image)


def test_kimi_relative_and_pixel_points():
    assert point("pyautogui.click(x=0.5, y=0.25)", "kimi") == (100, 25)
    assert point("The button.\n```python\npyautogui.click(x=150, y=40)\n```", "kimi") == (150, 40)
    assert point("◁think▷it is top left◁/think▷pyautogui.click(x=0.1, y=0.2)", "kimi") == (20, 20)
    assert point("## Action\nclick\n## Code\n```python\npyautogui.moveTo(0.25, 0.5)\n```", "kimi") == (50, 50)


def test_uitars_bare_points_in_its_resized_pixels():
    seen = get_dialect("uitars").image_size(IMAGE)  # smart_resize: upscaled to its minimum pixels
    assert seen != IMAGE
    assert point(f"({seen.width // 2},{seen.height // 2})", "uitars") == (100, 50)
    assert point(f"<point>{seen.width // 4} {seen.height // 2}</point>", "uitars") == (50, 50)
    assert point("click(start_box='(100,50)')", "uitars", model_image=Size(400, 200)) == (50, 25)
    assert point("(500,500)", "uitars1") == (100, 50)  # UI-TARS 1.0: relative 0..1000
    assert point("[400, 200, 600, 400]", "uitars1") == (100, 30)  # a box means its centre


def test_qwen_tool_call_and_plain_pyautogui():
    seen = get_dialect("qwen25vl").image_size(IMAGE)
    call = ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
            f'"coordinate": [{seen.width / 2}, {seen.height / 4}]}}}}\n</tool_call>')
    assert point(call, "qwen25vl") == (100, 25)
    assert point("pyautogui.click(x=150, y=40)", "pyautogui") == (150, 40)


@pytest.mark.parametrize("text, dialect", [
    ("computer.terminate(status='failure')", "kimi"),
    ("## Code\n```python\ncomputer.terminate(status='failure', answer='no such button')\n```", "kimi"),
    ("FAIL", "pyautogui"),
    ("call_user()", "uitars"),
    ('<tool_call>{"name": "computer_use", "arguments": {"action": "terminate", "status": "failure"}}</tool_call>',
     "qwen25vl"),
    ("Target not existent", "uitars"),
    ("The element is not present on the screen.", "kimi"),
    ("◁think▷let me look◁/think▷I cannot find a pink unicorn here.", "kimi"),
])
def test_declines_per_dialect(text, dialect):
    assert read_answer(text, dialect, IMAGE) == (Answer(declined=True), None)


@pytest.mark.parametrize("text, dialect, reason", [
    ("I think it is the blue one", "kimi", "kimi: "),
    ("pyautogui.click(x=300, y=50)", "kimi", "off-screen point"),  # pixels beyond the image
    ("◁think▷I cannot find it, let me look again", "kimi", "inside a ◁think▷ block"),  # cut off while thinking
    ("pyautogui.write('hello')", "kimi", "no point in the answer (actions: type)"),
    ("(1,2,3)", "uitars", "uitars: "),
    ("", "kimi", "empty answer"),
])
def test_unusable_answers_say_why(text, dialect, reason):
    answer, error = read_answer(text, dialect, IMAGE)
    assert answer == Answer() and reason in error


def test_a_point_wins_over_words_of_doubt():
    text = "I cannot find the exact label, but this is the closest:\npyautogui.click(x=0.5, y=0.5)"
    assert point(text, "kimi") == (100, 50)
    assert not declines("pyautogui.click(x=0.5, y=0.5)") and declines("It does not exist.")
