import json
import urllib.request

import pytest
from typer.testing import CliRunner

from kimicua.env.actions import Done, Fail
from kimicua.tasks.context import RunContext, mentions, substitute
from kimicua.tasks.pages import PageServer
from kimicua.tasks.run import TaskRun
from kimicua.tasks.schema import parse_task
from kimicua.tasks.setup import SetupError, UnsupportedStep
from kimicua.tasks.suites import BUILTIN, builtin_suites, load_builtin
from kimicua.tools.cli.tasks import app
from task_fakes import FakeEnv


def test_substitute_replaces_only_known_names(tmp_path):
    ctx = RunContext(tmp_path, pages="http://127.0.0.1:5")
    value = {"a": ["{workdir}/x", "{pages}/p.html", "{DayD}", "{'k': 1}"], "n": 3}
    assert substitute(value, ctx.variables()) == {
        "a": [f"{tmp_path}/x", "http://127.0.0.1:5/p.html", "{DayD}", "{'k': 1}"], "n": 3}
    assert mentions(value, "pages") and not mentions(value, "home")


def test_page_server_serves_pages_uncached_until_closed():
    server = PageServer()
    with urllib.request.urlopen(f"{server.url}/todo.html") as response:
        assert b"todoState" in response.read()
        assert response.headers["Cache-Control"] == "no-store"
    server.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/todo.html", timeout=2)


def test_task_run_lifecycle_with_a_fake_env(tmp_path):
    task = parse_task({
        "id": "file-task", "instruction": "Write {workdir}/out.txt",
        "config": [{"type": "download", "parameters": {"files": [
            {"url": "{pages}/files/hello.txt", "path": "{workdir}/in.txt"}]}}],
        "evaluator": {"func": "compare_text_file",
                      "result": {"type": "vm_file", "path": "{workdir}/in.txt", "dest": "in.txt"},
                      "expected": {"type": "cloud_file", "path": "{pages}/files/hello.txt", "dest": "e.txt"}},
    })
    env = FakeEnv()
    with TaskRun(task, env) as run:
        assert run.id == "file-task" and run.env_kind == "desktop"
        assert run.instruction == f"Write {env.home}/out.txt"  # {workdir} is the env's home
        (run.workdir / ".cache").mkdir()
        (run.workdir / ".cache" / "stale.txt").write_text("from an earlier episode")
        run.setup(env)
        assert not (run.workdir / ".cache" / "stale.txt").exists()
        assert (env.host_path(env.home) / "in.txt").read_text() == "hello world\n"
        assert env.exposed == [int(run.ctx.pages.rsplit(":", 1)[1])]  # the page server reaches the env
        assert run.evaluate(env, [Done()]) == 1.0
        assert run.evaluate(env, [Fail()]) == 0.0 and "final Fail" in run.last_evaluation.reason
        workdir = run.workdir
    assert not workdir.exists()


def test_task_run_setup_errors_name_the_task():
    bad = parse_task({"id": "needs-drive", "instruction": "i", "evaluator": {"func": "exact_match"},
                      "config": [{"type": "googledrive", "parameters": {}}]})
    with TaskRun(bad) as run, pytest.raises(UnsupportedStep):
        run.setup(FakeEnv())
    broken = parse_task({"id": "no-app", "instruction": "i", "evaluator": {"func": "exact_match"},
                         "config": [{"type": "launch", "parameters": {"command": ["no-such-app-kimicua"]}}]})
    with TaskRun(broken) as run, pytest.raises(SetupError, match="^task no-app: launch: program"):
        run.setup(FakeEnv())


def test_task_run_opens_the_network_only_for_tasks_that_ask():
    quiet = parse_task({"id": "local", "instruction": "i", "evaluator": {"func": "exact_match"},
                        "config": [{"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["{pages}/a.html"]}}]})
    remote = parse_task({"id": "web", "instruction": "i", "evaluator": {"func": "exact_match"},
                         "config": [{"type": "chrome_open_tabs", "parameters": {"urls_to_open": ["https://example.org"]}}]})
    for task, wanted in ((quiet, False), (remote, True)):
        env = FakeEnv()
        with TaskRun(task) as run:
            run.setup(env)
        assert env.network is wanted


def test_builtin_suites_are_valid_and_every_task_is_supported_and_solvable_on_paper():
    assert {"all", "small"} <= set(builtin_suites())
    loaded = load_builtin("all")
    assert loaded.errors == []
    domains = {d for d, _ in loaded.tasks}
    assert {"browser", "desktop", "infeasible"} <= domains
    assert len(loaded) >= 24
    ids = [t.id for _, t in loaded.tasks]
    assert len(ids) == len(set(ids))
    for domain, task in loaded.tasks:
        assert task.kimicua and task.kimicua.solution, task.id
        last = task.kimicua.solution[-1].type
        assert last == ("fail" if domain == "infeasible" else "done"), task.id
        assert task.evaluator.infeasible == (domain == "infeasible")


def test_cli_list_and_check():
    runner = CliRunner()
    listed = runner.invoke(app, ["list", "small"])
    assert listed.exit_code == 0 and "browser-signup-basic" in listed.output
    checked = runner.invoke(app, ["check", str(BUILTIN), "--json"])
    assert checked.exit_code == 0
    data = json.loads(checked.output)
    assert data["loaded"] == data["runnable"] >= 24 and data["unsupported"] == {}
    missing = runner.invoke(app, ["check", "no/such/path"])
    assert missing.exit_code == 2 and "not a built-in suite" in missing.output


def test_the_vm_password_placeholder_is_osworlds_default_or_the_users(tmp_path, monkeypatch):
    ctx = RunContext(tmp_path)
    assert substitute("echo {CLIENT_PASSWORD} | sudo -S true", ctx.variables()) == "echo password | sudo -S true"
    monkeypatch.setenv("KIMICUA_VM_PASSWORD", "s3cret")
    assert substitute("{CLIENT_PASSWORD}", ctx.variables()) == "s3cret"
