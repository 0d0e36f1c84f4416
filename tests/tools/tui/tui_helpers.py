"""Helpers of the TUI tests: a hand-made finished run, flat synthetic screens, and a
bounded wait for what the app's worker does."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from kimicua.agent.trajectory import EpisodeMeta, Outcome, StepRecord, TrajectoryWriter
from kimicua.env.actions import Click, Done, Type

WAIT_S = 120.0  # a bound on how long a step of the app may take on a loaded machine, never a measure


async def wait_for(pilot, condition, what: str, limit_s: float = WAIT_S) -> None:
    """Let the app run until ``condition()`` holds; fail naming ``what`` past the bound."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.05)
    await pilot.pause()


def screen_image(n: int, w: int = 320, h: int = 200) -> np.ndarray:
    """A flat synthetic screen: a dark desktop, a light window, a band whose colour is
    the frame's number (few colours: small snapshots)."""
    img = np.full((h, w, 3), (40, 44, 52), np.uint8)
    img[20:120, 30:200] = (230, 230, 230)
    img[20:30, 30:200] = (60, 90, 160)
    img[h - 20:, :] = (n * 60 % 256, 120, 80)
    return img


ANSWER = "## Thought\nThe OK button is in the window.\n## Action\nClick OK.\n## Code\n```python\n{}\n```"


def make_run(root: Path) -> Path:
    """A finished run of two episodes below ``root`` (a done one and a stopped one)."""
    run = root / "kimi" / "screenshot" / "scripted" / "desktop"
    meta = EpisodeMeta(task_id="desktop-demo", instruction="Click OK, type hi, finish.", domain="desktop",
                       model="scripted", dialect="kimi", env="desktop", screen=(320, 200))
    with TrajectoryWriter(run / "desktop-demo", meta) as w:
        w.initial(screen_image(0))
        steps = [(Click(x=160, y=70), "pyautogui.click(x=0.5, y=0.35)"), (Type(text="hi"), "pyautogui.write('hi')"),
                 (Done(), "computer.terminate(status='success')")]
        for i, (action, code) in enumerate(steps, start=1):
            w.step(StepRecord(step_num=i, action_timestamp="20260101@000000", response=ANSWER.format(code),
                              action=action.type, parsed_action=action, turn=i, screen=(320, 200),
                              timings={"model_s": 0.5, "execute_s": 0.02}),
                   screen_image(i))
        w.finish(Outcome(status="done", score=1.0, steps=3, turns=3, verdict="exact_match: 'hi' == 'hi'"))
    meta = meta.model_copy(update={"task_id": "desktop-stopped"})
    with TrajectoryWriter(run / "desktop-stopped", meta) as w:
        w.initial(screen_image(0))
        w.step(StepRecord(step_num=1, action_timestamp="20260101@000000", response=ANSWER.format("x"),
                          action="click", parsed_action=Click(x=10, y=10), turn=1, screen=(320, 200)),
               screen_image(1))
        w.finish(Outcome(status="stopped", score=None, steps=1, turns=1, error="stopped by the user (tui)"))
    for traj in root.rglob("traj.jsonl"):  # the writer's measured times, made fixed
        traj.write_text(re.sub(r'"write_s": ?[0-9.e-]+', '"write_s": 0.004', traj.read_text()))
    return root
