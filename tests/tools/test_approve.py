"""``run --approve``: each proposed action is shown with the screen around its point and
accepted, skipped, edited in the dialect, or the episode stopped."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from kimicua.agent.episode import StopEpisode
from kimicua.agent.policy import Reply
from kimicua.env.actions import Click, Type
from kimicua.env.geometry import Size
from kimicua.env.observation import Observation
from kimicua.tools.cli.approve import TerminalApprover
from kimicua.tools.terminal.halfblock import UPPER_HALF, crop_around, fit, halfblocks, mark

ANSWER = "## Thought\nThe OK button.\n## Action\nClick OK.\n## Code\n```python\npyautogui.click(x=0.75, y=0.5)\n```"


def screen() -> Observation:
    image = np.zeros((600, 800, 3), np.uint8)
    image[:, 400:] = (0, 0, 200)  # the right half blue
    return Observation(image, Size(800, 600), 1.0, 0.0)


def approver(*answers: str):
    out = io.StringIO()
    replies = iter(answers)
    return TerminalApprover(Console(file=out, width=100, force_terminal=True, color_system="truecolor"),
                            "kimi", ask=lambda prompt: next(replies)), out


def test_accept_skip_and_the_panel_shows_thought_action_and_screen():
    ap, out = approver("", "s")
    action = Click(x=600, y=300)
    assert ap(action, Reply(ANSWER, "m"), screen()) is action  # Enter accepts
    text = out.getvalue()
    assert "The OK button." in text and '"type":"click"' in text and UPPER_HALF in text
    assert "255;0;0" in text  # the red cross where the click lands
    assert ap(action, Reply(ANSWER, "m"), screen()) is None  # skipped


def test_edit_in_the_dialect_or_as_json_and_bad_edits_ask_again():
    ap, out = approver("e", "pyautogui.click(x=0.25, y=0.5)")
    assert ap(Click(x=600, y=300), Reply(ANSWER, "m"), screen()) == Click(x=200, y=300)
    ap, out = approver("e", "os.system('rm -rf /')", "e", '{"type": "type", "text": "hi"}')
    assert ap(Click(x=600, y=300), Reply(ANSWER, "m"), screen()) == Type(text="hi")
    assert "not an action" in out.getvalue()  # the code was read as data and refused


def test_stop_ends_the_episode():
    ap, _ = approver("t")
    with pytest.raises(StopEpisode, match="stopped by the user"):
        ap(Type(text="x"), Reply(ANSWER, "m"), screen())


def test_the_crop_is_centred_on_the_point_and_clamped_at_the_edges():
    image = np.zeros((100, 200, 3), np.uint8)
    crop, point = crop_around(image, 199, 0, 40, 20)
    assert crop.shape == (20, 40, 3) and point == (39, 0)  # clamped: the point is at the corner
    crop, point = crop_around(image, 100, 50, 40, 20)
    assert point == (20, 10)
    red = np.argwhere((mark(crop, *point) == (255, 0, 0)).all(axis=2))
    assert {tuple(p) for p in red} >= {(10, 20), (8, 20), (10, 22)}  # a cross centred on it
    small = fit(np.zeros((1000, 500, 3), np.uint8), 50, 10)
    assert small.shape[:2] == (20, 10)  # 10 rows of two pixels, aspect kept
    assert str(halfblocks(small)).count("\n") == 9
