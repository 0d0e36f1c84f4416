"""Runs at scale: rollout groups, results.json, Ray workers (a killed worker, resume,
Ctrl-C), on real Xvfb desktops and Chromium."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kimicua.agent.trajectory import read_episode
from kimicua.env.geometry import Size
from kimicua.tasks.schema import load_task
from kimicua.tasks.suites import load_builtin
from kimicua.tools.runner import Runner, RunOptions, RunSetupError, run_dir

pytestmark = [pytest.mark.display, pytest.mark.browser]
KIMICUA = str(Path(sys.executable).parent / "kimicua")


def builtin(*ids):
    by_id = {task.id: (domain, task) for domain, task in load_builtin("all").tasks}
    return [by_id[i] for i in ids]


def slow_task(tmp_path: Path, seconds: float):
    """A built-in task whose solution waits ``seconds`` before finishing."""
    domain, task = builtin("browser-signup-basic")[0]
    data = json.loads(Path(task.origin).read_text())
    data["id"] = "browser-signup-slow"
    for _ in range(int(seconds // 60)):  # a wait action is at most 60 s
        data["kimicua"]["solution"].insert(-1, {"type": "wait", "seconds": 60})
    data["kimicua"]["solution"].insert(-1, {"type": "wait", "seconds": seconds % 60})
    path = tmp_path / "tasks" / "browser-signup-slow.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    return domain, load_task(path)


def test_rollouts_make_groups_with_their_own_seeds_and_results_json(tmp_path):
    opts = RunOptions(model="scripted", results=tmp_path, screen=Size(1024, 768), rollouts=2, seed=7, max_steps=30)
    with Runner(opts) as runner:
        records = runner.run(builtin("desktop-terminal-hello-file", "infeasible-klingon"))
    assert [(r.task_id, r.rollout, r.status, r.score) for r in records] == [
        ("desktop-terminal-hello-file", 0, "done", 1.0), ("desktop-terminal-hello-file", 1, "done", 1.0),
        ("infeasible-klingon", 0, "fail", 1.0), ("infeasible-klingon", 1, "fail", 1.0)]
    for r in records:
        assert r.directory == run_dir(opts) / r.domain / r.task_id / f"rollout_{r.rollout}"
        meta = read_episode(r.directory).meta
        assert (meta.seed, meta.rollout, meta.group) == (7 + r.rollout, r.rollout, f"{r.domain}/{r.task_id}")
        assert meta.outcome.turns == r.turns >= 1 and meta.outcome.verdict.startswith("1:")
    saved = json.loads((run_dir(opts) / "results.json").read_text())["episodes"]
    assert [(e["task_id"], e["rollout"], e["score"], e["steps"]) for e in saved] == [
        (r.task_id, r.rollout, r.score, r.steps) for r in records]
    assert set(saved[0]) == {"domain", "task_id", "rollout", "status", "score", "steps", "turns", "seconds",
                             "error", "directory"}


def test_ray_is_optional(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the scale extra were not installed
    with pytest.raises(RunSetupError, match=r"needs Ray: pip install 'kimicua\[scale\]'"):
        Runner(RunOptions(model="scripted", results=tmp_path, workers=2))
    with Runner(RunOptions(model="scripted", results=tmp_path, screen=Size(800, 600))) as runner:
        (record,) = runner.run(builtin("infeasible-klingon"))
    assert record.score == 1.0  # one worker needs no Ray


@pytest.mark.slow
def test_two_workers_survive_a_killed_worker_and_resume(tmp_path):
    tasks = [slow_task(tmp_path, 4.0), *builtin("desktop-terminal-mkdir")]
    opts = RunOptions(model="scripted", results=tmp_path / "runs", screen=Size(1024, 768), workers=2, max_steps=30)
    with Runner(opts) as runner:
        slow = run_dir(opts) / "browser" / "browser-signup-slow"

        def kill_when_started() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (slow / "traj.jsonl").exists():
                time.sleep(0.05)
            os.kill(_browser_worker(runner.pool.pids), signal.SIGKILL)  # mid-episode

        killer = threading.Thread(target=kill_when_started, daemon=True)
        killer.start()
        records = runner.run(tasks)
        killer.join()
    assert [(r.task_id, r.status, r.score) for r in records] == [
        ("browser-signup-slow", "done", 1.0), ("desktop-terminal-mkdir", "done", 1.0)]
    # The killed attempt's partial directory was kept, set aside by the retry.
    assert read_episode(slow.with_name("browser-signup-slow.interrupted-1")).meta.outcome is None
    with Runner(opts) as runner:  # resume under workers: nothing is played again
        again = runner.run(tasks)
    assert [r.status for r in again] == ["already done", "already done"]


def _browser_worker(pids: list[int]) -> int:
    """The worker playing the browser task: the one whose child is Playwright's driver."""
    for pid in pids:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            try:
                if b"playwright" in Path(f"/proc/{child}/cmdline").read_bytes():
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker of {pids} runs a browser")


@pytest.mark.slow
def test_ctrl_c_stops_all_workers_and_keeps_every_finished_episode(tmp_path):
    suite = tmp_path / "suite"
    for _, task in [slow_task(tmp_path, 180.0), *builtin("infeasible-klingon", "infeasible-refresh-rate")]:  # Ctrl-C cuts the wait
        suite.mkdir(exist_ok=True)
        (suite / f"{task.id}.json").write_text(Path(task.origin).read_text())
    results = tmp_path / "runs"
    proc = subprocess.Popen([KIMICUA, "run", str(suite), "--model", "scripted", "--results", str(results),
                             "--workers", "2", "--screen", "1024x768"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"},
                            # as a terminal would: under `make test &` the shell hands SIGINT down ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    done_file = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(results.rglob("result.txt"))
        if len(found) >= 2:
            done_file = found
            break
        time.sleep(0.2)
    assert done_file, "the two quick episodes never finished"
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints where every thread stood
        pytest.fail("kimicua run ignored Ctrl-C for 120 s:\n" + proc.communicate()[0][-6000:])
    assert proc.returncode == 130, out
    saved = json.loads(next(results.rglob("results.json")).read_text())["episodes"]
    finished = {e["task_id"] for e in saved if e["score"] is not None}
    assert finished == {"infeasible-klingon", "infeasible-refresh-rate"}
    assert all(p.exists() for p in done_file)
