"""`kimicua render`: episodes written by the trajectory writer from synthetic frames,
rendered, and read back (the video with OpenCV, the GIF with Pillow, the pages as text)."""

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from kimicua.agent.trajectory import EpisodeMeta, Outcome, StepRecord, Timings, TrajectoryWriter, timestamp
from kimicua.env.actions import Click, Done, Drag, Hotkey, Navigate, Scroll, Type, Wait
from kimicua.env.geometry import Frame, Size
from kimicua.tools.cli import app
from kimicua.tools.render import render_episode, render_run
from kimicua.tools.render.captions import describe
from kimicua.tools.render.markers import MARKER, draw_action

SCREEN = (320, 200)  # logical
HOSTILE = "<script>alert('x')</script>"
BACKGROUNDS = [(30, 90, 160), (40, 140, 70), (120, 60, 150), (200, 180, 40), (20, 20, 20), (90, 90, 90), (0, 120, 120)]

# (action, error, response): None as the action is an answer that failed to parse.
PLAN = [
    (Click(x=100, y=60), None, "## Thought\nThe OK button.\n## Code\nclick"),
    (Drag(start_x=20, start_y=20, x=200, y=150), None, "drag it"),
    (Scroll(x=160, y=100, dy=-3), None, "scroll down"),
    (None, "no action found in the answer", f"## Thought\n{HOSTILE} & more\n"),
    (Type(text="hello\n"), "the window went away", "type it"),
    (Done(), None, "finished"),
]


def synthetic(n: int, scale: float) -> np.ndarray:
    """A solid colour per frame with a known pattern: a white square at logical (10, 10)..(30, 30)."""
    w, h = int(SCREEN[0] * scale), int(SCREEN[1] * scale)
    image = np.empty((h, w, 3), np.uint8)
    image[:] = BACKGROUNDS[n % len(BACKGROUNDS)]
    image[int(10 * scale):int(30 * scale), int(10 * scale):int(30 * scale)] = 255
    return image


def write_episode(d: Path, scale: float = 1.0, plan=PLAN, *, finish=True, task_id="t1") -> Path:
    meta = EpisodeMeta(task_id=task_id, instruction="Press <b>OK</b> & go", model="fake-model",
                       dialect="kimi", screen=SCREEN, env="browser")
    with TrajectoryWriter(d, meta) as w:
        shown = w.initial(synthetic(0, scale))
        for n, (action, error, response) in enumerate(plan, start=1):
            rec = StepRecord(step_num=n, action_timestamp=timestamp(time.time()), response=response, turn=n,
                             parsed_action=action, error=error, prompt_images=[shown], screen=SCREEN,
                             scale=scale, timings=Timings(model_s=1.5, execute_s=0.02))
            if action is None:  # nothing ran: the line names the screen as it stands
                w.step(rec.model_copy(update={"screenshot_file": shown}))
            else:
                shown = w.step(rec, synthetic(n, scale)).screenshot_file
        if finish:
            w.finish(Outcome(status="done", score=1.0, steps=5, turns=6, verdict="the file holds 'hello'"))
    return d


def video_frames(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame[:, :, ::-1])  # BGR -> RGB
    cap.release()
    return frames


def is_marker(rgb, tolerance=60) -> bool:
    return all(abs(int(c) - m) <= tolerance for c, m in zip(rgb, MARKER))


def test_marker_at_physical_point_scale_1_and_2():
    for scale in (1, 2):
        image = Image.fromarray(synthetic(1, scale))
        frame = Frame(screen=Size(*SCREEN), physical=Size(*image.size))
        marked = draw_action(image, Click(x=100, y=60), frame)
        assert marked == [(100 * scale, 60 * scale)]
        pixels = np.asarray(image)
        assert tuple(pixels[60 * scale, 100 * scale]) == MARKER
        if scale == 2:  # the logical point itself is far from the marker: untouched
            assert tuple(pixels[60, 100]) == BACKGROUNDS[1]
        assert tuple(pixels[190 * scale, 300 * scale]) == BACKGROUNDS[1]


def test_drag_and_scroll_mark_their_points():
    image = Image.fromarray(synthetic(2, 2))
    frame = Frame(screen=Size(*SCREEN), physical=Size(*image.size))
    assert draw_action(image, Drag(start_x=20, start_y=20, x=200, y=150), frame) == [(40, 40), (400, 300)]
    pixels = np.asarray(image)
    assert tuple(pixels[40, 40]) == MARKER and tuple(pixels[300, 400]) == MARKER
    assert tuple(pixels[170, 220]) == MARKER  # on the line between them
    image = Image.fromarray(synthetic(3, 1))
    draw_action(image, Scroll(x=160, y=100, dy=-3), Frame(screen=Size(*SCREEN)))
    pixels = np.asarray(image)
    assert tuple(pixels[100, 160]) == MARKER
    assert tuple(pixels[130, 160]) == MARKER and tuple(pixels[70, 160]) == BACKGROUNDS[3]  # down: the arrow points down


def test_keyboard_and_offscreen_actions_draw_nothing():
    frame = Frame(screen=Size(*SCREEN))
    for action in (Type(text="x"), Hotkey(keys=("ctrl", "c")), Click(), Click(x=500, y=10)):
        image = Image.fromarray(synthetic(1, 1))
        assert draw_action(image, action, frame) == []
        assert np.array_equal(np.asarray(image), synthetic(1, 1))


def test_captions():
    assert describe(Click(x=640, y=360)) == "click (640, 360)"
    assert describe(Click(x=1.25, y=2, button="right", count=2)) == "right double click (1.2, 2)"
    assert describe(Type(text="hello\n")) == 'type "hello\\n"'
    assert describe(Drag(start_x=1, start_y=2, x=3, y=4)) == "drag (1, 2) → (3, 4)"
    assert describe(Scroll(x=5, y=6, dy=-3)) == "scroll down 3 at (5, 6)"
    assert describe(Hotkey(keys=("ctrl", "c"))) == "hotkey ctrl+c"
    assert describe(Navigate(url="https://example.com")) == 'navigate "https://example.com"'
    assert describe(Wait(seconds=2)) == "wait 2 s"


@pytest.mark.parametrize("scale", [1, 2])
def test_episode_video_gif_and_frames(tmp_path, scale):
    ep = write_episode(tmp_path / "ep", scale)
    paths = render_episode(ep, hold_s=0.5, gif_width=200)
    out = ep / "render"
    assert [p.name for p in paths] == ["report.html", "episode.mp4", "episode.gif"]
    assert all(p.parent == out for p in paths)
    # One picture per line (6) and the end.
    frames = video_frames(out / "episode.mp4")
    assert len(frames) == 7
    h, w = frames[0].shape[:2]
    assert w == SCREEN[0] * scale and h > SCREEN[1] * scale  # the caption strip below
    assert is_marker(frames[0][60 * scale, 100 * scale], tolerance=90)
    with Image.open(out / "episode.gif") as gif:
        assert gif.n_frames == 7 and gif.size[0] == 200 and gif.info["duration"] == 500
    # The click's picture is the screen before it (the initial one) with the marker at the physical point.
    click = np.asarray(Image.open(out / "frames" / "step_001.jpg"))
    assert click.shape[:2] == (SCREEN[1] * scale, SCREEN[0] * scale)
    assert is_marker(click[60 * scale, 100 * scale])
    assert np.abs(click[180 * scale, 300 * scale].astype(int) - BACKGROUNDS[0]).max() < 12
    drag = np.asarray(Image.open(out / "frames" / "step_002.jpg"))  # drawn on step 1's frame
    assert is_marker(drag[20 * scale, 20 * scale]) and is_marker(drag[150 * scale, 200 * scale])
    assert np.abs(drag[180 * scale, 300 * scale].astype(int) - BACKGROUNDS[1]).max() < 12
    end = np.asarray(Image.open(out / "frames" / "end.jpg"))
    assert np.abs(end[180 * scale, 300 * scale].astype(int) - BACKGROUNDS[6]).max() < 12


def test_report_has_every_step_and_escapes(tmp_path):
    ep = write_episode(tmp_path / "ep")
    (report, *_) = render_episode(ep, tmp_path / "pictures")
    assert report == tmp_path / "pictures" / "report.html"
    page = report.read_text()
    for n in range(1, 7):
        assert f'id="step_{n:03d}"' in page
    assert page.count('<section class="step">') == 7
    assert "<script" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Press &lt;b&gt;OK&lt;/b&gt; &amp; go" in page
    assert "click (100, 60)" in page and "drag (20, 20) → (200, 150)" in page
    assert "type &quot;hello\\n&quot;" in page and "the window went away" in page
    assert "no action found in the answer" in page and "the file holds &#x27;hello&#x27;" in page
    assert "The OK button." in page and "model 1.50 s" in page and "execute 20 ms" in page
    assert "fake-model" in page and "Content-Security-Policy" in page
    for src in re.findall(r'<img src="([^"]+)"', page):  # relative, and there
        assert not src.startswith(("/", "http", "data:")) and (report.parent / src).is_file()
    assert 'href="episode.mp4"' in page and 'href="episode.gif"' in page


def test_partial_episode_renders_what_exists(tmp_path):
    ep = write_episode(tmp_path / "ep", finish=False)
    lines = (ep / "traj.jsonl").read_text().splitlines()
    second = json.loads(lines[1])["screenshot_file"]
    (ep / second).unlink()  # the screen after the drag never made it to disk
    (ep / "traj.jsonl").write_text("\n".join(lines) + '\n{"step_num": 7, "act')  # cut off mid-line
    report, mp4, gif = render_episode(ep)
    assert len(video_frames(mp4)) == 6  # the scroll acted on the missing frame
    with Image.open(gif) as g:
        assert g.n_frames == 6
    page = report.read_text()
    assert "frame not on disk" in page and "unfinished" in page and "cut-off line" in page
    assert not (ep / "render" / "frames" / "step_003.jpg").exists()


def test_rerender_removes_pictures_it_no_longer_has(tmp_path):
    ep = write_episode(tmp_path / "ep")
    render_episode(ep)
    first = next(ep.glob("step_1_*.png"))
    first.unlink()
    render_episode(ep)
    assert not (ep / "render" / "frames" / "step_002.jpg").exists()
    assert (ep / "render" / "frames" / "step_001.jpg").exists()


def test_run_index_links_every_episode(tmp_path):
    run = tmp_path / "run"
    write_episode(run / "browser" / "a&b", task_id="a&b")
    write_episode(run / "desktop" / "plain", plan=PLAN[:2], task_id="plain")
    broken = run / "desktop" / "broken"
    broken.mkdir(parents=True)
    (broken / "traj.jsonl").write_text("{not json\n{}\n")
    pictures = render_run(run, tmp_path / "out")
    assert pictures.index == tmp_path / "out" / "index.html"
    assert len(pictures.reports) == 2 and len(pictures.errors) == 1 and "broken" in pictures.errors[0]
    page = pictures.index.read_text()
    links = re.findall(r'<a href="([^"]+)">', page)
    assert links == ["browser/a%26b/report.html", "desktop/plain/report.html"]
    assert all((pictures.index.parent / link.replace("%26", "&")).is_file() for link in links)
    assert "browser/a&amp;b" in page and "desktop/broken" in page and "not JSON" in page
    assert page.count('class="status done"') == 2


def test_cli(tmp_path):
    runner = CliRunner()
    ep = write_episode(tmp_path / "run" / "d" / "ep")
    result = runner.invoke(app, ["render", str(ep), "--hold", "2"])
    assert result.exit_code == 0, result.output
    assert str(ep / "render" / "report.html") in result.output
    with Image.open(ep / "render" / "episode.gif") as gif:
        assert gif.info["duration"] == 2000
    result = runner.invoke(app, ["render", str(tmp_path / "run"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0 and (tmp_path / "o" / "index.html").is_file()
    assert (tmp_path / "o" / "d" / "ep" / "report.html").is_file()
    for bad in (["render", str(tmp_path / "missing")], ["render", str(tmp_path / "o" / "d")],
                ["render", str(ep), "--hold", "0"]):
        result = runner.invoke(app, bad)
        assert result.exit_code == 2 and result.output.count("\n") == 1 and "error: " in result.output, result.output


@pytest.mark.browser
def test_real_browser_episode_at_scale_2(tmp_path):
    """A built-in task played by its scripted solution in headless Chromium at device
    scale 2, rendered: a picture per line, each click marked at its physical point."""
    from kimicua.agent.backends.scripted import ScriptedPolicy
    from kimicua.agent.episode import run_episode
    from kimicua.agent.trajectory import read_episode
    from kimicua.env.chromium import find_chromium
    from kimicua.env.core import EnvError, make_env
    from kimicua.tasks.run import TaskRun
    from kimicua.tasks.suites import load_builtin

    try:
        find_chromium()
    except EnvError:
        pytest.skip("needs Chromium")
    domain, task = next((d, t) for d, t in load_builtin("all").tasks if t.id == "browser-signup-basic")
    env = make_env("browser", size=Size(800, 600), scale=2)
    try:
        with TaskRun(task, env) as run:
            policy = ScriptedPolicy(run.solution(env))
            meta = EpisodeMeta(task_id=task.id, instruction=run.instruction, domain=domain, model="scripted",
                               dialect="kimi", env="browser", screen=(800, 600))
            with TrajectoryWriter(tmp_path / "ep", meta) as writer:
                result = run_episode(env, run, policy, writer, 40, dialect="kimi",
                                     verdict=lambda: run.last_evaluation and run.last_evaluation.describe())
            policy.close()
    finally:
        env.close()
    assert result.status == "done" and result.score == 1.0
    report, mp4, gif = render_episode(tmp_path / "ep")
    ep = read_episode(tmp_path / "ep")
    assert len(video_frames(mp4)) == len(ep.steps) + 1
    clicks = [(i, s.parsed_action) for i, s in enumerate(ep.steps, start=1) if isinstance(s.parsed_action, Click)]
    assert clicks
    for i, click in clicks:
        picture = np.asarray(Image.open(tmp_path / "ep" / "render" / "frames" / f"step_{i:03d}.jpg"))
        assert picture.shape[:2] == (1200, 1600)
        assert is_marker(picture[int(click.y * 2), int(click.x * 2)])
    page = report.read_text()
    assert page.count('<section class="step">') == len(ep.steps) + 1 and "signup" in page.lower()
