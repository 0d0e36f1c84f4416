"""build_prompt: image count and order, history text, feedback."""

import numpy as np
import pytest

from kimicua.agent.prompts import Turn, build_prompt, image_files, thought_of
from kimicua.env.actions import Click, Type
from kimicua.env.geometry import Frame, Size
from kimicua.env.observation import Observation

FRAME = Frame(Size(1920, 1080))


def shot(tag: int) -> np.ndarray:
    img = np.zeros((1080, 1920, 3), np.uint8)
    img[0, 0, 0] = tag  # tells the screenshots apart
    return img


def obs(tag: int = 99) -> Observation:
    return Observation(screenshot=shot(tag), screen=Size(1920, 1080), scale=1.0, timestamp=0.0)


def turns(n: int, files: bool = False) -> list[Turn]:
    return [Turn(thought=f"thought {i}", actions=(Click(x=96.0 * (i + 1), y=54.0),),
                 screenshot=shot(i), frame=FRAME, screenshot_file=f"step_{i}.png" if files else None)
            for i in range(n)]


def image_tags(prompt) -> list[int]:
    return [int(img[0, 0, 0]) for img in prompt.images]


def n_image_items(prompt) -> int:
    return sum(1 for m in prompt.messages if isinstance(m["content"], list)
               for item in m["content"] if item["type"] == "image")


def test_first_step_has_system_task_and_one_image():
    p = build_prompt("kimi", "Open the file", [], obs())
    assert [m["role"] for m in p.messages] == ["system", "user", "user"]
    assert "## Code" in p.messages[0]["content"]
    assert p.messages[1]["content"] == "Task: Open the file"
    assert image_tags(p) == [99] and n_image_items(p) == 1
    assert p.images[0].shape == (1080, 1920, 3)  # native resolution


def test_recent_steps_bring_screenshots_older_ones_text_only():
    p = build_prompt("kimi", "task", turns(5), obs(), max_images=3)
    # Steps 3 and 4 (0-based) with images, then the current screenshot last.
    assert image_tags(p) == [3, 4, 99]
    assert n_image_items(p) == 3
    task = p.messages[1]["content"]
    assert "Step 1:\n## Thought\nthought 0" in task and "Step 3:\n## Thought\nthought 2" in task
    assert "thought 3" not in task
    roles = [m["role"] for m in p.messages]
    assert roles == ["system", "user", "user", "assistant", "user", "assistant", "user"]
    assert p.messages[3]["content"].startswith("## Thought\nthought 3")
    # Step 3's click at (384, 54) px is (0.2, 0.05) relative in the Kimi format.
    assert "pyautogui.click(x=0.2, y=0.05)" in p.messages[3]["content"]


@pytest.mark.parametrize("max_images, expected", [(1, [99]), (2, [2, 99]), (10, [0, 1, 2, 99])])
def test_max_images(max_images, expected):
    assert image_tags(build_prompt("kimi", "t", turns(3), obs(), max_images=max_images)) == expected


def test_max_images_must_leave_room_for_the_current_screenshot():
    with pytest.raises(ValueError):
        build_prompt("kimi", "t", [], obs(), max_images=0)


def test_turn_without_screenshot_and_with_error():
    bad = Turn(thought="I tried", actions=(), screenshot=None, frame=FRAME,
               error="kimi: unknown key 'hyperdrive'")
    p = build_prompt("kimi", "t", [bad], obs(), feedback="kimi: unknown key 'hyperdrive'")
    assert image_tags(p) == [99]
    assert "could not be executed: kimi: unknown key 'hyperdrive'" in p.messages[2]["content"]
    last = p.messages[-1]["content"]
    assert last[0] == {"type": "image"}
    assert "could not be parsed: kimi: unknown key 'hyperdrive'" in last[1]["text"]


def test_history_in_the_pyautogui_dialect_is_pixels():
    t = Turn(thought=None, actions=(Click(x=960.0, y=540.0), Type(text="hi")), screenshot=None,
             frame=FRAME)
    p = build_prompt("pyautogui", "t", [t], obs())
    assert "pyautogui.click(x=960, y=540)\npyautogui.write('hi')" in p.messages[2]["content"]


def test_thought_of():
    assert thought_of("## Thought\nLook left.\n## Action\nx\n## Code\n```python\n```", "kimi") == "Look left."
    assert thought_of("I will click.\n```python\npyautogui.click(1, 2)\n```", "pyautogui") == "I will click."


def test_image_items_name_their_frame_files_in_image_order():
    history = turns(4, files=True)
    history[3] = Turn(thought="no screenshot kept", actions=(), screenshot=None, frame=FRAME,
                      screenshot_file="step_3.png")
    p = build_prompt("kimi", "t", history, obs(), max_images=3, screenshot_file="step_9.png")
    # Turn 3 has no screenshot, so only turn 2 brings one: its file, then the current one.
    assert image_tags(p) == [2, 99] and image_files(p) == ["step_2.png", "step_9.png"]
    assert p.messages[-1]["content"][0] == {"type": "image", "file": "step_9.png"}
    assert p.messages[2]["content"] == [{"type": "image", "file": "step_2.png"}]


def test_without_files_image_items_are_bare():
    p = build_prompt("kimi", "t", turns(2), obs())
    assert image_files(p) == [None, None, None]
    assert all(item == {"type": "image"} for m in p.messages if isinstance(m["content"], list)
               for item in m["content"] if item["type"] == "image")
