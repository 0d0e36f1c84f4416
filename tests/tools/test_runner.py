"""End to end: the scripted policy and the tiny local model each play built-in tasks
on a private Xvfb desktop and in headless Chromium, writing complete trajectories."""

import json

import pytest

from kimicua.agent.trajectory import SCHEMA_VERSION, read_episode
from kimicua.env.geometry import Size
from kimicua.tasks.schema import parse_task
from kimicua.tasks.suites import load_builtin
from kimicua.tools.runner import Runner, RunOptions

pytestmark = [pytest.mark.display, pytest.mark.browser]

TASKS = ("browser-signup-basic", "desktop-terminal-hello-file")


def builtin(*ids):
    by_id = {task.id: (domain, task) for domain, task in load_builtin("all").tasks}
    return [by_id[i] for i in ids]


def run(tmp_path, model, tasks, **kw):
    opts = RunOptions(model=model, results=tmp_path, screen=Size(1280, 800), **kw)
    with Runner(opts) as runner:
        return runner.run(tasks)


def assert_complete(row, *, scored=True):
    ep = read_episode(row.directory)
    assert ep.meta.outcome is not None and ep.meta.outcome.status == row.status
    assert (ep.directory / ep.meta.initial_screenshot).is_file()
    assert ep.result == row.score if scored else ep.result is None
    for step in ep.steps:
        assert step.schema_version == SCHEMA_VERSION and step.response
        if step.parsed_action is not None:
            assert ep.frame(step) is not None  # the screen after every executed action
    return ep


def test_scripted_solutions_score_and_record(tmp_path):
    rows = run(tmp_path, "scripted", builtin(*TASKS), max_steps=40)
    assert [(r.task_id, r.status, r.score) for r in rows] == [(t, "done", 1.0) for t in TASKS]
    for row in rows:
        ep = assert_complete(row)
        assert ep.steps[-1].parsed_action.type == "done" and ep.steps[-1].done
        assert row.directory == tmp_path / "kimi" / "screenshot" / "scripted" / row.domain / row.task_id
    summary = [json.loads(line) for line in (tmp_path / "summary.jsonl").read_text().splitlines()]
    assert [(s["application"], s["task_id"], s["score"]) for s in summary] == [
        ("browser", TASKS[0], 1.0), ("desktop", TASKS[1], 1.0)]
    # Resume: finished tasks are not played again.
    again = run(tmp_path, "scripted", builtin(*TASKS), max_steps=40)
    assert [r.status for r in again] == ["already done", "already done"]


def test_tiny_model_plays_for_real_and_records_tokens(tmp_path):
    rows = run(tmp_path, "tiny", builtin(*TASKS), max_steps=2,
               policy_options={"max_new_tokens": 24, "dtype": "fp32"})
    for row in rows:
        # Random weights: the answers are noise, but every turn is a recorded step.
        assert row.status in {"parse_failures", "truncated", "done", "fail"}, row
        ep = assert_complete(row)
        first_lines = [s for s in ep.steps if s.action_index == 0]
        assert len(first_lines) >= 1
        for s in first_lines:
            assert s.token_ids and len(s.token_ids) == len(s.logprobs) <= 24
            assert all(lp <= 0 for lp in s.logprobs)
            assert s.timings.model_s is not None and s.timings.preprocess_s is not None
        assert ep.meta.model == "tiny"


def test_unsupported_task_is_reported_not_crashed(tmp_path):
    task = parse_task({"id": "needs-drive", "instruction": "Upload it.",
                       "config": [{"type": "googledrive", "parameters": {}}],
                       "evaluator": {"func": "exact_match", "result": {"type": "rule"},
                                     "expected": {"type": "rule", "rules": {"expected": "x"}}}})
    (row,) = run(tmp_path, "scripted", [("osworld", task)])
    assert row.status == "unsupported" and "googledrive" in row.error and row.score is None
