"""`kimicua export` emits routing records (--record-routing): the step level per turn, the
episode level along the response ids, zeros where the environment inserted tokens."""

import json
import time

import numpy as np
import pyarrow.parquet as pq

from kimicua.agent.trajectory import EpisodeMeta, Outcome, StepRecord, TrajectoryWriter, timestamp
from kimicua.env.actions import Done, Wait, to_computer13
from kimicua.tools.export import export_run

M, K = 2, 3  # MoE layers, experts per token


def record(n_tokens, seed):
    return np.random.default_rng(seed).integers(0, 64, (n_tokens, M, K)).astype(np.uint8)


def write(root, turns, routed=True):
    d = root / "kimi" / "screenshot" / "m" / "os" / "t" / "rollout_0"
    meta = EpisodeMeta(task_id="t", instruction="do t", domain="os", model="m", dialect="kimi",
                       rollout=0, group="os/t")
    with TrajectoryWriter(d, meta) as w:
        shown = w.initial(np.zeros((8, 12, 3), np.uint8))
        for number, (prompt, ids, action) in enumerate(turns, start=1):
            line = StepRecord(step_num=w.steps + 1, action_timestamp=timestamp(time.time()),
                              action=to_computer13(action), parsed_action=action, turn=number,
                              prompt_images=[shown], prompt_token_ids=prompt, token_ids=ids,
                              logprobs=[-0.1] * len(ids), response=f"answer {number}")
            routing = record(len(ids), number) if routed else None
            shown = w.step(line, np.full((8, 12, 3), number, np.uint8), routing).screenshot_file
        w.finish(Outcome(status="done", score=1.0, steps=w.steps, turns=len(turns)))
    return d


TURNS = [([1, 2, 3], [10, 11], Wait()), ([1, 2, 3, 10, 11, 4, 5], [12, 13, 14], Done())]  # turn 2 extends 1


def test_step_rows_carry_the_turns_record_and_its_file(tmp_path):
    write(tmp_path / "results", TURNS)
    out = tmp_path / "steps.parquet"
    export_run(tmp_path / "results", out, level="step")
    rows = pq.read_table(out).to_pylist()
    assert [r["routing_file"] for r in rows] == ["routing_turn_1.npy", "routing_turn_2.npy"]
    for number, r in enumerate(rows, start=1):
        assert r["routed_experts"] == record(len(r["response_token_ids"]), number).tolist()
        assert np.asarray(r["routed_experts"]).shape == (len(r["response_token_ids"]), M, K)


def test_episode_rows_align_the_record_with_the_response_ids(tmp_path):
    write(tmp_path / "results", TURNS)
    out = tmp_path / "episodes.jsonl"
    export_run(tmp_path / "results", out, fmt="jsonl", level="episode")
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["response_ids"] == [10, 11, 4, 5, 12, 13, 14]
    assert row["response_mask"] == [1, 1, 0, 0, 1, 1, 1]
    blank = [[0] * K] * M
    assert row["routed_experts"] == record(2, 1).tolist() + [blank, blank] + record(3, 2).tolist()


def test_without_recording_the_columns_are_null(tmp_path):
    d = write(tmp_path / "results", TURNS, routed=False)
    assert not list(d.glob("*.npy"))
    for level in ("step", "episode"):
        out = tmp_path / f"{level}.parquet"
        export_run(tmp_path / "results", out, level=level)
        rows = pq.read_table(out).to_pylist()
        assert all(r["routed_experts"] is None for r in rows)
        assert all(r.get("routing_file") is None for r in rows)
