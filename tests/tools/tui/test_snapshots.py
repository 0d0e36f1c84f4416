"""Snapshots of the main screens (pytest-textual-snapshot), pictures in half blocks.

Update them after an intended change with ``pytest tests/tools/tui --snapshot-update``
and look at the SVGs before committing them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import ANSWER, make_run, screen_image, wait_for

from kimicua.agent.events import EpisodeStarted, ModelAnswered, StepStarted
from kimicua.agent.policy import Reply
from kimicua.env.actions import Click
from kimicua.env.geometry import Size
from kimicua.env.observation import Observation
from kimicua.tools.runner import RunOptions
from kimicua.tools.tui.app import KimicuaTui
from kimicua.tools.tui.choice import RunChoice
from kimicua.tools.tui.messages import LoopEvent, Proposed
from kimicua.tools.tui.screens.run import RunScreen
from kimicua.tools.tui.session import RunSession

SMALL = (80, 24)
LARGE = (120, 36)


class ScriptedSession(RunSession):
    """A run whose worker posts a fixed turn and waits at its proposed action."""

    def run(self):
        obs = Observation(screen_image(0), Size(320, 200), 1.0, 0.0)
        text = ANSWER.format("pyautogui.click(x=0.5, y=0.35)")
        click = Click(x=160, y=70)
        for message in (LoopEvent(EpisodeStarted("desktop-demo", "Click OK, type hi, finish.")),
                        LoopEvent(StepStarted(1, 0)), LoopEvent(ModelAnswered(1, text, (click,), None, 1.25)),
                        Proposed(click, Reply(text, "replay"), obs, ask=True)):
            self.post(message)


def asking_app(mode: str = "approve") -> KimicuaTui:
    choice = RunChoice(tasks="desktop-demo", mode=mode, max_steps=15)
    return KimicuaTui(choice, images="halfblock")


async def show_run(pilot) -> None:
    app = pilot.app
    screen = RunScreen(ScriptedSession(app.choice, [], post=lambda m: screen.post_message(m)), "halfblock", 1)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: screen.asking is not None, "the proposed action")


def test_start_screen(snap_compare):
    app = KimicuaTui(RunChoice(tasks="small"), images="halfblock")
    assert snap_compare(app, terminal_size=SMALL)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "120x36"])
def test_run_screen_asks_for_approval(snap_compare, size):
    assert snap_compare(asking_app(), terminal_size=size, run_before=show_run)


def test_run_browser(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative results folder: the same text on every machine
    make_run(Path("runs"))
    app = KimicuaTui(RunChoice(options=RunOptions(results=Path("runs"))), images="halfblock", browse=True)
    assert snap_compare(app, terminal_size=SMALL)


def test_episode_frames(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_run(Path("runs"))
    app = KimicuaTui(RunChoice(options=RunOptions(results=Path("runs"))), images="halfblock", browse=True)
    assert snap_compare(app, terminal_size=SMALL, press=["enter", "right"])
