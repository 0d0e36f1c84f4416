import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image

from kimicua.agent.trajectory import (
    EpisodeMeta, Outcome, StepRecord, Timings, TrajectoryError, TrajectoryWriter,
    find_episodes, read_episode, timestamp,
)
from kimicua.env.actions import Click, Type, to_computer13

META = EpisodeMeta(task_id="t1", instruction="do it", model="tiny", dialect="kimi", seed=3)


def frame(seed, h=72, w=128):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def record(n, action=None, **kw):
    action = action or Click(x=n, y=2 * n)
    return StepRecord(step_num=n, action_timestamp=timestamp(time.time()),
                      action=to_computer13(action)[0], parsed_action=action, response=f"answer {n}",
                      timings=Timings(model_s=0.5, execute_s=0.01), screen=(128, 72), **kw)


def test_write_read_round_trip(tmp_path):
    d = tmp_path / "ep"
    with TrajectoryWriter(d, META) as w:
        initial = w.initial(frame(0))
        frames = [frame(n) for n in (1, 2)]
        w.step(record(1, token_ids=[1, 2], logprobs=[-0.1, -0.2]), frames[0])
        w.step(record(2, Type(text="a<b>\n漢"), done=True, reward=1.0), frames[1])
        w.finish(Outcome(status="done", score=1.0, steps=2))
    ep = read_episode(d)
    assert ep.result == 1.0 and not ep.truncated and ep.errors == []
    assert ep.meta.outcome.status == "done" and ep.meta.seed == 3
    assert ep.meta.initial_screenshot == initial
    assert [s.step_num for s in ep.steps] == [1, 2]
    assert ep.steps[0].parsed_action == Click(x=1, y=2)
    assert ep.steps[1].parsed_action == Type(text="a<b>\n漢")
    assert ep.steps[0].token_ids == [1, 2] and ep.steps[0].schema_version == 1
    for step, expected in zip(ep.steps, frames):
        assert step.screenshot_file.startswith(f"step_{step.step_num}_")
        assert np.array_equal(np.asarray(Image.open(ep.frame(step))), expected)
    assert list(find_episodes(tmp_path)) == [d]


def test_osworld_keys_on_every_line(tmp_path):
    with TrajectoryWriter(tmp_path / "ep", META) as w:
        w.step(record(1), frame(1))
        w.finish(Outcome(status="done", score=0.0, steps=1))
    line = json.loads((tmp_path / "ep" / "traj.jsonl").read_text().splitlines()[0])
    for key in ("step_num", "action_timestamp", "action", "response", "reward", "done", "info",
                "screenshot_file"):
        assert key in line
    assert line["action"] == {"action_type": "CLICK", "parameters": {"button": "left", "num_clicks": 1, "x": 1.0, "y": 2.0}}
    assert (tmp_path / "ep" / "result.txt").read_text() == "0.0\n"


def test_reads_osworld_own_lines_and_error_marker(tmp_path):
    d = tmp_path / "osworld"
    d.mkdir()
    (d / "traj.jsonl").write_text(
        json.dumps({"step_num": 1, "action_timestamp": "20240101@000000000000",
                    "action": "pyautogui.click(10, 20)", "response": "r", "reward": 0,
                    "done": False, "info": {}, "screenshot_file": "step_1_x.png"}) + "\n"
        + json.dumps({"Error": "Time limit exceeded"}) + "\n")
    ep = read_episode(d)
    assert ep.steps[0].action == "pyautogui.click(10, 20)" and ep.steps[0].parsed_action is None
    assert ep.errors == ["Time limit exceeded"] and ep.result is None and ep.meta is None
    assert ep.frame(ep.steps[0]) is None  # never written


def test_bad_line_in_the_middle_is_an_error_naming_the_line(tmp_path):
    d = tmp_path / "ep"
    d.mkdir()
    (d / "traj.jsonl").write_text('{"step_num": 1, "action_timestamp": "x"}\n{oops\n{"step_num": 3, "action_timestamp": "x"}\n')
    with pytest.raises(TrajectoryError, match=r"traj.jsonl:2: not JSON"):
        read_episode(d)


def test_submitted_frames_cannot_change_under_the_writer(tmp_path):
    img = frame(1)
    with TrajectoryWriter(tmp_path / "ep", META) as w:
        w.step(record(1), img)
        with pytest.raises(ValueError, match="read-only"):
            img[0, 0, 0] = 7


def test_interrupted_outcome_has_no_result_and_rerun_keeps_it(tmp_path):
    d = tmp_path / "ep"
    with TrajectoryWriter(d, META) as w:
        w.step(record(1), frame(1))
        w.finish(Outcome(status="interrupted", steps=1, error="KeyboardInterrupt"))
    assert not (d / "result.txt").exists()
    assert read_episode(d).errors == ["KeyboardInterrupt"]
    # A rerun sets the unfinished directory aside instead of deleting it.
    with TrajectoryWriter(d, META) as w:
        w.finish(Outcome(status="done", score=1.0))
    aside = tmp_path / "ep.interrupted-1"
    assert len(read_episode(aside).steps) == 1 and read_episode(d).result == 1.0
    with pytest.raises(FileExistsError, match="finished episode"):
        TrajectoryWriter(d, META)


WRITER_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from kimicua.agent.trajectory import EpisodeMeta, StepRecord, TrajectoryWriter, timestamp
    from kimicua.env.actions import Click, to_computer13
    w = TrajectoryWriter(sys.argv[1], EpisodeMeta(task_id="k", instruction="i", model="m"))
    n = 0
    while True:
        n += 1
        img = np.full((1080, 1920, 3), n % 256, np.uint8)
        a = Click(x=n, y=n)
        w.step(StepRecord(step_num=n, action_timestamp=timestamp(time.time()),
                          action=to_computer13(a)[0], parsed_action=a, response="r" * 5000), img)
        print(n, flush=True)
""")


def test_sigkill_mid_episode_leaves_finished_steps_readable(tmp_path):
    d = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(d)],
                            stdout=subprocess.PIPE, text=True)
    done = 0
    for line in proc.stdout:  # each printed n is a step whose write() returned
        done = int(line)
        if done >= 12:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ep = read_episode(d)
    assert ep.result is None and ep.meta.outcome is None
    numbers = [s.step_num for s in ep.steps]
    assert numbers[:done] == list(range(1, done + 1))  # every finished step is there
    for step in ep.steps:
        path = ep.frame(step)  # a frame is whole or absent, never a torn PNG
        if path is not None:
            assert np.asarray(Image.open(path))[0, 0, 0] == step.step_num % 256
