"""`kimicua export` on a hand-made run: every column, and values computed by hand.

The run (results/kimi/screenshot/m/...), written with the trajectory writer as the
episode loop writes it:
- chrome/a, rollouts 0..2 scored 1, 0, 1 (a local model: prompt and response ids);
  rollout 0 has a two-action turn, then a turn whose prompt extends the first turn's
  sequence, then one that does not; rollout 1 starts with an unparseable answer;
  rollout 3 was interrupted (no score); rollout_0.interrupted-1 is a set-aside attempt.
- os/b, rollouts 0..2 all scored 0.1 (std 0): rollout 0 local, rollout 1 a server with
  logprobs only, rollout 2 a server with response ids but no prompt ids.
"""

import json
import math
import statistics
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from kimicua.agent.trajectory import EpisodeMeta, Outcome, StepRecord, Timings, TrajectoryWriter, timestamp
from kimicua.env.actions import Click, Done, Type, Wait, action_to_json, to_computer13
from kimicua.tools.cli.export import export_command
from kimicua.tools.export import EPISODE_COLUMNS, STEP_COLUMNS, ExportError, export_run, group_stats

MODEL_DIR = ("kimi", "screenshot", "m")
SQRT3 = math.sqrt(3)


def frame(seed):
    return np.full((8, 12, 3), seed % 256, dtype=np.uint8)


def turn(actions=(), error=None, prompt=None, ids=None, logprobs=None, text=None):
    return {"actions": list(actions), "error": error, "prompt": prompt, "ids": ids, "logprobs": logprobs,
            "text": text}


def write_episode(root, domain, task, rollout, turns, score, *, status="done", dirname=None):
    """Write one episode as the loop does: lines per action, the turn's facts on its first."""
    d = root.joinpath(*MODEL_DIR, domain, task, dirname or f"rollout_{rollout}")
    meta = EpisodeMeta(task_id=task, instruction=f"do {task}", domain=domain, model="m", dialect="kimi",
                       rollout=rollout, group=f"{domain}/{task}")
    with TrajectoryWriter(d, meta) as w:
        shown = w.initial(frame(0))
        for number, t in enumerate(turns, start=1):
            messages = [{"role": "system", "content": "sys"},
                        {"role": "user", "content": [{"type": "image", "file": shown},
                                                     {"type": "text", "text": "What is the next step?"}]}]
            text = t["text"] or f"answer {number}"
            shared = dict(response=text, turn=number, prompt_images=[shown], prompt_messages=messages,
                          prompt_token_ids=t["prompt"], token_ids=t["ids"], logprobs=t["logprobs"])
            if t["error"]:
                w.step(StepRecord(step_num=w.steps + 1, action_timestamp=timestamp(time.time()),
                                  screenshot_file=shown, error=t["error"],
                                  timings=Timings(model_s=0.5, parse_s=0.01), **shared))
                continue
            for index, action in enumerate(t["actions"]):
                first = index == 0
                line = StepRecord(
                    step_num=w.steps + 1, action_timestamp=timestamp(time.time()), action=to_computer13(action),
                    parsed_action=action, action_index=index, done=isinstance(action, Done),
                    timings=Timings(model_s=0.5, parse_s=0.01, execute_s=0.1) if first else Timings(execute_s=0.2),
                    **(shared if first else {**shared, "prompt_messages": None, "prompt_token_ids": None,
                                             "token_ids": None, "logprobs": None}))
                shown = w.step(line, frame(w.steps + 1)).screenshot_file
        w.finish(Outcome(status=status, score=score, steps=w.steps, turns=len(turns)))
    return d


@pytest.fixture
def run(tmp_path):
    root = tmp_path / "results"
    write_episode(root, "chrome", "a", 0, [
        turn([Click(x=1, y=2), Type(text="hi")], prompt=[1, 2, 3], ids=[10, 11], logprobs=[-0.1, -0.2]),
        turn([Wait()], prompt=[1, 2, 3, 10, 11, 4, 5], ids=[12], logprobs=[-0.3]),  # extends turn 1
        turn([Done()], prompt=[1, 2, 3, 99], ids=[13], logprobs=[-0.4]),  # rebuilt: a new segment
    ], 1.0)
    write_episode(root, "chrome", "a", 1, [
        turn(error="no action found", prompt=[1, 2, 3], ids=[20], logprobs=[-1.0], text="gibberish"),
        turn([Done()], prompt=[1, 2, 3, 20, 7], ids=[21], logprobs=[-0.5]),
    ], 0.0)
    write_episode(root, "chrome", "a", 2, [turn([Done()], prompt=[1, 2, 3], ids=[30], logprobs=[-0.2])], 1.0)
    write_episode(root, "chrome", "a", 3, [turn([Wait()], prompt=[1], ids=[31], logprobs=[-0.2])], None,
                  status="interrupted")
    write_episode(root, "chrome", "a", 0, [turn([Done()], prompt=[1], ids=[9], logprobs=[-9.0])], 0.0,
                  dirname="rollout_0.interrupted-1")
    write_episode(root, "os", "b", 0, [turn([Done()], prompt=[5, 6], ids=[40], logprobs=[-0.1])], 0.1)
    write_episode(root, "os", "b", 1, [turn([Done()], logprobs=[-0.5, -0.6])], 0.1)  # server, logprobs only
    write_episode(root, "os", "b", 2, [turn([Done()], ids=[50, 51], logprobs=[-0.1, -0.2])], 0.1)  # no prompt ids
    return root


def rows_of(path):
    return pq.read_table(path).to_pylist()


def by_episode(rows):
    out = {}
    for r in rows:
        out.setdefault((r["group"], r["rollout"]), []).append(r)
    return out


def test_step_level_columns_and_values(run, tmp_path):
    out = tmp_path / "steps.parquet"
    report = export_run(run, out)
    table = pq.read_table(out)
    assert table.column_names == [name for name, _ in STEP_COLUMNS]
    rows = table.to_pylist()
    assert report.rows == len(rows) == 3 + 2 + 1 + 3  # turns of the six scored episodes
    assert (report.episodes, report.groups, report.unscored, report.set_aside) == (6, 2, 1, 1)
    assert report.without_token_ids == 2  # os/b rollouts 1 and 2
    eps = by_episode(rows)
    assert sorted(eps) == [("chrome/a", 0), ("chrome/a", 1), ("chrome/a", 2),
                           ("os/b", 0), ("os/b", 1), ("os/b", 2)]  # each group's rollouts adjacent

    t1, t2, t3 = eps["chrome/a", 0]
    for r in (t1, t2, t3):
        assert {k: r[k] for k in ("task_id", "domain", "group", "rollout", "model", "dialect", "instruction",
                                  "status", "num_turns")} == {
            "task_id": "a", "domain": "chrome", "group": "chrome/a", "rollout": 0, "model": "m",
            "dialect": "kimi", "instruction": "do a", "status": "done", "num_turns": 3}
        assert r["episode_dir"] == "kimi/screenshot/m/chrome/a/rollout_0"
        assert r["episode_return"] == 1.0 and r["group_size"] == 3
        assert r["group_mean"] == pytest.approx(2 / 3) and r["group_std"] == pytest.approx(1 / SQRT3)
        assert r["advantage"] == pytest.approx((1 - 2 / 3) * SQRT3)
    assert [r["turn"] for r in (t1, t2, t3)] == [1, 2, 3]
    assert [r["step_reward"] for r in (t1, t2, t3)] == [0.0, 0.0, 1.0]
    assert [r["is_last"] for r in (t1, t2, t3)] == [False, False, True]
    # The two-action turn is one row: both actions, its lines' step numbers, timings summed.
    assert t1["step_nums"] == [1, 2] and t2["step_nums"] == [3] and t3["step_nums"] == [4]
    assert [json.loads(a) for a in t1["actions"]] == [action_to_json(Click(x=1, y=2)), action_to_json(Type(text="hi"))]
    assert t1["timings"]["model_s"] == 0.5 and t1["timings"]["parse_s"] == 0.01
    assert t1["timings"]["execute_s"] == pytest.approx(0.3) and t1["timings"]["capture_s"] is None
    assert t1["timings"]["write_s"] >= 0  # measured by the writer on each line
    assert t1["response"] == "answer 1" and t1["error"] is None
    assert (t1["prompt_token_ids"], t1["response_token_ids"], t1["response_logprobs"]) == ([1, 2, 3], [10, 11], [-0.1, -0.2])
    assert t2["prompt_token_ids"] == [1, 2, 3, 10, 11, 4, 5]
    # The prompt as recorded: image items name the frame file, a string content is one text item.
    initial = t1["prompt_images"][0]
    assert initial.startswith("initial_") and (run / t1["episode_dir"] / initial).exists()
    assert t1["prompt_messages"] == [
        {"role": "system", "content": [{"type": "text", "text": "sys", "file": None}]},
        {"role": "user", "content": [{"type": "image", "text": None, "file": initial},
                                     {"type": "text", "text": "What is the next step?", "file": None}]}]
    assert t2["prompt_images"][0].startswith("step_2_")  # the screen after turn 1's last action

    bad, done = eps["chrome/a", 1]
    assert bad["actions"] == [] and bad["error"] == "no action found" and bad["response"] == "gibberish"
    assert bad["response_token_ids"] == [20] and bad["step_reward"] == 0.0 and bad["step_nums"] == [1]
    assert bad["timings"]["execute_s"] is None
    assert done["step_reward"] == 0.0 and done["episode_return"] == 0.0
    assert done["advantage"] == pytest.approx(-2 / 3 * SQRT3)
    (only,) = eps["chrome/a", 2]
    assert only["step_reward"] == 1.0 and only["is_last"] and only["advantage"] == pytest.approx(SQRT3 / 3)

    for k in range(3):  # equal returns: std 0, advantage 0 (not a rounding residue of 0.1 + 0.1 + 0.1)
        (r,) = eps["os/b", k]
        assert (r["step_reward"], r["episode_return"], r["advantage"]) == (0.1, 0.1, 0.0)
        assert (r["group_size"], r["group_mean"], r["group_std"]) == (3, 0.1, 0.0)
    (server,) = eps["os/b", 1]
    assert server["prompt_token_ids"] is None and server["response_token_ids"] is None
    assert server["response_logprobs"] == [-0.5, -0.6]
    (vllm,) = eps["os/b", 2]
    assert vllm["prompt_token_ids"] is None and vllm["response_token_ids"] == [50, 51]


def test_episode_level_masks_segments_and_rewards(run, tmp_path):
    out = tmp_path / "episodes.parquet"
    report = export_run(run, out, level="episode")
    table = pq.read_table(out)
    assert table.column_names == [name for name, _ in EPISODE_COLUMNS]
    eps = by_episode(table.to_pylist())
    assert report.rows == 2 + 1 + 1 + 3

    chain, rebuilt = eps["chrome/a", 0]
    # Turn 2's prompt is turn 1's prompt + response + [4, 5]: one sequence, [4, 5] masked out.
    assert (chain["segment"], chain["num_segments"], chain["turns"], chain["num_turns"], chain["episode_turns"]) == (0, 2, [1, 2], 2, 3)
    assert chain["prompt_ids"] == [1, 2, 3]
    assert chain["response_ids"] == [10, 11, 4, 5, 12]
    assert chain["response_mask"] == [1, 1, 0, 0, 1]
    assert chain["response_logprobs"] == [-0.1, -0.2, 0.0, 0.0, -0.3]
    assert chain["responses"] == ["answer 1", "answer 2"]
    assert chain["images"][0].startswith("step_2_")  # the last prompt's images cover the sequence
    assert chain["prompt_messages"][1]["content"][0]["file"].startswith("initial_")
    # Turn 3's prompt does not start with that sequence: a row of its own.
    assert (rebuilt["segment"], rebuilt["turns"], rebuilt["prompt_ids"], rebuilt["response_ids"]) == (1, [3], [1, 2, 3, 99], [13])
    assert rebuilt["response_mask"] == [1] and rebuilt["response_logprobs"] == [-0.4]
    for r in (chain, rebuilt):
        assert r["reward"] == 1.0 and r["advantage"] == pytest.approx(SQRT3 / 3) and r["group_size"] == 3

    (failed_first,) = eps["chrome/a", 1]  # the unparseable answer stays in the sequence, as the model's tokens
    assert failed_first["response_ids"] == [20, 7, 21] and failed_first["response_mask"] == [1, 0, 1]
    assert failed_first["response_logprobs"] == [-1.0, 0.0, -0.5] and failed_first["num_segments"] == 1
    assert failed_first["reward"] == 0.0 and failed_first["advantage"] == pytest.approx(-2 / 3 * SQRT3)

    (server,) = eps["os/b", 1]
    for col in ("prompt_ids", "response_ids", "response_mask", "response_logprobs"):
        assert server[col] is None
    assert server["responses"] == ["answer 1"] and server["reward"] == 0.1 and server["advantage"] == 0.0
    (vllm,) = eps["os/b", 2]
    assert vllm["prompt_ids"] is None and vllm["response_ids"] == [50, 51]
    assert vllm["response_mask"] == [1, 1] and vllm["response_logprobs"] == [-0.1, -0.2]
    for rows in eps.values():
        for r in rows:
            if r["response_ids"] is not None:
                assert len(r["response_mask"]) == len(r["response_ids"]) == len(r["response_logprobs"])


def test_unscored_left_out_unless_asked_and_never_in_group_stats(run, tmp_path):
    report = export_run(run, tmp_path / "kept.parquet", include_unscored=True)
    eps = by_episode(rows_of(tmp_path / "kept.parquet"))
    (r,) = eps["chrome/a", 3]
    assert r["status"] == "interrupted"
    assert (r["step_reward"], r["episode_return"], r["advantage"]) == (None, None, None)
    assert (r["group_size"], r["group_mean"]) == (3, pytest.approx(2 / 3))  # the scored three only
    assert report.episodes == 7 and report.unscored == 1
    assert any("kept with null rewards" in w for w in report.warnings(True))
    default = by_episode(rows_of(_export(run, tmp_path / "default.parquet")))
    assert ("chrome/a", 3) not in default
    # The set-aside attempt (its logprob -9.0) is in neither.
    assert all(r["response_logprobs"] != [-9.0] for rows in (eps, default) for ep in rows.values() for r in ep)


def _export(run, out, **kw):
    export_run(run, out, **kw)
    return out


def test_readable_by_datasets_and_jsonl_round_trip(run, tmp_path):
    from datasets import load_dataset

    for level in ("step", "episode"):
        parquet = _export(run, tmp_path / f"{level}.parquet", level=level)
        jsonl = _export(run, tmp_path / f"{level}.jsonl", fmt="jsonl", level=level)
        expected = rows_of(parquet)
        ds = load_dataset("parquet", data_files=str(parquet), split="train", cache_dir=str(tmp_path / "hf"))
        assert ds.column_names == list(expected[0])
        assert ds.to_list() == expected
        lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
        assert lines == expected


def test_rows_stream_in_row_groups(run, tmp_path):
    small = _export(run, tmp_path / "small.parquet", rows_per_group=2)
    assert pq.ParquetFile(small).num_row_groups == 5  # 9 rows, 2 at a time
    assert rows_of(small) == rows_of(_export(run, tmp_path / "one.parquet"))


def test_group_stats_sample_std_as_verl():
    stats = group_stats([("a", 1.0), ("a", 0.0), ("a", 1.0), ("a", 0.5), ("b", 0.7), ("c", 0.1), ("c", 0.1)])
    a = stats["a"]
    assert a.size == 4 and a.mean == 0.625 and a.std == pytest.approx(statistics.stdev([1.0, 0.0, 1.0, 0.5]))
    assert a.advantage(0.0) == pytest.approx(-0.625 / statistics.stdev([1.0, 0.0, 1.0, 0.5]))
    assert (stats["b"].std, stats["b"].advantage(0.7)) == (0.0, 0.0)  # a group of one: no signal
    assert (stats["c"].mean, stats["c"].std, stats["c"].advantage(0.1)) == (0.1, 0.0, 0.0)


def test_identity_from_the_path_for_older_and_osworld_runs(tmp_path):
    root = tmp_path / "results"
    d = root / "pyautogui" / "screenshot" / "gpt" / "os" / "t9"
    d.mkdir(parents=True)
    (d / "traj.jsonl").write_text(json.dumps(
        {"step_num": 1, "action_timestamp": "20240101@000000000000", "action": "pyautogui.click(1, 2)",
         "response": "r", "reward": 0, "done": True, "info": {}, "screenshot_file": "step_1_x.png"}) + "\n")
    (d / "result.txt").write_text("1.0\n")
    # An episode written before episodes recorded their rollout and group.
    old = write_episode(root, "chrome", "a", 2, [turn([Done()], prompt=[1], ids=[2], logprobs=[-0.1])], 0.5)
    meta = json.loads((old / "episode.json").read_text())
    (old / "episode.json").write_text(json.dumps({k: v for k, v in meta.items() if k not in ("rollout", "group")}))
    rows = rows_of(_export(root, tmp_path / "o.parquet"))
    osworld = next(r for r in rows if r["task_id"] == "t9")
    assert {k: osworld[k] for k in ("domain", "group", "rollout", "model", "dialect", "instruction", "status")} == {
        "domain": "os", "group": "os/t9", "rollout": 0, "model": "gpt", "dialect": "pyautogui",
        "instruction": None, "status": None}
    assert (osworld["turn"], osworld["step_reward"], osworld["advantage"], osworld["group_std"]) == (1, 1.0, 0.0, 0.0)
    assert osworld["actions"] == [] and osworld["prompt_messages"] is None
    older = next(r for r in rows if r["task_id"] == "a")
    assert (older["group"], older["rollout"]) == ("chrome/a", 2)
    # Exporting one folder below the root names episodes relative to it.
    (only,) = rows_of(_export(d, tmp_path / "one.parquet"))
    assert only["episode_dir"] == "." and only["task_id"] == "t9"


app = typer.Typer()
app.command("export")(export_command)
app.command("noop")(lambda: None)  # two commands, so "export" is a sub-command as in kimicua


def cli(args):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always keeps stderr apart
        runner = CliRunner()
    return runner.invoke(app, ["export", *map(str, args)])


def test_cli_writes_and_warns(run, tmp_path):
    out = tmp_path / "x.jsonl"  # the format follows the suffix
    result = cli([run, "--out", out, "--level", "episode"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"wrote 7 episode row(s) from 6 episode(s) in 2 group(s) to {out}"
    warnings = result.stderr.strip().splitlines()
    assert all(w.startswith("warning: ") for w in warnings) and len(warnings) == 3
    assert "1 episode(s) without a score" in warnings[0] and "--include-unscored" in warnings[0]
    assert "set-aside" in warnings[1] and "2 of 6 episode(s) have turns without token ids" in warnings[2]
    assert json.loads(out.read_text().splitlines()[0])["segment"] == 0


@pytest.mark.parametrize("case, message", [
    ("empty", "no episodes below it"),
    ("format", "unknown format 'csv'"),
    ("level", "unknown level 'turn'"),
    ("out_dir", "is a directory"),
    ("out_parent", "no such directory"),
    ("missing_run", "no such directory"),
])
def test_cli_bad_input_is_one_line_and_exit_2(run, tmp_path, case, message):
    out, extra, source = tmp_path / "x.parquet", [], run
    if case == "empty":
        source = tmp_path / "empty"
        source.mkdir()
    elif case == "format":
        extra = ["--format", "csv"]
    elif case == "level":
        extra = ["--level", "turn"]
    elif case == "out_dir":
        out = tmp_path
    elif case == "out_parent":
        out = tmp_path / "nowhere" / "x.parquet"
    elif case == "missing_run":
        source = tmp_path / "nothing"
    result = cli([source, "--out", out, *extra])
    assert result.exit_code == 2
    assert result.stdout == ""
    line, = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line
    assert not any(p.name.startswith(".x.parquet.tmp") for p in tmp_path.iterdir())


def test_only_unscored_episodes_is_bad_input(tmp_path):
    root = tmp_path / "r"
    write_episode(root, "os", "b", 0, [turn([Wait()])], None, status="interrupted")
    with pytest.raises(ExportError, match="none of its 1 episode"):
        export_run(root, tmp_path / "x.parquet")
    (r,) = rows_of(_export(root, tmp_path / "x.parquet", include_unscored=True))
    assert r["status"] == "interrupted" and r["group_size"] is None and r["advantage"] is None


def test_readme_documents_every_column():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Export for RL", 1)[1].split("\n## ", 1)[0]
    tables = [t for t in section.split("\n\n") if t.lstrip().startswith("| column")]
    documented = [[line.split("|")[1].strip().strip("`") for line in t.strip().splitlines()[2:]] for t in tables]
    assert documented == [[n for n, _ in STEP_COLUMNS], [n for n, _ in EPISODE_COLUMNS]]


def test_unreadable_episodes_are_skipped_with_a_line_each(run, tmp_path):
    broken = run.joinpath(*MODEL_DIR, "os", "b", "rollout_0", "traj.jsonl")
    lines = broken.read_text().splitlines()
    broken.write_text("{not json\n" + "\n".join(lines) + "\n")  # bad JSON before the last line: an error
    meta = run.joinpath(*MODEL_DIR, "os", "b", "rollout_1", "episode.json")
    meta.write_text('{"task_id": 3}')
    report = export_run(run, tmp_path / "x.parquet")
    eps = by_episode(rows_of(tmp_path / "x.parquet"))
    assert ("os/b", 0) not in eps and ("os/b", 1) not in eps and ("os/b", 2) in eps
    skipped = [w for w in report.warnings(False) if w.startswith("skipped ")][:2]
    assert "episode.json" in skipped[0] and "traj.jsonl:1: not JSON" in skipped[1]
    # The group's statistics come from the episodes read: rollout 0's score still counts (its
    # metadata was fine), rollout 1's cannot.
    assert eps["os/b", 2][0]["group_size"] == 2
