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
    scale = 1.0

    def __init__(self):
        from kimicua.env.geometry import Size

        self.screen = Size(1920, 1080)

    def step(self, action):  # postconfig's pyautogui commands are played as actions
        from types import SimpleNamespace

        return None, 0.0, False, False, {"result": SimpleNamespace(ok=True)}

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


def _task(config=(), postconfig=(), result=None, expected=None, func="exact_match"):
    return parse_task({"id": "t", "instruction": "i", "config": list(config),
                       "evaluator": {"func": func, "postconfig": list(postconfig),
                                     "result": result or {"type": "rule", "rules": {}},
                                     "expected": expected or {"type": "rule", "rules": {"expected": "x"}}}})


def _launch(command, shell=False):
    return {"type": "launch", "parameters": {"command": command, "shell": shell}}


def test_local_verdicts_name_what_the_local_desktop_lacks_and_the_vm_has():
    from kimicua.env.guard import UrlPolicy

    cases = [
        (_task([_launch(["no-such-app-kimicua"])]), "missing app no-such-app-kimicua"),
        (_task([_launch("echo {CLIENT_PASSWORD} | sudo -S apt install jq -y", shell=True)]), "runs sudo"),
        (_task(result={"type": "vm_command_line", "command": "gsettings get org.gnome.desktop.session idle-delay"}),
         "GNOME settings"),
        (_task([{"type": "open", "parameters": {"path": "/home/user/Documents/Fundings"}}]), "missing app nautilus"),
        (_task(result={"type": "enable_do_not_track"}), "chrome://"),
        (_task(result={"type": "accessibility_tree"}), "needs AT-SPI"),
    ]
    for task, reason in cases:
        local, vm = support(task), support(task, "vm")
        assert not local.ok and any(reason in r for r in local.reasons()), (reason, local.reasons())
        assert vm.ok, vm.reasons()
        assert reason in local.describe()
    # A profile prepared before Chrome starts is where the local Chromium looks too.
    prepared = _task([_launch("mkdir -p ~/.config/google-chrome/Default && echo {} > "
                              "~/.config/google-chrome/Default/Preferences", shell=True)])
    assert support(prepared).ok
    # The run's URL policy decides Chrome's settings pages; the network only offline.
    settings = _task(result={"type": "enable_do_not_track"})
    assert support(settings, policy=UrlPolicy(allow=("chrome://*",))).ok
    fetching = _task([{"type": "download", "parameters": {"files": [
        {"url": "https://huggingface.co/x/y.xlsx", "path": "/home/user/y.xlsx"}]}}])
    assert support(fetching).ok
    offline = support(fetching, offline=True)
    assert offline.reasons() == ["needs the network: fetches https://huggingface.co/x/y.xlsx"]
    # Programs played as actions or standing in for OSWorld's need nothing installed.
    stand_ins = _task([_launch(["google-chrome", "--remote-debugging-port=1337"]),
                       _launch(["socat", "tcp-listen:9222,fork", "tcp:localhost:1337"])],
                      [{"type": "execute", "parameters": {"command": ["python", "-c",
                                                                       "import pyautogui; pyautogui.hotkey('ctrl', 's')"]}},
                       _launch(["pkill", "chrome"])])
    assert support(stand_ins).ok, support(stand_ins).reasons()
    with pytest.raises(ValueError, match="where must be one of"):
        support(stand_ins, "mars")


@needs_osworld
def test_the_369_tasks_on_a_vm_and_on_the_local_desktop():
    import shutil

    from kimicua.tasks.osworld import by_domain

    loaded = load_path(OSWORLD / "examples")
    rep = report(t for _, t in loaded.tasks)
    table = by_domain([d for d, _ in loaded.tasks], rep)
    assert sum(r["tasks"] for r in table.values()) == 369 and table["vs_code"]["tasks"] == 23
    assert rep.runnable_vm >= 350  # only Google Drive and site logins are missing on a VM
    assert {r for s in rep.per_task_vm for r in s.reasons()} <= {
        f"setup {t} ({why})" for t, why in [("googledrive", setup_unsupported()["googledrive"]),
                                             ("login", setup_unsupported()["login"])]} | {
        f"getter googledrive_file ({getter_unsupported()['googledrive_file']})"}
    assert table["vs_code"]["local"] == 0  # VS Code is not a Debian package
    if all(shutil.which(p) for p in ("localc", "lowriter", "loimpress", "gimp", "vlc", "thunderbird")):
        assert rep.runnable >= 200
        for domain in ("libreoffice_calc", "libreoffice_writer", "gimp"):
            assert table[domain]["local"] == table[domain]["tasks"], domain


def setup_unsupported():
    from kimicua.tasks.setup import UNSUPPORTED_STEPS

    return UNSUPPORTED_STEPS


def getter_unsupported():
    from kimicua.tasks.getters import UNSUPPORTED_GETTERS

    return UNSUPPORTED_GETTERS


def test_the_runner_skips_what_check_says_is_unsupported_locally_with_the_same_reason(tmp_path):
    from kimicua.tools.runner.episodes import EpisodeRunner
    from kimicua.tools.runner.options import Job, RunOptions

    task = _task([_launch(["no-such-app-kimicua", "--start"])])
    runner = EpisodeRunner(RunOptions(model="scripted", sandbox=False, results=tmp_path))
    try:
        record = runner.play(Job("apps", task, 0, 0))
    finally:
        runner.close()
    assert record.status == "unsupported"
    assert record.error == support(task).describe() == "unsupported missing app no-such-app-kimicua"


@needs_osworld
def test_cli_check_gives_each_task_a_local_and_a_vm_verdict_and_domain_totals():
    from typer.testing import CliRunner

    from kimicua.tools.cli.tasks import app

    out = CliRunner().invoke(app, ["check", str(OSWORLD / "examples" / "vs_code"), "--json"])
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert data["domains"] == {"vs_code": {"tasks": 23, "local": 0, "vm": 23}}
    first = data["tasks"][0]
    assert first["vm"] == {"supported": True, "reasons": []}
    assert first["local"]["supported"] is False
    assert any(r.startswith("missing app code") for r in first["local"]["reasons"])
    text = CliRunner().invoke(app, ["check", str(OSWORLD / "examples" / "vs_code"), "-v"]).output
    assert any(line.split() == ["vs_code", "23", "0", "23"] for line in text.splitlines())
    assert "    vm    supported" in text and "    local unsupported: missing app code" in text
