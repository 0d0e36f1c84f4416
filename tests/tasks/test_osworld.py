import json
from pathlib import Path

import pytest

from kimicua.tasks.osworld import load_dir, load_path, load_suite, report, support
from kimicua.tasks.schema import TaskError, parse_task

OSWORLD = Path(__file__).resolve().parents[3] / "shared" / "osworld"
needs_osworld = pytest.mark.skipif(not OSWORLD.is_dir(), reason="OSWorld task files not present")

# Setup step types by count over OSWorld's 369 tasks (formats.md, section 1).
FORMATS_COUNTS = {"download": 278, "launch": 274, "open": 156, "execute": 154, "activate_window": 65,
                  "chrome_open_tabs": 53, "command": 29, "sleep": 14, "googledrive": 8, "login": 8,
                  "chrome_close_tabs": 1, "update_browse_history": 1}


@needs_osworld
def test_all_369_osworld_files_load_and_setup_counts_match_formats():
    loaded = load_path(OSWORLD / "examples")
    assert loaded.errors == []
    assert len(loaded) == 369
    rep = report(task for _, task in loaded.tasks)
    assert dict(rep.setup_types) == FORMATS_COUNTS
    assert rep.metrics["compare_table"] == 62 and rep.metrics["infeasible"] == 29
    assert rep.getters["vm_file"] == 261 and rep.getters["rule"] == 167
    assert len(rep.per_task) == 369


@needs_osworld
@pytest.mark.parametrize("suite, n", [("test_all.json", 369), ("test_small.json", 39),
                                      ("test_infeasible.json", 28), ("test_nogdrive.json", 361)])
def test_osworld_suite_files_load(suite, n):
    mapping = json.loads((OSWORLD / suite).read_text())
    loaded = load_suite(OSWORLD / suite)
    assert loaded.errors == [] and len(loaded) == n == sum(len(v) for v in mapping.values())
    assert {d for d, _ in loaded.tasks} == set(mapping)


@needs_osworld
def test_support_report_names_what_is_missing():
    loaded = load_path(OSWORLD / "examples")
    by_id = {t.id: support(t) for _, t in loaded.tasks}
    infeasible = [s for _, t in loaded.tasks if t.evaluator.infeasible for s in [by_id[t.id]]]
    assert infeasible and all(s.getters == () and s.metrics == () for s in infeasible)
    rep = report(t for _, t in loaded.tasks)
    assert rep.unsupported["setup googledrive"] == 8 and rep.unsupported["setup login"] == 8
    assert 0 < rep.runnable < 369


def test_support_of_a_hand_made_task():
    task = parse_task({
        "id": "x", "instruction": "i",
        "config": [{"type": "download", "parameters": {}}, {"type": "googledrive", "parameters": {}}],
        "evaluator": {"func": ["compare_tables_on_mars", "exact_match"],
                      "result": [{"type": "vm_file"}, {"type": "telepathy"}],
                      "expected": [{"type": "cloud_file"}, {"type": "rule"}],
                      "postconfig": [{"type": "summon_demon", "parameters": {}}]},
    })
    s = support(task)
    assert s.steps == ("googledrive", "summon_demon")
    assert s.getters == ("telepathy",) and s.metrics == ("compare_tables_on_mars",)
    assert not s.ok
    assert s.describe() == ("unsupported setup googledrive, summon_demon; getter telepathy; "
                            "metric compare_tables_on_mars")


def test_a_bad_file_in_a_folder_or_suite_is_an_error_line_not_a_crash(tmp_path):
    domain = tmp_path / "examples" / "web"
    domain.mkdir(parents=True)
    good = {"id": "good", "instruction": "i", "evaluator": {"func": "exact_match"}}
    (domain / "good.json").write_text(json.dumps(good))
    (domain / "bad.json").write_text(json.dumps({"id": "bad"}))
    loaded = load_dir(domain)
    assert [t.id for _, t in loaded.tasks] == ["good"] and loaded.tasks[0][0] == "web"
    assert len(loaded.errors) == 1 and "bad.json: instruction" in loaded.errors[0]
    suite = tmp_path / "test_x.json"
    suite.write_text(json.dumps({"web": ["good", "bad", "absent"]}))
    loaded = load_suite(suite)
    assert len(loaded) == 1 and len(loaded.errors) == 2
    assert any("absent.json: no such file" in e for e in loaded.errors)
    assert len(load_path(tmp_path)) == 1  # the examples root finds the domain folders


def test_a_suite_must_map_domains_to_id_lists(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"web": "not-a-list"}))
    with pytest.raises(TaskError, match="suite must map"):
        load_suite(path, tmp_path)


@needs_osworld
def test_cli_check_prints_the_osworld_report():
    from typer.testing import CliRunner

    from kimicua.tools.cli.tasks import app

    out = CliRunner().invoke(app, ["check", str(OSWORLD / "test_all.json")])
    assert out.exit_code == 0
    lines = out.output.splitlines()
    assert lines[0] == "loaded 369 task(s), 0 load error(s)"
    assert any(line.split() == ["download", "278", "ok"] for line in lines)
    assert any(line.split() == ["googledrive", "8", "unsupported"] for line in lines)


class _NullEnv:
    """An env where nothing is running: commands succeed silently, no windows, no page."""

    kind = "desktop"

    def __init__(self):
        from kimicua.env.geometry import Size

        self.screen = Size(1920, 1080)

    def run(self, command, *, shell=False, timeout=30.0):
        from kimicua.env.core import CommandResult

        return CommandResult(0, "", "")

    def launch(self, command, *, shell=False):
        return 1

    def windows(self):
        return []

    def active_window(self):
        return None

    def activate_window(self, name, *, strict=False, by_class=False):
        return False

    def open_tabs(self, urls):
        raise RuntimeError("no browser in this env")

    def page_url(self):
        return None

    def evaluate(self, expression):
        raise RuntimeError("no page")

    home = "/home/user"

    def host_path(self, path, *, write=False):
        from kimicua.env.core import EnvError

        raise EnvError(f"{path}: no files in this env")

    def get_file(self, path, dest):
        return False

    def put_file(self, source, path):
        from kimicua.env.core import EnvError

        raise EnvError(f"{path}: no files in this env")

    def list_dir(self, path):
        return None


@needs_osworld
def test_every_osworld_task_evaluates_or_names_what_is_unsupported(monkeypatch, tmp_path):
    """The suite runner's guarantee: evaluating any OSWorld task gives a score or an
    UnsupportedEvaluator naming the gap, never another exception."""
    from kimicua.env.actions import Done
    from kimicua.tasks import getters, setup
    from kimicua.tasks.context import RunContext
    from kimicua.tasks.evaluate import UnsupportedEvaluator, evaluate
    from kimicua.tasks.fetch import FetchError

    def offline(url, dest, **_):
        raise FetchError(f"cannot fetch {url}: offline")

    monkeypatch.setattr(setup.time, "sleep", lambda s: None)
    monkeypatch.setattr(setup, "WINDOW_TIMEOUT_S", 0.0)
    monkeypatch.setattr(setup, "fetch", offline)
    monkeypatch.setattr(getters.local, "fetch", offline)
    env, scored, unsupported = _NullEnv(), 0, 0
    for _, task in load_path(OSWORLD / "examples").tasks:
        ctx = RunContext(tmp_path / task.id)
        try:
            result = evaluate(task.evaluator, env, ctx, [Done()])
        except UnsupportedEvaluator as err:
            assert not support(task).ok and "unsupported" in str(err)
            unsupported += 1
            continue
        assert 0.0 <= result.score <= 1.0
        scored += 1
    assert scored + unsupported == 369 and scored > 29  # more than the infeasible ones
