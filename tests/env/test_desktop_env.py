"""Every action on a real Xvfb desktop: pointer read back with xdotool, typing read back
from a file that `cat` in an xterm writes, mouse/keys/history through a page in the
desktop's own Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from proc_tools import alive, processes_with

from kimicua.env import EnvError, Size, make_env
from kimicua.env.actions import (Back, Click, Done, Drag, Fail, Forward, Hotkey, Key, KeyDown,
                                 KeyUp, MouseDown, MouseUp, Move, Navigate, Scroll, Type, Wait)

pytestmark = pytest.mark.display
SIZE = Size(1280, 800)


@pytest.fixture(scope="module")
def desktop():
    env = make_env("desktop", size=SIZE)
    env.reset()
    yield env
    env.close()


@pytest.fixture
def page(desktop, pages_url):
    """The events page in the desktop's Chromium, focused; its elements' screen boxes."""
    desktop.expose_port(int(pages_url.rsplit(":", 1)[1]))  # the sandbox's network is off
    desktop.browser().goto(f"{pages_url}/events.html")  # started on first use
    assert desktop.activate_window("Chromium", by_class=True)
    return desktop


def center(box):
    x, y, w, h = box
    return x + w / 2, y + h / 2


def pointer(env) -> tuple[int, int]:
    out = env.run(["xdotool", "getmouselocation", "--shell"]).stdout
    vals = dict(line.split("=") for line in out.split())
    return int(vals["X"]), int(vals["Y"])


def test_reset_observation_is_the_whole_screen(desktop):
    obs = desktop.observe()
    assert obs.screenshot.shape == (800, 1280, 3) and obs.screenshot.dtype.name == "uint8"
    assert obs.screen == SIZE and obs.scale == 1.0 and obs.url is None


def test_move_puts_the_pointer_on_the_floor_pixel(desktop):
    obs, reward, terminated, truncated, info = desktop.step(Move(x=321.7, y=123.2))
    assert info["result"].ok and (reward, terminated, truncated) == (0.0, False, False)
    assert pointer(desktop) == (321, 123)
    assert info["execute_s"] >= 0 and info["capture_s"] > 0
    desktop.step(Move(x=1280, y=800))  # the far edge belongs to the last pixel
    assert pointer(desktop) == (1279, 799)


def test_off_screen_point_is_an_error_value(desktop):
    _, _, _, _, info = desktop.step(Click(x=1281, y=5))
    assert not info["result"].ok and "outside" in info["result"].error


def test_navigate_without_a_browser_is_an_error_value():
    with make_env("desktop", size=Size(640, 480)) as env:
        _, _, terminated, _, info = env.step(Navigate(url="http://127.0.0.1/"))
        assert not info["result"].ok and "browser" in info["result"].error and not terminated


def test_type_writes_exact_text_into_xterm(desktop, poll):
    out = desktop.host_path("~/typed.txt")  # the sandboxed xterm writes into the episode's home
    text = "a<b>c & |x| 'q' \"dq\" $HOME ~ üñï € 日本語 ✓\nsecond line\ttab\n"
    desktop.launch(["xterm", "-T", "kimicua-cat", "-e", "sh", "-c", "cat > ~/typed.txt"])
    desktop.wait_for_window("kimicua-cat")
    assert desktop.activate_window("kimicua-cat", strict=True)
    assert desktop.active_window().name == "kimicua-cat"
    _, _, _, _, info = desktop.step(Type(text="bad\x00"))  # refused before any key
    assert not info["result"].ok and "U+0000" in info["result"].error
    _, _, _, _, info = desktop.step(Type(text=text))
    assert info["result"].ok
    desktop.step(Hotkey(keys=("ctrl", "d")))  # EOF: cat exits, the file is complete
    assert poll(lambda: not any(w.name == "kimicua-cat" for w in desktop.windows()))
    assert out.read_text(encoding="utf-8") == text


def test_reset_kills_launched_processes_and_their_windows(desktop, poll):
    pid = desktop.launch(["xterm", "-T", "kimicua-reset"])
    desktop.wait_for_window("kimicua-reset", timeout=10)
    desktop.reset()
    assert not any(w.name == "kimicua-reset" for w in desktop.windows())
    assert desktop.run(["kill", "-0", str(pid)]).returncode != 0
    assert desktop.page_url() is None  # the CDP browser is gone too


def test_run_and_wait_for_window_timeout(desktop):
    res = desktop.run("echo $DISPLAY; exit 3", shell=True)
    assert res.returncode == 3 and res.stdout.strip() == desktop.display.name
    with pytest.raises(EnvError, match="no window"):
        desktop.wait_for_window("no-such-window-xyz", timeout=0.2)
    assert desktop.activate_window("no-such-window-xyz") is False


@pytest.mark.browser
def test_clicks_reach_the_page_at_the_element_box(page, events):
    x, y = center(page.element_box("#target"))
    page.step(Click(x=x, y=y))
    page.step(Click(x=x, y=y + 10, button="right"))
    page.step(Click(x=x + 10, y=y, button="middle"))
    clicks = events(page, "click", "contextmenu", "auxclick", "mousedown", count=5)
    assert [(e["type"], e["button"], e["target"]) for e in clicks] == [
        ("mousedown", 0, "target"), ("click", 0, "target"),
        ("mousedown", 2, "target"), ("contextmenu", 2, "target"), ("mousedown", 1, "target")]
    # element_box maps page px to screen px: the clicks land where they were aimed.
    assert [(e["x"], e["y"]) for e in clicks[::2]] == [(200, 150), (200, 160), (210, 150)]


@pytest.mark.browser
def test_double_click_is_a_dblclick(page, events):
    x, y = center(page.element_box("#target"))
    # Chromium stamps X events when it reads them; on a starved CPU two clicks can
    # arrive more than its 500 ms double-click time apart, so allow a second try.
    for attempt in range(3):
        page.step(Click(x=x, y=y + attempt * 20, count=2))
        if events(page, "dblclick", count=1):
            break
    double = events(page, "dblclick")
    assert double and double[0]["target"] == "target" and double[0]["detail"] == 2


@pytest.mark.browser
def test_mouse_down_up_and_drag(page, events):
    x, y = center(page.element_box("#target"))
    page.step(Move(x=x, y=y))
    page.step(MouseDown())
    page.step(MouseUp())
    page.step(Drag(start_x=x - 50, start_y=y - 20, x=x + 60, y=y + 30))
    downs_ups = events(page, "mousedown", "mouseup", count=4)
    assert [e["type"] for e in downs_ups] == ["mousedown", "mouseup"] * 2
    drag_down, drag_up = downs_ups[2:]
    assert drag_up["x"] - drag_down["x"] == 110 and drag_up["y"] - drag_down["y"] == 50


@pytest.mark.browser
def test_scroll_direction_follows_the_action_convention(page, events, poll):
    x, y = center(page.element_box("#target"))
    page.step(Scroll(x=x, y=y, dy=-2))  # -dy: down
    assert poll(lambda: page.evaluate("scrollY") > 0)
    page.step(Scroll(dx=3))  # +dx: right, at the pointer
    assert poll(lambda: page.evaluate("scrollX") > 0)
    wheels = events(page, "wheel", count=2)
    assert wheels[0]["dy"] > 0 and wheels[0]["dx"] == 0
    assert any(e["dx"] > 0 for e in wheels[1:])


@pytest.mark.browser
def test_keys_and_hotkeys_release_their_modifiers(page, events, poll):
    x, y = center(page.element_box("#field"))
    page.step(Click(x=x, y=y))
    page.step(Type(text="x<y"))
    page.step(Key(key="<"))
    assert poll(lambda: page.evaluate("document.getElementById('field').value") == "x<y<")
    page.step(Hotkey(keys=("ctrl", "a")))
    page.step(Key(key="b"))  # replaces the selection: ctrl is no longer down
    page.step(KeyDown(key="shift"))
    page.step(Key(key="c"))
    page.step(KeyUp(key="shift"))
    page.step(Key(key="d"))
    assert poll(lambda: page.evaluate("document.getElementById('field').value") == "bCd")
    b = [e for e in events(page, "keydown") if e["key"] == "b"]
    assert b and not (b[0]["ctrl"] or b[0]["shift"] or b[0]["alt"])


@pytest.mark.browser
def test_hotkey_releases_pressed_keys_even_when_one_fails(page, events, monkeypatch, poll):
    x, y = center(page.element_box("#field"))
    page.step(Click(x=x, y=y))
    controller = page._controller
    real = controller._press

    def failing(key, *, down):
        if key == "a" and down:
            raise RuntimeError("simulated failure on 'a'")
        real(key, down=down)

    monkeypatch.setattr(controller, "_press", failing)
    _, _, _, _, info = page.step(Hotkey(keys=("ctrl", "shift", "a")))
    monkeypatch.undo()
    assert not info["result"].ok and "simulated" in info["result"].error
    page.step(Key(key="z"))
    assert poll(lambda: page.evaluate("document.getElementById('field').value") == "z")
    z = [e for e in events(page, "keydown") if e["key"] == "z"]
    assert z and not (z[0]["ctrl"] or z[0]["shift"])


@pytest.mark.browser
def test_navigate_back_forward_and_url_in_observation(page, pages_url, poll):
    obs, *_ = page.step(Navigate(url=f"{pages_url}/next.html"))
    assert obs.url == f"{pages_url}/next.html"
    page.step(Back())  # alt+left in the focused Chromium window
    assert poll(lambda: page.page_url() == f"{pages_url}/events.html")
    page.step(Forward())
    assert poll(lambda: page.page_url() == f"{pages_url}/next.html")
    assert page.evaluate("document.title") == "kimicua next"


@pytest.mark.browser
def test_the_tab_in_front_is_the_one_the_agent_switched_to(page, pages_url, poll):
    page.open_tabs([f"{pages_url}/next.html"])
    assert page.page_url() == f"{pages_url}/next.html"
    assert page.activate_window("Chromium", by_class=True)
    page.step(Hotkey(keys=("ctrl", "shift", "tab")))  # back to the events tab, by keyboard
    assert poll(lambda: page.page_url() == f"{pages_url}/events.html")
    assert page.observe().url == f"{pages_url}/events.html"
    assert page.evaluate("document.title") == "kimicua events"
    assert page.active_window().name.startswith("kimicua events")


@pytest.mark.browser
def test_closed_desktop_chromium_is_reported_and_reopened(desktop, pages_url, poll):
    desktop.expose_port(int(pages_url.rsplit(":", 1)[1]))
    desktop.open_tabs([f"{pages_url}/next.html"])
    assert desktop.run(["kill", str(desktop._browser.pid)]).returncode == 0
    assert poll(lambda: desktop.page_url() is None)
    with pytest.raises(EnvError, match="no longer running"):
        desktop.evaluate("1")
    desktop.open_tabs([f"{pages_url}/next.html"])  # a new Chromium on the same display
    assert desktop.evaluate("document.title") == "kimicua next"


def test_wait_done_fail(desktop):
    _, _, terminated, _, info = desktop.step(Wait(seconds=0.05))
    assert info["result"].ok and not terminated and info["execute_s"] >= 0.05
    assert desktop.step(Done(answer="ok"))[2] is True
    assert desktop.step(Fail(reason="no"))[2] is True


def test_scale_two_maps_logical_to_physical_pixels():
    with make_env("desktop", size=Size(400, 300), scale=2.0) as env:
        obs, _ = env.reset()
        assert obs.screenshot.shape == (600, 800, 3) and obs.screen == Size(400, 300)
        env.step(Move(x=100.25, y=50.75))
        assert pointer(env) == (200, 101)


def test_what_an_unclosed_env_launched_ends_at_interpreter_exit():
    marker = f"600.{os.getpid()}"  # finds the sandboxed sleep among the host's processes
    code = ("from kimicua.env import make_env, Size; env = make_env('desktop', size=Size(320, 240)); "
            f"env.launch(['sleep', '{marker}']); print(env.display.pid, flush=True)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not alive(int(out.stdout)) and not processes_with(marker)


def test_named_keys_follow_the_displays_own_keymap(monkeypatch, poll):
    """Return moved to another keycode on one display: pyautogui's import-time table
    would press a dead key; the controller's per-display table presses Return."""
    from Xlib import XK
    from Xlib.display import Display as XDisplay

    from kimicua.env.display import Display

    display = Display.start(Size(480, 320))
    try:
        with display.environ():
            conn = XDisplay(display.name)
        old = conn.keysym_to_keycode(XK.XK_Return)
        first, count = conn.display.info.min_keycode, conn.display.info.max_keycode
        rows = conn.get_keyboard_mapping(first, count - first + 1)
        spare = next(first + i for i, syms in enumerate(rows) if not any(syms))
        conn.change_keyboard_mapping(old, [(0,) * len(rows[0])])
        conn.change_keyboard_mapping(spare, [(XK.XK_Return,) * len(rows[0])])
        conn.sync()
        monkeypatch.setenv("XAUTHORITY", display.env["XAUTHORITY"])
        with make_env("desktop", display=display.name) as env:
            out = env.host_path("~/keys.txt")
            env.launch(["xterm", "-T", "kimicua-keys", "-e", "sh", "-c", "cat > ~/keys.txt"])
            env.wait_for_window("kimicua-keys")
            assert env.activate_window("kimicua-keys")
            env.step(Type(text="ab"))
            assert env.step(Key(key="enter"))[4]["result"].ok
            env.step(Hotkey(keys=("ctrl", "d")))
            assert poll(lambda: out.exists() and out.read_text() == "ab\n")
        conn.close()
    finally:
        display.stop()


@pytest.mark.browser
@pytest.mark.parametrize("sandbox", [True, False], ids=["sandboxed", "unsandboxed"])
def test_refused_urls_are_failed_steps_whether_navigated_or_typed(sandbox, pages_url, poll):
    """Seen: ctrl+L and file:///etc/passwd worked in the desktop's Chromium."""
    with make_env("desktop", size=SIZE, sandbox=sandbox) as env:
        env.reset()
        env.expose_port(int(pages_url.rsplit(":", 1)[1]))
        env.open_tabs([f"{pages_url}/next.html"])
        result = env.step(Navigate(url="file:///etc/hostname"))[4]["result"]
        assert not result.ok and "refused by the URL policy (file://*)" in result.error
        assert env.activate_window("Chromium", by_class=True)
        env.step(Hotkey(keys=("ctrl", "l")))
        # The browser refuses (or, unsandboxed, the env undoes) it once it commits: on
        # this step, or the next one when the page takes longer than the settle time.
        results = [env.step(Type(text="file:///etc/hostname\n"))[4]["result"],
                   env.step(Wait(seconds=1.0))[4]["result"]]
        assert [r.ok for r in results].count(False) == 1
        assert any(r.error and "navigation to file:///etc/hostname refused" in r.error for r in results)
        assert poll(lambda: env.page_url() == f"{pages_url}/next.html")  # the tab went back
        result = env.step(Hotkey(keys=("ctrl", "alt", "f1")))[4]["result"]
        assert not result.ok and "denied" in result.error
