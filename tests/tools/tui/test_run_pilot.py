"""The app driven like a person would (Textual's Pilot) on a real private Xvfb
desktop: pick a task and the approve mode, run it with the scripted solution, accept
its click, edit its wait, stop the episode; then browse the finished run."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Input

from kimicua.agent.trajectory import read_episode
from kimicua.env.actions import Click, Wait
from kimicua.env.geometry import Size
from kimicua.tools.runner import RunOptions
from kimicua.tools.tui.app import KimicuaTui
from kimicua.tools.tui.choice import RunChoice
from kimicua.tools.tui.screens.episode import EpisodeScreen
from kimicua.tools.tui.screens.run import RunScreen
from kimicua.tools.tui.screens.runs import RunsScreen
from kimicua.tools.tui.widgets.approve import ApproveBar

from tui_helpers import wait_for

pytestmark = [pytest.mark.display, pytest.mark.slow]

TASK = "desktop-focus-window"  # its solution: click the Reference window, wait 0.5 s, done


def test_pick_run_approve_edit_stop_then_browse(tmp_path):
    record = asyncio.run(pick_run_approve_edit_stop_then_browse(tmp_path))
    # The trajectory is complete: the accepted click, the edited wait, and no done.
    ep = read_episode(record.directory)
    assert ep.meta.outcome.status == "stopped" and ep.meta.outcome.error == "stopped by the user (tui)"
    assert [s.parsed_action for s in ep.steps] == [run_click(ep), Wait(seconds=0.1)]
    assert all(ep.frame(s) is not None for s in ep.steps) and not (record.directory / "result.txt").exists()


async def pick_run_approve_edit_stop_then_browse(tmp_path):
    choice = RunChoice(tasks="small", options=RunOptions(results=tmp_path, screen=Size(1280, 800)))
    app = KimicuaTui(choice, images="halfblock")
    async with app.run_test(size=(100, 30)) as pilot:
        # Pick: type the task id, choose the approve mode, run.
        app.screen.query_one("#spec", Input).focus()
        await pilot.press(*TASK)
        tasks = app.screen.query_one("#tasks", DataTable)
        await wait_for(pilot, lambda: tasks.row_count == 1, "the task list to show the one task")
        assert tasks.get_row_at(0)[1] == TASK
        app.screen.query_one("#mode").focus()
        await pilot.press("enter", "down", "down", "enter")
        assert str(app.screen.query_one("#mode").value) == "approve"
        await pilot.press("ctrl+r")
        run = app.screen
        assert isinstance(run, RunScreen)
        bar = run.query_one(ApproveBar)

        # The click is proposed on the screen it will act on: accept it.
        await wait_for(pilot, lambda: run.asking is not None, "the first proposed action")
        assert isinstance(run.asking.action, Click) and bar.has_class("asking")
        assert run.asking.obs.screenshot.shape[:2] == (800, 1280)
        assert run.state.state == "your turn"
        await pilot.press("a")
        # The wait: edit it, first into something that is not an action, then a shorter wait.
        await wait_for(pilot, lambda: run.asking is not None and isinstance(run.asking.action, Wait),
                       "the wait to be proposed")
        await pilot.press("e")
        field = run.query_one("#edit", Input)
        assert field.has_focus and field.value == "computer.wait(seconds=0.5)"  # in the kimi dialect
        field.value = "os.system('true')"
        await pilot.press("enter")
        assert run.asking is not None and "not an action" in str(run.query_one("#edit-error").render())
        field.value = "computer.wait(seconds=0.1)"
        await pilot.press("enter")
        # The scripted solution's done comes next: stop the episode instead.
        await wait_for(pilot, lambda: run.asking is not None and run.asking.action.type == "done",
                       "the done to be proposed")
        await pilot.press("x")
        await wait_for(pilot, lambda: run.outcome is not None, "the run to end")
        (record,) = run.outcome.records
        assert (record.status, record.score, record.steps) == ("stopped", None, 2)
        assert "finished: stopped" in run.state.state

        # The run browser on the finished run, then the episode's frames.
        await pilot.press("o")
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        assert [(r.name, r.status, r.steps) for r in runs.rows] == [(f"desktop/{TASK}", "stopped", 2)]
        await pilot.press("enter")
        episode = app.screen
        assert isinstance(episode, EpisodeScreen)
        assert [s.text for s in episode.shots] == ["step 1/2: click (254, 179.5)", "step 2/2: wait 0.1 s",
                                                   "end: stopped, no score"]
        await pilot.press("right")
        assert episode.index == 1 and "wait 0.1 s" in str(episode.query_one("#step").render())
    return record


def run_click(ep):
    first = ep.steps[0].parsed_action
    assert isinstance(first, Click) and first.count == 1
    return first
