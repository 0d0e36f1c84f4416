"""Runs that fail cleanly: one line and exit 2 for a run that cannot start, a task's
own error for an env that cannot start, one run per results directory, and a results
path that depends only on what the user typed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kimicua.env.sandbox import bwrap
from kimicua.tasks.schema import TaskError
from kimicua.tasks.suites import load_builtin, resolve
from kimicua.tools.cli.run import exit_code
from kimicua.tools.lock import ResultsBusy, ResultsLock
from kimicua.tools.runner import Record, Runner, RunOptions, RunSetupError, model_dir_name

KIMICUA = [str(Path(sys.executable).parent / "kimicua")]  # the installed command, as a user runs it


def cli(*args, env=None, timeout=300):
    return subprocess.run([*KIMICUA, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def builtin(*ids):
    by_id = {task.id: (domain, task) for domain, task in load_builtin("all").tasks}
    return [by_id[i] for i in ids]


def test_the_results_path_depends_only_on_what_was_typed():
    assert model_dir_name("http://127.0.0.1:8000") == model_dir_name("http://127.0.0.1:8000/v1/") == "127.0.0.1_8000"
    assert model_dir_name("https://host.example:443/serve/v1") == "host.example_443_serve"
    assert model_dir_name("/ckpts/Kimi-VL-A3B-Instruct/") == "Kimi-VL-A3B-Instruct"
    assert model_dir_name("moonshotai/Kimi-VL-A3B-Instruct") == "Kimi-VL-A3B-Instruct"
    assert model_dir_name("tiny") == "tiny" and model_dir_name("http://x:1", "my run") == "my_run"


def test_one_run_per_results_directory(tmp_path):
    first = ResultsLock(tmp_path)
    with pytest.raises(ResultsBusy, match=rf"in use by another run \(pid {os.getpid()}\)"):
        ResultsLock(tmp_path)
    first.release()
    ResultsLock(tmp_path).release()  # free again
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from kimicua.tools.lock import ResultsLock; ResultsLock(Path(sys.argv[1])); "
                               "print('held', flush=True); time.sleep(60)", str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = cli("run", "small", "--model", "scripted", "--results", str(tmp_path))
        assert out.returncode == 2
        assert out.stderr.strip() == "" and out.stdout.count("\n") == 1, out.stdout
        assert f"in use by another run (pid {holder.pid})" in out.stdout
    finally:
        holder.kill()  # a killed holder's lock goes with it
        holder.wait()
    ResultsLock(tmp_path).release()


def test_an_unreachable_server_fails_before_the_first_task_in_one_line(tmp_path):
    out = cli("run", "small", "--model", "http://127.0.0.1:9", "--results", str(tmp_path))
    assert out.returncode == 2 and out.stdout.count("\n") == 1
    assert out.stdout.startswith("error: GET http://127.0.0.1:9/v1/models: connection refused")
    assert not (tmp_path / "kimi").exists()  # no episode was started


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    for args, says in ((["run", "small", "--screen", "70000x70000"], "--screen"),
                       (["run", "small", "--bogus"], "--bogus"),
                       (["run", "no-such-task-or-suite"], "no-such-task-or-suite"),
                       (["run", "small", "--model", "./no/such/ckpt"], "no such checkpoint directory")):
        out = cli(*args, "--results", str(tmp_path))
        lines = (out.stdout + out.stderr).strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1 and says in lines[0], (args, lines)


def test_no_sandbox_available_stops_the_run_naming_no_sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(bwrap.shutil, "which", lambda name: None)
    bwrap.check_available.cache_clear()
    try:
        with pytest.raises(RunSetupError, match="--no-sandbox"):
            Runner(RunOptions(model="scripted", results=tmp_path))
        assert ResultsLock(tmp_path)  # the failed start let go of the results directory
    finally:
        bwrap.check_available.cache_clear()


def test_an_env_that_cannot_start_is_its_tasks_error_and_the_run_goes_on(tmp_path):
    out = cli("run", "small", "--model", "scripted", "--results", str(tmp_path), "--json",
              env={"KIMICUA_CHROMIUM": "/nonexistent/chromium"})
    rows = json.loads(out.stdout)["episodes"]
    browser = [r for r in rows if r["domain"] == "browser"]
    others = [r for r in rows if r["domain"] != "browser"]
    assert browser and all(r["status"] == "error" and "the browser env cannot start" in r["error"]
                           and "KIMICUA_CHROMIUM" in r["error"] for r in browser)
    assert others and all(r["status"] in ("done", "fail") and r["score"] == 1.0 for r in others)
    assert out.returncode == 1 and "Traceback" not in out.stderr


def test_the_run_stops_early_only_when_its_first_tasks_all_fail_alike(tmp_path, monkeypatch):
    monkeypatch.setenv("KIMICUA_CHROMIUM", "/nonexistent/chromium")
    tasks = builtin("browser-signup-basic", "browser-signup-pro-newsletter", "browser-todo-add-and-complete",
                    "browser-newsletter-unsubscribe")
    with Runner(RunOptions(model="scripted", results=tmp_path)) as runner:
        rows = runner.run(tasks)
    assert [r.status for r in rows] == ["error"] * 3 + ["skipped"]
    assert rows[3].error.startswith("not run: the first 3 episodes all failed with: the browser env cannot start")
    assert exit_code(rows) == 1


def test_exit_codes():
    done = Record("d", "a", "done", 1.0)
    assert exit_code([done, Record("d", "b", "unsupported", None), Record("d", "c", "already done", 0.0)]) == 0
    assert exit_code([done, Record("d", "b", "error", None)]) == 1
    assert exit_code([done, Record("d", "b", "interrupted", None)]) == 130


def test_task_ids_and_osworld_data_are_resolved(tmp_path, monkeypatch):
    assert [t.id for _, t in resolve("browser-signup-basic").tasks] == ["browser-signup-basic"]
    # A user's own OSWorld copy, in OSWorld's layout.
    examples = tmp_path / "evaluation_examples" / "examples" / "os"
    examples.mkdir(parents=True)
    task = json.loads((Path(load_builtin("all").tasks[0][1].origin)).read_text())
    task["id"] = "abc-123"
    (examples / "abc-123.json").write_text(json.dumps(task))
    (tmp_path / "evaluation_examples" / "test_mine.json").write_text(json.dumps({"os": ["abc-123"]}))
    root = tmp_path / "evaluation_examples"
    assert [(d, t.id) for d, t in resolve("abc-123", root).tasks] == [("os", "abc-123")]
    assert [(d, t.id) for d, t in resolve("test_mine.json", root).tasks] == [("os", "abc-123")]
    monkeypatch.setenv("KIMICUA_OSWORLD", str(root))
    assert [t.id for _, t in resolve("abc-123").tasks] == ["abc-123"]
    monkeypatch.delenv("KIMICUA_OSWORLD")
    with pytest.raises(TaskError, match="need --osworld DIR"):
        resolve("abc-123")
    with pytest.raises(TaskError, match="no such OSWorld data folder"):
        resolve("abc-123", tmp_path / "missing")
