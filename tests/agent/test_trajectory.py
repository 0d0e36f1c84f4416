import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Future

import numpy as np
import pytest
from PIL import Image

from kimicua.agent.trajectory import (
    SCHEMA_VERSION, EpisodeMeta, FrameWriter, Outcome, StepRecord, Timings, TrajectoryError, TrajectoryWriter,
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
    assert ep.steps[0].token_ids == [1, 2] and ep.steps[0].schema_version == SCHEMA_VERSION == 2
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


def prompt_of(*files):
    """Chat messages whose image items name ``files``, the last one current."""
    *older, current = files
    return [{"role": "system", "content": "You are a computer agent."},
            {"role": "user", "content": "Task: do it"},
            *({"role": "user", "content": [{"type": "image", "file": f}]} for f in older),
            {"role": "user", "content": [{"type": "image", "file": current},
                                         {"type": "text", "text": "What is the next step?"}]}]


def failed(n, shown, **kw):
    """A line for an answer that gave no action: it names the frame it answered."""
    return StepRecord(step_num=n, action_timestamp=timestamp(time.time()), response=f"bad answer {n}",
                      error="kimi: no action found", screenshot_file=shown[-1], prompt_images=shown, **kw)


def test_prompt_fields_round_trip(tmp_path):
    d = tmp_path / "ep"
    with TrajectoryWriter(d, META) as w:
        initial = w.initial(frame(0))
        first = w.step(record(1, turn=1, prompt_images=[initial], prompt_messages=prompt_of(initial),
                              prompt_token_ids=[5, 6, 7], token_ids=[1]), frame(1))
        shown = [initial, first.screenshot_file]
        w.step(failed(2, shown, turn=2, prompt_messages=prompt_of(*shown)))
        w.step(record(3, turn=3, prompt_images=shown, prompt_messages=prompt_of(*shown)), frame(3))
        w.step(record(4, turn=3, prompt_images=shown), frame(4))  # the turn's second action
        w.finish(Outcome(status="done", score=0.0, steps=3))
    ep = read_episode(d)
    a, bad, c, c2 = ep.steps
    assert a.prompt_images == [initial] and a.prompt_token_ids == [5, 6, 7] and a.token_ids == [1]
    assert a.prompt_messages == prompt_of(initial)
    assert bad.screenshot_file == first.screenshot_file and ep.frame(bad) == ep.frame(a)
    assert (bad.response, bad.error) == ("bad answer 2", "kimi: no action found")
    assert ep.prompt_frames(bad) == [d / initial, d / first.screenshot_file]
    # The turn's prompt is stored once, on its first line, and found from any line of it.
    assert c2.prompt_messages is None and ep.prompt_messages(c2) == prompt_of(*shown)
    assert ep.prompt_messages(bad) == prompt_of(*shown) == c.prompt_messages


class GatedFrames:
    """A FrameWriter that writes a frame only when the test releases it."""

    def __init__(self):
        self.pending = []

    def submit(self, image, path):
        done = Future()
        self.pending.append((image, path, done))
        return done

    def release(self, index, *, fail=False):
        image, path, done = self.pending[index]
        if fail:
            done.set_exception(OSError("disk full"))
        else:
            Image.fromarray(image).save(path)
            done.set_result(path)

    def flush(self):
        return []

    def close(self):
        return []


def test_lines_keep_step_order_when_frames_finish_out_of_order(tmp_path):
    frames = GatedFrames()
    with TrajectoryWriter(tmp_path / "ep", META, frames=frames) as w:
        for n in (1, 2, 3):
            w.step(record(n), frame(n))
        for i in (2, 1, 0):
            frames.release(i)
        w.sync()
        ep = read_episode(tmp_path / "ep")
    assert [s.step_num for s in ep.steps] == [1, 2, 3] and w.durable == 3
    assert all(ep.frame(s) is not None for s in ep.steps)


def test_a_frame_that_was_not_written_is_never_named(tmp_path):
    d = tmp_path / "ep"
    frames = GatedFrames()
    with TrajectoryWriter(d, META, frames=frames) as w:
        initial = w.initial(frame(0))
        first = w.step(record(1, prompt_images=[initial], prompt_messages=prompt_of(initial)), frame(1))
        w.step(failed(2, [initial, first.screenshot_file]))
        frames.release(0, fail=True)
        frames.release(1)
        w.finish(Outcome(status="done", score=1.0, steps=1))
    ep = read_episode(d)
    assert ep.meta.initial_screenshot is None and f"{initial}: disk full" in ep.meta.outcome.error
    assert ep.steps[0].prompt_images == [None] and ep.frame(ep.steps[0]) is not None
    assert ep.steps[0].prompt_messages[-1]["content"][0] == {"type": "image", "file": None}
    assert ep.steps[1].prompt_images == [None, first.screenshot_file]
    assert ep.steps[1].screenshot_file == first.screenshot_file


def test_frame_writer_future_reports_a_frame_it_could_not_write(tmp_path):
    writer = FrameWriter(workers=1)
    bad = writer.submit(np.zeros((4, 4, 3), np.float64), tmp_path / "bad.png")
    good = writer.submit(frame(1), tmp_path / "good.png")
    assert good.result() == tmp_path / "good.png" and (tmp_path / "good.png").is_file()
    assert bad.exception() is not None and not (tmp_path / "bad.png").exists()
    assert writer.close()[0].startswith("bad.png: ")


def test_a_line_may_only_name_frames_of_its_writer(tmp_path):
    with TrajectoryWriter(tmp_path / "ep", META) as w:
        with pytest.raises(ValueError, match="names frame 'step_9_x.png'"):
            w.step(record(1, prompt_images=["step_9_x.png"]), frame(1))


V1_LINES = [  # written by hand as the version 1 writer wrote them
    {"step_num": 1, "action_timestamp": "20250101@120000000000", "response": "I am not sure.",
     "action": None, "reward": 0.0, "done": False, "info": {}, "screenshot_file": None,
     "schema_version": 1, "parsed_action": None, "action_index": 0, "turn": 1, "prompt_images": [],
     "token_ids": [7, 8], "logprobs": [-0.5, -0.25], "timings": {"model_s": 0.5, "parse_s": 0.001},
     "screen": [128, 72], "scale": 1.0, "coordinate_space": "relative", "error": "kimi: no action found"},
    {"step_num": 2, "action_timestamp": "20250101@120001000000", "response": "## Code ...",
     "action": {"action_type": "CLICK", "parameters": {"button": "left", "num_clicks": 1, "x": 1.0, "y": 2.0}},
     "reward": 0.0, "done": True, "info": {"ok": True}, "screenshot_file": "step_2_20250101@120001000000.png",
     "schema_version": 1, "parsed_action": {"x": 1.0, "y": 2.0, "type": "click", "button": "left", "count": 1},
     "action_index": 0, "turn": 2, "prompt_images": [], "token_ids": None, "logprobs": None,
     "timings": {"execute_s": 0.01, "write_s": 0.0002}, "screen": [128, 72], "scale": 1.0,
     "coordinate_space": "relative", "error": None},
]


def test_reads_version_1_episodes(tmp_path):
    d = tmp_path / "v1"
    d.mkdir()
    (d / "traj.jsonl").write_text("".join(json.dumps(line) + "\n" for line in V1_LINES))
    (d / "episode.json").write_text(json.dumps({"schema_version": 1, "task_id": "t", "instruction": "i",
                                                "model": "m", "outcome": {"status": "done", "score": 1.0}}))
    (d / "result.txt").write_text("1.0\n")
    ep = read_episode(d)
    assert [s.schema_version for s in ep.steps] == [1, 1] and ep.meta.schema_version == 1
    bad, click = ep.steps
    assert bad.error == "kimi: no action found" and bad.screenshot_file is None and bad.token_ids == [7, 8]
    assert click.parsed_action == Click(x=1, y=2) and click.done and ep.result == 1.0
    assert click.prompt_images == [] and ep.prompt_messages(click) is None and ep.frame(click) is None


def test_a_newer_schema_version_is_an_error_naming_the_line(tmp_path):
    d = tmp_path / "ep"
    d.mkdir()
    line = {"step_num": 1, "action_timestamp": "x", "schema_version": SCHEMA_VERSION + 1}
    (d / "traj.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(TrajectoryError, match=rf"traj.jsonl:1: schema version {SCHEMA_VERSION + 1} is newer"):
        read_episode(d)


# An episode's writing as the loop does it: each turn's prompt shows the last frames,
# every third answer fails (its line names the frame it answered). After each step
# it prints how many lines the writer reports durable.
WRITER_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from kimicua.agent.trajectory import EpisodeMeta, StepRecord, TrajectoryWriter, timestamp
    from kimicua.env.actions import Click, to_computer13
    w = TrajectoryWriter(sys.argv[1], EpisodeMeta(task_id="k", instruction="i", model="m"))
    rng = np.random.default_rng(0)
    shown = [w.initial(np.zeros((1080, 1920, 3), np.uint8))]
    n = 0
    while True:
        n += 1
        line = dict(step_num=n, action_timestamp=timestamp(time.time()), response="r" * 5000,
                    turn=n, prompt_images=shown[-3:])
        if n % 3 == 0:
            w.step(StepRecord(**line, screenshot_file=shown[-1], error="no action"))
        else:
            img = np.full((1080, 1920, 3), n % 256, np.uint8)
            img[:200, :200] = rng.integers(0, 255, (200, 200, 3))  # some real encoding work
            a = Click(x=n, y=n)
            rec = w.step(StepRecord(**line, action=to_computer13(a)[0], parsed_action=a), img)
            shown.append(rec.screenshot_file)
        print(n, w.durable, flush=True)
""")


def run_and_kill(directory, *, after_steps, durable_lines=0, extra_s=0.0):
    """Run WRITER_SCRIPT, SIGKILL it once it handed over ``after_steps`` steps and
    reported ``durable_lines`` durable (and ``extra_s`` later); returns the last
    count of durable lines it printed."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(directory)],
                            stdout=subprocess.PIPE, text=True)
    durable = 0
    for line in proc.stdout:
        n, durable = map(int, line.split())
        if n >= after_steps and durable >= durable_lines:
            break
    time.sleep(extra_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return durable


def names_on(path):
    """The frame files each complete line of traj.jsonl names."""
    lines = [json.loads(x) for x in path.read_text().split("\n")[:-1]]
    return [(x["step_num"], [x["screenshot_file"], *x["prompt_images"]]) for x in lines]


def test_sigkill_mid_episode_leaves_finished_steps_readable(tmp_path):
    d = tmp_path / "killed"
    durable = run_and_kill(d, after_steps=12, durable_lines=6)
    assert durable >= 6
    ep = read_episode(d)
    assert ep.result is None and ep.meta.outcome is None
    numbers = [s.step_num for s in ep.steps]
    assert numbers[:durable] == list(range(1, durable + 1))  # every durable step is there
    for step in ep.steps:
        path = ep.frame(step)  # a frame is whole, never a torn PNG
        if step.parsed_action is not None:
            assert np.asarray(Image.open(path))[-1, -1, 0] == step.step_num % 256


def test_sigkill_at_any_moment_never_leaves_a_line_naming_a_missing_frame(tmp_path):
    rng = np.random.default_rng()
    for attempt in range(6):
        d = tmp_path / f"killed-{attempt}"
        run_and_kill(d, after_steps=int(rng.integers(1, 14)), extra_s=float(rng.uniform(0, 0.2)))
        lines = names_on(d / "traj.jsonl")
        assert [n for n, _ in lines] == list(range(1, len(lines) + 1))  # in order, none missing
        for n, names in lines:
            missing = [name for name in names if name is not None and not (d / name).is_file()]
            assert not missing, f"attempt {attempt}, step {n} names missing frames {missing}"
