"""Tasks on the VM env, on the loopback VM: setup steps reach the VM through the Env
methods, a built-in desktop task is solved through it (1) and scores 0 untouched, and
``kimicua run --env osworld-vm --vm URL`` plays it as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kimicua.env.actions import Done
from kimicua.tasks.context import RunContext
from kimicua.tasks.schema import SetupStep
from kimicua.tasks.setup import SetupError, run_step, run_steps
from kimicua.tasks.suites import load_builtin
from kimicua.tasks.run import TaskRun

pytestmark = [pytest.mark.display, pytest.mark.slow, pytest.mark.timeout(180)]

KIMICUA = [str(Path(sys.executable).parent / "kimicua")]


def step(type_, **parameters):
    return SetupStep(type=type_, parameters=parameters)


def builtin(task_id: str):
    return next(task for _, task in load_builtin("all").tasks if task.id == task_id)


@pytest.fixture
def ctx(tmp_path, vm_env):
    return RunContext(tmp_path / "work", home=vm_env.home, screen=vm_env.screen, files=(tmp_path,))


def read(env, path: str, tmp_path: Path) -> str | None:
    dest = tmp_path / "read" / Path(path).name
    return dest.read_text() if env.get_file(path, dest) else None


def test_file_steps_put_and_read_files_on_the_vm(vm_env, ctx, tmp_path):
    (tmp_path / "notes.txt").write_text("from the task\n")
    source = (tmp_path / "notes.txt").as_uri()
    run_steps([step("download", files=[{"url": source, "path": "/home/user/Desktop/notes.txt"}]),
               step("execute", command=["sh", "-c", "wc -c < ~/Desktop/notes.txt"], stdout="size.txt"),
               step("command", command="cp ~/Desktop/notes.txt /tmp/copy.txt", shell=True)], vm_env, ctx)
    assert read(vm_env, "~/Desktop/notes.txt", tmp_path) == "from the task\n"
    assert (ctx.cache / "size.txt").read_text().strip() == "14"
    assert read(vm_env, "/tmp/copy.txt", tmp_path) == "from the task\n"
    with pytest.raises(SetupError, match="outside"):
        run_step(step("download", files=[{"url": source, "path": "/etc/notes.txt"}]),
                 vm_env, ctx)


def test_window_steps_launch_activate_open_and_close(vm_env, ctx):
    run_steps([step("launch", command=["xterm", "-title", "Setup Term"]),
               step("activate_window", window_name="Setup Term", strict=True)], vm_env, ctx)
    assert vm_env.active_window().name == "Setup Term"
    vm_env.client.upload("/home/user/todo.txt", b"one\ntwo\n")
    run_step(step("open", path="~/todo.txt"), vm_env, ctx)  # the text editor, waited for
    assert "todo.txt" in vm_env.active_window().name
    run_step(step("close_window", window_name="Setup Term", strict=True), vm_env, ctx)
    deadline = time.monotonic() + 5
    while any(w.name == "Setup Term" for w in vm_env.windows()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(w.name == "Setup Term" for w in vm_env.windows())


def test_the_vms_own_setup_calls(vm_env, tmp_path):
    vm_env.client.upload("/home/user/report.txt", b"x")
    vm_env.open_file("~/report.txt")  # /setup/open_file: returns once the window is up
    assert any("report.txt" in w.name for w in vm_env.windows())
    vm_env.close_window("report.txt")
    vm_env.client.change_wallpaper("/home/user/report.txt")
    with pytest.raises(Exception, match="404"):
        vm_env.client.change_wallpaper("/home/user/nothing.png")
    assert "<desktop-frame>" in vm_env.accessibility_tree() and vm_env.terminal_output() is None


def play_solution(run: TaskRun, env) -> list:
    actions = []
    for action in run.solution(env):
        _, _, terminated, _, info = env.step(action)
        assert info["result"].ok, f"{action} failed: {info['result'].error}"
        actions.append(action)
        if terminated:
            break
    return actions


def test_builtin_desktop_task_scores_zero_untouched_and_one_solved(vm_env, loopback_vm):
    task = builtin("desktop-terminal-hello-file")
    with TaskRun(task, vm_env) as run:
        vm_env.reset()
        run.setup(vm_env)
        assert "/home/user/hello.txt" in run.instruction
        assert run.evaluate(vm_env, []) == 0.0, run.last_evaluation
        assert run.evaluate(vm_env, [Done()]) == 0.0
        actions = play_solution(run, vm_env)
        assert run.evaluate(vm_env, actions) == 1.0, run.last_evaluation
    # Setup and evaluation went through the VM's server, not this machine's files.
    assert {("POST", "/setup/launch"), ("POST", "/setup/activate_window"), ("POST", "/file"),
            ("POST", "/execute")} <= set(loopback_vm.calls)


def test_kimicua_run_plays_on_the_vm(loopback_vm, tmp_path):
    loopback_vm.sandbox.run(["rm", "-f", "/home/user/hello.txt"])
    out = subprocess.run([*KIMICUA, "run", "desktop-terminal-hello-file", "--model", "scripted", "--env",
                          "osworld-vm", "--vm", loopback_vm.url, "--results", str(tmp_path), "--json"],
                         capture_output=True, text=True, timeout=170, env={**os.environ})
    assert out.returncode == 0, out.stderr[-2000:]
    episodes = json.loads(out.stdout)["episodes"]
    assert [(e["task_id"], e["status"], e["score"]) for e in episodes] == [("desktop-terminal-hello-file", "done", 1.0)]
    meta = json.loads((Path(episodes[0]["directory"]) / "episode.json").read_text())
    assert meta["env"] == "osworld-vm" and meta["screen"] == [1280, 800]


def test_the_rest_of_the_vms_calls(vm_env, tmp_path):
    client = vm_env.client
    (tmp_path / "fetched.txt").write_text("fetched by the VM\n")
    client.download_file((tmp_path / "fetched.txt").as_uri(), "/home/user/Downloads/fetched.txt")
    assert read(vm_env, "~/Downloads/fetched.txt", tmp_path) == "fetched by the VM\n"
    passed = client.execute_with_verification("touch ~/made", shell=True,
                                              verification={"command_success": "test -f ~/made"})
    assert passed["status"] == "success" and passed["verification"] == "passed"
    failed = client.execute_with_verification(["true"], verification={"window_exists": "no-such-window"},
                                              max_wait_time=0.5, check_interval=0.1)
    assert failed["status"] == "verification_failed"
    assert client.platform() == "Linux"
    with pytest.raises(Exception, match="ffmpeg is required"):
        vm_env.start_recording()
