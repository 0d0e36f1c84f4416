"""Every action in Chromium on a local page that records its events, with both captures:
Chromium shown on the env's own X screen ("screen") and headless Chromium's CDP
screenshots ("cdp"); scale 2; a fresh profile per reset; a killed browser ends the
episode with EnvError."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import numpy as np
import pytest
from page_access import expose_pages

from kimicua.env import EnvError, Size, TimeLimit
from kimicua.env.actions import (Back, Click, Done, Drag, Fail, Forward, Hotkey, Key, KeyDown,
                                 KeyUp, MouseDown, MouseUp, Move, Navigate, Scroll, Type, Wait)
from kimicua.env.browser_env import BrowserEnv

pytestmark = pytest.mark.browser
SIZE = Size(800, 600)


@pytest.fixture(scope="module", params=["screen", "cdp"])
def browser(pages_url, request):
    env = BrowserEnv(size=SIZE, capture=request.param)
    env.reset()
    expose_pages(env, pages_url)
    yield env
    env.close()


@pytest.fixture
def page(browser, pages_url):
    browser.step(Navigate(url=f"{pages_url}/events.html"))
    return browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def center(box):
    x, y, w, h = box
    return x + w / 2, y + h / 2


def field_value(env):
    return env.evaluate("document.getElementById('field').value")


def test_observation_is_the_viewport_with_its_url(page, pages_url):
    obs = page.observe()
    assert obs.screenshot.shape == (600, 800, 3) and obs.screenshot.dtype == np.uint8
    assert obs.url == f"{pages_url}/events.html" and obs.screen == SIZE
    # #target is #c33 at (100..300, 100..200): the screenshot shows it there.
    assert tuple(obs.screenshot[150, 200]) == (0xCC, 0x33, 0x33)
    assert tuple(obs.screenshot[50, 50]) == (255, 255, 255)


def test_clicks_hit_the_element_box(page, events):
    box = page.element_box("#target")
    assert box == (100.0, 100.0, 200.0, 100.0)
    x, y = center(box)
    page.step(Click(x=x, y=y))
    page.step(Click(x=x, y=y + 10, button="right"))
    page.step(Click(x=x + 10, y=y, count=2))
    page.step(Click(button="middle"))  # at the pointer: where the last click was
    got = [(e["type"], e["button"], e["x"], e["y"])
           for e in events(page, "click", "contextmenu", "dblclick", "mousedown")]
    assert got == [
        ("mousedown", 0, 200, 150), ("click", 0, 200, 150),
        ("mousedown", 2, 200, 160), ("contextmenu", 2, 200, 160),
        ("mousedown", 0, 210, 150), ("click", 0, 210, 150),
        ("mousedown", 0, 210, 150), ("click", 0, 210, 150), ("dblclick", 0, 210, 150),
        ("mousedown", 1, 210, 150)]


def test_move_down_up_and_drag(page, events):
    page.step(Move(x=120.5, y=130.5))
    assert page.evaluate("window.last_move") == [120, 130, 0]
    page.step(MouseDown())
    page.step(Move(x=140, y=150))
    assert page.evaluate("window.last_move") == [140, 150, 1]  # left button held
    page.step(MouseUp())
    page.step(Drag(start_x=110, start_y=110, x=250, y=180))
    du = events(page, "mousedown", "mouseup")
    assert [(e["type"], e["x"], e["y"]) for e in du] == [
        ("mousedown", 120, 130), ("mouseup", 140, 150),
        ("mousedown", 110, 110), ("mouseup", 250, 180)]


def test_scroll_up_is_positive_dy(page, events, poll):
    page.step(Scroll(x=400, y=300, dy=-3))
    assert poll(lambda: page.evaluate("scrollY") > 0)
    page.step(Scroll(dy=1, dx=2))
    wheels = events(page, "wheel")
    assert wheels[0]["dy"] > 0  # -dy (down) is a positive DOM deltaY
    assert wheels[1]["dy"] < 0 and wheels[1]["dx"] > 0


def test_the_frame_after_a_scroll_shows_where_the_page_scrolled_to(browser, pages_url):
    # A capture clipped at document (0, 0) showed the unpainted top of a scrolled page:
    # every pixel the background colour (#fafafa) instead of the #33c block at the bottom.
    browser.step(Navigate(url=f"{pages_url}/tall.html"))
    obs, *_ = browser.step(Scroll(x=400, y=300, dy=-40))
    assert browser.evaluate("scrollY + innerHeight") == browser.evaluate("document.body.scrollHeight")
    assert tuple(obs.screenshot[-100, 400]) == (0x33, 0x33, 0xCC)  # the bottom 200 px
    assert tuple(obs.screenshot[100, 400]) == (0xFA, 0xFA, 0xFA)
    obs, *_ = browser.step(Scroll(x=400, y=300, dy=40))
    assert tuple(obs.screenshot[100, 400]) == (0xCC, 0x33, 0x33)  # back at the top 200 px


def test_typing_keys_and_hotkeys(page, events):
    x, y = center(page.element_box("#field"))
    page.step(Click(x=x, y=y))
    page.step(Type(text="a<b> üñ€ 日本"))
    assert field_value(page) == "a<b> üñ€ 日本"
    page.step(Key(key="<"))
    page.step(Key(key="A"))
    assert field_value(page).endswith("<A")
    page.step(Hotkey(keys=("ctrl", "a")))
    page.step(Key(key="b"))
    page.step(KeyDown(key="shift"))
    page.step(Key(key="c"))
    page.step(KeyUp(key="shift"))
    page.step(Key(key="backspace"))
    page.step(Type(text="d"))
    assert field_value(page) == "bd"
    b = next(e for e in events(page, "keydown") if e["key"] == "b")
    assert not (b["ctrl"] or b["shift"])


def test_type_newlines_in_a_textarea(page):
    x, y = center(page.element_box("#area"))
    page.step(Click(x=x, y=y))
    page.step(Type(text="one\ntwo\n"))
    assert page.evaluate("document.getElementById('area').value") == "one\ntwo\n"


def test_navigate_back_forward(page, pages_url):
    obs, *_ = page.step(Navigate(url=f"{pages_url}/next.html"))
    assert obs.url == f"{pages_url}/next.html"
    assert page.step(Back())[0].url == f"{pages_url}/events.html"
    assert page.step(Forward())[0].url == f"{pages_url}/next.html"
    assert page.page_url() == f"{pages_url}/next.html"


def test_errors_are_values(page):
    _, _, terminated, _, info = page.step(Click(x=801, y=10))
    assert not info["result"].ok and "outside" in info["result"].error and not terminated
    closed_port = free_port()  # nothing listens there
    obs, _, _, _, info = page.step(Navigate(url=f"http://127.0.0.1:{closed_port}/x"))
    assert not info["result"].ok and "ERR_CONNECTION_REFUSED" in info["result"].error
    assert obs.screenshot.shape == (600, 800, 3)


def test_terminal_actions_and_time_limit(browser):
    assert browser.step(Wait(seconds=0.0))[2] is False
    assert browser.step(Done())[2] is True and browser.step(Fail())[2] is True
    limited = TimeLimit(browser, max_steps=2)
    limited.reset()
    assert limited.step(Wait(seconds=0.0))[3] is False
    assert limited.step(Wait(seconds=0.0))[3] is True
    limited.reset()
    assert limited.step(Wait(seconds=0.0))[3] is False and limited.kind == "browser"


def test_tabs_are_windows(browser, pages_url):
    browser.reset()
    browser.open_tabs([f"{pages_url}/events.html", f"{pages_url}/next.html"])
    assert [w.name for w in browser.windows()] == ["", "kimicua events", "kimicua next"]
    assert browser.page_url() == f"{pages_url}/next.html"
    assert browser.activate_window("kimicua events", strict=True)
    assert browser.active_window().name == "kimicua events"
    assert browser.observe().url == f"{pages_url}/events.html"
    assert browser.wait_for_window("next", timeout=1).name == "kimicua next"
    with pytest.raises(EnvError):
        browser.wait_for_window("nothing-like-this", timeout=0.1)


def test_reset_gives_a_fresh_profile(browser, pages_url):
    browser.step(Navigate(url=f"{pages_url}/next.html"))
    browser.evaluate("localStorage.setItem('k', 'v'); document.cookie = 'c=1'; 1")
    browser.open_tabs([f"{pages_url}/next.html"])
    obs, _ = browser.reset()
    assert obs.url == "about:blank" and len(browser.windows()) == 1
    assert (obs.screenshot == 255).all()  # a blank page is one flat colour, and capturable
    browser.step(Navigate(url=f"{pages_url}/next.html"))
    assert browser.evaluate("[localStorage.getItem('k'), document.cookie]") == [None, ""]


@pytest.mark.parametrize("capture, size", [("cdp", Size(400, 300)), ("screen", Size(640, 480))])
def test_scale_two_screenshot_is_physical_and_actions_logical(pages_url, events, capture, size):
    with BrowserEnv(size=size, scale=2.0, capture=capture) as env:
        env.reset()
        expose_pages(env, pages_url)
        obs, *_ = env.step(Navigate(url=f"{pages_url}/events.html"))
        assert obs.screenshot.shape == (size.height * 2, size.width * 2, 3) and obs.scale == 2.0
        assert obs.frame.scale == 2.0 and env.element_box("#target") == (100.0, 100.0, 200.0, 100.0)
        # #target spans logical 100..300: physical 200..600 in the screenshot.
        assert tuple(obs.screenshot[250, 210]) == (0xCC, 0x33, 0x33)
        assert tuple(obs.screenshot[190, 210]) == (255, 255, 255)
        # Capturing keeps the page at its scale (a clipped capture reset it to 1).
        assert env.evaluate("[devicePixelRatio, screen.width, screen.height]") == [2, size.width, size.height]
        env.step(Click(x=150.5, y=120.5))
        click = events(env, "click")[0]
        assert (click["x"], click["y"], click["target"]) == (150, 120, "target")


DESKTOP_SESSION = {"DISPLAY": ":4242", "WAYLAND_DISPLAY": "wayland-4242",
                   "XAUTHORITY": "/nonexistent/.Xauthority"}
XAUTHORITY = "/run/kimicua/Xauthority"  # the cookie file inside the sandbox


@pytest.mark.parametrize("capture, size", [("cdp", Size(320, 240)), ("screen", Size(640, 480))])
def test_chromium_runs_without_the_desktop_session(monkeypatch, pages_url, capture, size):
    """Shown on the env's own screen, Chromium has that display, never the user's."""
    for name, value in DESKTOP_SESSION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    with BrowserEnv(size=size, capture=capture) as env:
        own = None if env.display is None else env.display.name
        env.reset()
        expose_pages(env, pages_url)
        env.step(Navigate(url=f"{pages_url}/next.html"))  # a renderer as well
        home = env.home
        root = env.browser_pid
        environs = {pid: _environ(pid) for pid in _process_tree(root)}
        environs = {pid: environ for pid, environ in environs.items() if environ is not None}
        assert env.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Pacific/Auckland"
    assert len(environs) >= 3  # the browser, its zygote(s), a renderer, ...
    # Chromium's children write their titles over their environ's memory, so /proc shows
    # all of them only for the browser; the children inherit it.
    browser = environs[root]
    assert (browser.get("PATH"), browser.get("HOME")) == (os.environ["PATH"], home)  # /home/user: sandboxed
    # Shown, it has the env's own display (and the sandbox's copy of its cookie).
    allowed = {} if own is None else {"DISPLAY": own, "XAUTHORITY": XAUTHORITY}
    assert {k: v for k, v in browser.items() if k in DESKTOP_SESSION} == allowed
    for pid, environ in environs.items():
        session = {k: v for k, v in environ.items() if k in DESKTOP_SESSION}
        assert session.items() <= allowed.items(), f"pid {pid} has {session}"


def _process_tree(root: int) -> list[int]:
    """``root`` and every process below it (from /proc/*/stat parent ids)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _environ(pid: int) -> dict[str, str] | None:
    """The environment ``pid`` was started with; None if it ended meanwhile."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


@pytest.mark.parametrize("capture, size", [("cdp", Size(320, 240)), ("screen", Size(640, 480))])
def test_killed_browser_is_an_env_error(capture, size):
    env = BrowserEnv(size=size, capture=capture)
    try:
        env.reset()
        os.kill(env.browser_pid, signal.SIGKILL)
        with pytest.raises(EnvError, match="Chromium"):
            for _ in range(50):  # the disconnect is noticed on the next call or two
                env.step(Wait(seconds=0.05))
    finally:
        env.close()
    env.close()  # idempotent


@pytest.mark.display
@pytest.mark.parametrize("capture", ["screen", "cdp"])
def test_headed_browser_runs_on_a_private_display_and_stops_it(pages_url, events, capture):
    with BrowserEnv(size=Size(640, 480), headless=False, capture=capture) as env:
        display = env.display
        assert display.private and display.alive()
        env.reset()
        expose_pages(env, pages_url)
        obs, *_ = env.step(Navigate(url=f"{pages_url}/events.html"))
        assert obs.screenshot.shape == (480, 640, 3)
        assert tuple(obs.screenshot[150, 200]) == (0xCC, 0x33, 0x33)
        env.step(Click(x=150, y=150))
        assert events(env, "click")[0]["target"] == "target"
        assert any(b"chromium" in name.lower() for name in _x_window_classes(display))
    assert not display.alive()


def _x_window_classes(display) -> list[bytes]:
    """WM_CLASS of the display's top-level windows (no window manager needed)."""
    from Xlib import Xatom
    from Xlib.display import Display as XDisplay

    with display.environ():
        conn = XDisplay(display.name)
    try:
        found = []
        for window in conn.screen().root.query_tree().children:
            prop = window.get_full_property(Xatom.WM_CLASS, Xatom.STRING)
            if prop is not None:
                value = prop.value
                found.append(value.encode() if isinstance(value, str) else bytes(value))
        return found
    finally:
        conn.close()
