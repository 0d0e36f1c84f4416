"""End to end: built-in tasks done on the env's display with xdotool, as a person would,
recorded (X RECORD), then replayed on a fresh env, scored and checked frame by frame.

The solution's targets are resolved on the live screen first (TaskRun.solution) and
each action becomes xdotool commands on the env's DISPLAY; between actions the test
waits until the screen is still, as a person looks before acting again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kimicua.agent.trajectory import read_episode
from kimicua.env.actions import Click, Done, Drag, Hotkey, Key, Scroll, Type, Wait
from kimicua.env.damage import DamageWatch
from kimicua.env.geometry import Size
from kimicua.env.keys import to_xdotool
from kimicua.tasks.run import TaskRun
from kimicua.tools.cli.record import record_command, replay_command
from kimicua.tools.record.compare import difference
from kimicua.tools.record.replay import replayable
from kimicua.tools.record.session import StopWhen, find_task, record, replay
from kimicua.tools.runner import RunOptions

pytestmark = [pytest.mark.display, pytest.mark.slow, pytest.mark.timeout(120)]
MISSING = [p for p in ("Xvfb", "xdotool", "openbox", "xterm", "mousepad") if shutil.which(p) is None]
if MISSING:
    pytestmark.append(pytest.mark.skip(reason=f"not installed: {', '.join(MISSING)}"))

SCREEN = Size(1280, 720)
BUTTONS = {"left": "1", "middle": "2", "right": "3"}

app = typer.Typer()
app.command("record")(record_command)
app.command("replay")(replay_command)


def cli(*args: str):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always keeps stderr apart
        runner = CliRunner()
    return runner.invoke(app, list(args))


def xdotool_commands(action) -> list[list[str]]:
    """What a person's hand does for ``action``, as xdotool commands."""
    def to(x, y):
        return ["mousemove", "--sync", str(round(x)), str(round(y))]

    match action:
        case Click():
            return [to(action.x, action.y), ["click", "--repeat", str(action.count), "--delay", "80",
                                             BUTTONS[action.button]]]
        case Type():
            return [["type", "--delay", "15", action.text]]
        case Key():
            return [["key", to_xdotool(action.key)]]
        case Hotkey():
            return [["key", "+".join(to_xdotool(k) for k in action.keys)]]
        case Drag():
            b = BUTTONS[action.button]
            return [to(action.start_x, action.start_y), ["mousedown", b],
                    to((action.start_x + action.x) / 2, (action.start_y + action.y) / 2), to(action.x, action.y),
                    ["mouseup", b]]
        case Scroll():
            return [to(action.x, action.y), ["click", "--repeat", str(abs(action.dy)), "4" if action.dy > 0 else "5"]]
    raise AssertionError(f"no xdotool for {action}")


def wait_still(display, quiet_s: float = 0.3, limit_s: float = 5.0) -> None:
    """Until nothing drew on ``display`` for ``quiet_s`` (a blinking caret pauses that long)."""
    watch = DamageWatch(display)
    try:
        deadline = time.monotonic() + limit_s
        while watch.wait(quiet_s) and time.monotonic() < deadline:
            pass
    finally:
        watch.close()


def perform(display, action) -> None:
    for command in xdotool_commands(action):
        subprocess.run(["xdotool", *command], env=display.child_env(), check=True, timeout=30)
    wait_still(display)


def play_by_hand(task_id: str, played: list):
    """An ``on_start`` that does the task's scripted solution with xdotool; ``played``
    gets the actions as resolved on the screen."""
    def on_start(env, directory) -> None:
        _, task = find_task(task_id)
        wait_still(env.display)
        with TaskRun(task, env) as solver:
            for action in solver.solution(env):
                if isinstance(action, Done):
                    break
                if isinstance(action, Wait):
                    continue  # a person waits by looking: wait_still after each action
                perform(env.display, action)
                played.append(action)
    return on_start


def on_pixels(action):
    """An action as xdotool performs it: points on whole pixels."""
    fields = {k: round(v) for k in ("x", "y", "start_x", "start_y") if (v := getattr(action, k, None)) is not None}
    return action.model_copy(update=fields)


def assert_human_trajectory(directory: Path, played: list) -> None:
    ep = read_episode(directory)
    assert ep.meta.source == "human" and ep.meta.model == "human" and ep.meta.outcome.status == "done"
    assert [s.parsed_action for s in ep.steps] == [*map(on_pixels, played), Done()]
    shown = ep.meta.initial_screenshot
    for step in ep.steps:
        assert step.response == "" and step.source == "human" and step.error is None
        assert step.prompt_images == [shown]  # the screen the person acted on: the last one after
        assert (directory / shown).is_file() and ep.frame(step) is not None
        shown = step.screenshot_file
    assert ep.steps[-1].done and ep.steps[-1].action == {"action_type": "DONE", "parameters": {}}
    typed = next(s for s in ep.steps if isinstance(s.parsed_action, Type))
    assert typed.action == {"action_type": "TYPING", "parameters": {"text": typed.parsed_action.text}}
    before, after = (directory / typed.prompt_images[0]), ep.frame(typed)
    assert difference(_pixels(before), _pixels(after)).tiles > 0, "the frame after typing shows the text"


def _pixels(path: Path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def record_by_hand(tmp_path: Path, task_id: str):
    played: list = []
    opts = RunOptions(model="human", dialect="computer13", results=tmp_path, screen=SCREEN)
    result = record(opts, task=task_id, stop=StopWhen(idle_s=0.5), on_start=play_by_hand(task_id, played))
    return result, played


def test_a_desktop_task_done_with_xdotool_is_recorded_and_replays_to_a_solve(tmp_path):
    result, played = record_by_hand(tmp_path, "desktop-editor-notes")
    assert (result.status, result.score) == ("done", 1.0), result.error
    assert [type(a) for a in played] == [Click, Type, Hotkey]
    assert result.directory == tmp_path / "computer13/screenshot/human/desktop/desktop-editor-notes"
    assert_human_trajectory(result.directory, played)
    listed = json.loads((tmp_path / "computer13/screenshot/human/results.json").read_text())["episodes"]
    assert [(e["task_id"], e["score"]) for e in listed] == [("desktop-editor-notes", 1.0)]

    out = cli("replay", str(result.directory), "--results", str(tmp_path), "--check")
    assert out.exit_code == 0, out.stdout + out.stderr
    assert "done: 4 of 4 actions replayed, score 1" in out.stdout and "matches the recording: 5 frames" in out.stdout
    replayed = read_episode(tmp_path / "computer13/screenshot/human-replay/desktop/desktop-editor-notes")
    assert replayed.meta.source == "replay" and replayed.result == 1.0
    assert [s.parsed_action for s in replayed.steps] == [s.parsed_action for s in read_episode(result.directory).steps]

    # The same recording with other words typed: the file is wrong, and --check says where.
    doctored = tmp_path / "doctored"
    shutil.copytree(result.directory, doctored)
    lines = [json.loads(line) for line in (doctored / "traj.jsonl").read_text().splitlines()]
    lines[1]["parsed_action"]["text"] = lines[1]["action"]["parameters"]["text"] = "Meeting at 11pm sharp"
    (doctored / "traj.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = cli("replay", str(doctored), "--results", str(tmp_path), "--model-name", "doctored", "--check")
    assert out.exit_code == 1, out.stdout + out.stderr
    assert "score 0" in out.stdout
    assert 'diverges at step 2 (recorded step 2) (type "Meeting at 11pm sharp")' in out.stdout


@pytest.mark.browser
def test_a_browser_task_done_with_xdotool_is_recorded_and_replays_to_a_solve(tmp_path):
    from kimicua.env.chromium import find_chromium
    from kimicua.env.core import EnvError

    try:
        find_chromium()
    except EnvError as err:
        pytest.skip(str(err))
    # A task that stays on its page: after a click that loads another page the env's step
    # can return the old page's frame (the score is right; --check then says so).
    result, played = record_by_hand(tmp_path, "browser-todo-add")
    assert (result.status, result.score) == ("done", 1.0), result.error
    assert [type(a) for a in played] == [Click, Type, Click]
    assert_human_trajectory(result.directory, played)

    replayed = replay(result.directory, RunOptions(model="replay", results=tmp_path), check=True)
    assert (replayed.record.status, replayed.record.score, replayed.actions) == ("done", 1.0, 4)
    assert replayed.check.divergence is None and replayed.check.compared == 5


def test_a_free_form_recording_through_the_cli(tmp_path):
    """`kimicua record --instruction`: no setup, no score; the display is named on stderr,
    and the recording stops once input has been idle."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kimicua.tools.cli import main; main()", "record", "--instruction",
         "Open the desktop menu and close it", "--screen", "1024x600", "--until-idle", "1.5",
         "--results", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert line.startswith("recording on display :"), line + proc.stderr.read()
        name = line.split()[3]
        xauthority = line.split("XAUTHORITY=")[1].split(")")[0]
        env = {"PATH": "/usr/bin:/bin", "DISPLAY": name, "XAUTHORITY": xauthority}
        for command in (["mousemove", "--sync", "500", "300"], ["click", "3"], ["key", "Escape"]):
            subprocess.run(["xdotool", *command], env=env, check=True, timeout=30)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.startswith("done: 3 actions, no score")
    directory = Path(out.split("trajectory: ")[1].strip())
    assert directory.parent == tmp_path / "computer13/screenshot/human/freeform"
    ep = read_episode(directory)
    assert [s.parsed_action for s in ep.steps] == [Click(x=500, y=300, button="right"), Key(key="escape"), Done()]
    assert ep.result is None and ep.meta.outcome.verdict == "no evaluator"

    played = replayable(ep)
    assert [a for p in played for a in p.actions] == [s.parsed_action for s in ep.steps]
    again = replay(directory, RunOptions(model="replay", results=tmp_path))
    assert (again.record.status, again.record.score, again.record.domain) == ("done", None, "freeform")
    assert [s.parsed_action for s in read_episode(again.record.directory).steps] == [s.parsed_action for s in ep.steps]
    # Not compared frame by frame: the env's step does not wait for openbox to take its
    # menu down after Escape, so the replay's frame after it may still show the menu.


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    out = cli("replay", str(tmp_path))
    assert out.exit_code == 2 and out.stderr.strip() == f"error: {tmp_path}: not an episode directory (no traj.jsonl)"
    out = cli("record", "desktop-editor-notes", "--instruction", "Type something")
    assert out.exit_code == 2 and out.stderr.startswith("error: give a task") and len(out.stderr.splitlines()) == 1
    out = cli("record", "no-such-task", "--results", str(tmp_path))
    assert out.exit_code == 2 and out.stderr.startswith("error: no-such-task: not a built-in suite")
    (tmp_path / "ep").mkdir()
    (tmp_path / "ep" / "traj.jsonl").write_text(json.dumps({"step_num": 1, "action_timestamp": "x",
                                                             "action": "pyautogui.click(1, 2)"}) + "\n")
    out = cli("replay", str(tmp_path / "ep"), "--task", "desktop-editor-notes")
    assert out.exit_code == 2 and "step 1: its action cannot be replayed" in out.stderr


def test_x_record_turns_a_hands_input_into_actions():
    """The capture on a bare display: what xdotool sends, folded (keys named by the
    display's own keymap), each action with a frame from before it."""
    from kimicua.env.display import Display
    from kimicua.tools.record.recorder import Recorder

    display = Display.start(Size(640, 480))
    try:
        recorder = Recorder(display)
        recorder.start()
        env = display.child_env()
        for command in (["mousemove", "--sync", "100", "200"], ["click", "--repeat", "2", "--delay", "50", "1"],
                        ["type", "--delay", "10", "Hi @'>"], ["key", "ctrl+s", "shift+Tab", "Return"],
                        ["mousemove", "--sync", "10", "10"], ["mousedown", "1"],
                        ["mousemove", "--sync", "300", "300"], ["mouseup", "1"],
                        ["mousemove", "--sync", "320", "310"], ["click", "--repeat", "3", "5"]):
            subprocess.run(["xdotool", *command], env=env, check=True, timeout=30)
        steps, final = recorder.stop()
    finally:
        display.stop()
    assert [s.action for s in steps] == [
        Click(x=100, y=200, count=2), Type(text="Hi @'>"), Hotkey(keys=("ctrl", "s")), Hotkey(keys=("shift", "tab")),
        Key(key="enter"), Drag(start_x=10, start_y=10, x=300, y=300), Scroll(x=320, y=310, dy=-3)]
    assert recorder.ignored == 0 and final.rgb.shape == (480, 640, 3)
    assert all(s.before.t <= s.start for s in steps)  # each frame was grabbed before its action began
    assert [s.start for s in steps] == sorted(s.start for s in steps)


def test_a_browser_recording_on_another_display_is_refused_before_anything_starts(tmp_path):
    out = cli("record", "browser-todo-add", "--display", ":0", "--results", str(tmp_path / "runs"))
    assert out.exit_code == 2
    assert out.stderr == "error: --display records the desktop env; the browser env records on its own screen\n"
    assert not (tmp_path / "runs").exists()
