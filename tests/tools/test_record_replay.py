"""What replay plays (which lines, which actions) and how --check compares frames, on
trajectories written here with the one writer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kimicua.agent.trajectory import EpisodeMeta, Outcome, StepRecord, TrajectoryWriter, read_episode
from kimicua.env.actions import Click, Done, Drag, Move, Type
from kimicua.tools.record.compare import TILE, difference
from kimicua.tools.record.replay import ReplayError, first_divergence, replayable

H, W = 120, 160


def screen(*marks: tuple[int, int, int, int]) -> np.ndarray:
    """A light screen with dark boxes (x, y, w, h)."""
    image = np.full((H, W, 3), 240, dtype=np.uint8)
    for x, y, w, h in marks:
        image[y:y + h, x:x + w] = 20
    return image


def test_identical_and_faintly_different_frames_do_not_differ():
    a = screen((10, 10, 30, 8))
    assert difference(a, a.copy()).tiles == 0
    assert difference(a, np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)).tiles == 0


def test_a_caret_or_an_underline_is_tolerated():
    text = screen((10, 10, 30, 8))
    assert difference(text, screen((10, 10, 30, 8), (45, 6, 1, 18))).tiles == 0  # a caret shown
    assert difference(text, screen((10, 10, 30, 8), (10, 20, 30, 1))).tiles == 0  # an underline


def test_a_glyph_or_a_moved_box_is_a_change_with_its_place():
    d = difference(screen(), screen((50, 70, 7, 10)))
    assert d.tiles >= 1 and d.box[0] <= 50 and d.box[1] <= 70 and d.box[2] >= 57 and d.box[3] >= 80
    assert d.box[0] % TILE == 0 and "within" in d.describe()
    moved = difference(screen((10, 10, 40, 20)), screen((90, 60, 40, 20)))
    assert moved.tiles > d.tiles


def test_frames_of_different_sizes_differ():
    d = difference(screen(), np.zeros((H, W + 1, 3), dtype=np.uint8))
    assert d.size_mismatch and d.describe() == "the frames have different sizes"


def write_episode(directory, frames, actions, *, errors=None):
    """An episode whose initial screen is frames[0] and whose step k shows frames[k]."""
    errors = errors or {}
    with TrajectoryWriter(directory, EpisodeMeta(task_id="t", instruction="i", model="m")) as writer:
        shown = writer.initial(frames[0])
        for k, action in enumerate(actions, start=1):
            line = StepRecord(step_num=k, action_timestamp="x", parsed_action=action, prompt_images=[shown],
                              error=errors.get(k), info={"ok": k not in errors})
            shown = writer.step(line, frames[k]).screenshot_file
        writer.finish(Outcome(status="done", steps=len(actions)))
    return read_episode(directory)


ACTIONS = [Click(x=5, y=5), Type(text="ab"), Done()]
FRAMES = [screen(), screen((10, 10, 20, 10)), screen((10, 10, 20, 10), (40, 10, 20, 10)),
          screen((10, 10, 20, 10), (40, 10, 20, 10))]


def test_a_faithful_replay_matches_at_every_frame(tmp_path):
    recorded = write_episode(tmp_path / "rec", FRAMES, ACTIONS)
    replayed = write_episode(tmp_path / "rep", [f.copy() for f in FRAMES], ACTIONS)
    check = first_divergence(recorded, replayable(recorded), replayed)
    assert check.divergence is None and check.compared == 4 and check.largest is None


def test_the_first_frame_that_differs_is_reported_and_a_tolerance_lets_it_pass(tmp_path):
    recorded = write_episode(tmp_path / "rec", FRAMES, ACTIONS)
    off = [FRAMES[0], FRAMES[1], screen((10, 10, 20, 10), (90, 70, 20, 10)), FRAMES[3]]
    replayed = write_episode(tmp_path / "rep", off, ACTIONS)
    check = first_divergence(recorded, replayable(recorded), replayed)
    assert (check.divergence.step, check.divergence.recorded_step) == (2, 2)
    assert check.divergence.describe().startswith('step 2 (recorded step 2) (type "ab"): ')
    tiles = difference(FRAMES[2], off[2]).tiles
    assert first_divergence(recorded, replayable(recorded), replayed, tolerance=tiles - 1).divergence.step == 2
    loose = first_divergence(recorded, replayable(recorded), replayed, tolerance=tiles)
    assert loose.divergence is None and loose.compared == 4 and loose.largest[0] == 2
    assert loose.largest[1].tiles == tiles


def test_a_replay_that_stopped_early_or_failed_diverges_there(tmp_path):
    recorded = write_episode(tmp_path / "rec", FRAMES, ACTIONS)
    short = write_episode(tmp_path / "short", FRAMES[:2], ACTIONS[:1])
    check = first_divergence(recorded, replayable(recorded), short)
    assert check.divergence.step == 2 and check.divergence.reason == "the replay ended after 1 of 3 actions"
    failed = write_episode(tmp_path / "failed", FRAMES, ACTIONS, errors={1: "click outside the screen"})
    check = first_divergence(recorded, replayable(recorded), failed)
    assert check.divergence.step == 1 and check.divergence.reason.endswith("click outside the screen")


def test_replay_plays_executed_lines_only_and_reads_computer13(tmp_path):
    lines = [
        {"step_num": 1, "action_timestamp": "x", "parsed_action": {"type": "click", "x": 1, "y": 2}},
        {"step_num": 2, "action_timestamp": "x", "response": "??", "error": "no action in the answer"},
        {"step_num": 3, "action_timestamp": "x", "error": "vetoed by the user"},
        {"step_num": 4, "action_timestamp": "x", "parsed_action": {"type": "type", "text": "z"},
         "info": {"ok": False}, "error": "refused"},
        {"step_num": 5, "action_timestamp": "x", "action": [
            {"action_type": "MOVE_TO", "parameters": {"x": 3, "y": 4}},
            {"action_type": "DRAG_TO", "parameters": {"x": 30, "y": 40}}]},
        {"step_num": 6, "action_timestamp": "x", "action": "DONE"},
    ]
    (tmp_path / "traj.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    played = replayable(read_episode(tmp_path))
    assert [p.step.step_num for p in played] == [1, 5, 6]
    assert [a for p in played for a in p.actions] == [Click(x=1, y=2), Move(x=3, y=4), Drag(x=30, y=40), Done()]


def test_an_action_this_runtime_cannot_read_is_one_line(tmp_path):
    (tmp_path / "traj.jsonl").write_text(json.dumps({"step_num": 7, "action_timestamp": "x",
                                                     "action": "pyautogui.click(1, 2)"}) + "\n")
    with pytest.raises(ReplayError, match=r"traj.jsonl: step 7: its action cannot be replayed"):
        replayable(read_episode(tmp_path))
