"""OSWorld's setup steps beyond programs and files, on small fakes: pyautogui commands
played as actions, pkill chrome, opening office files, closing windows, verified
commands, uploads, the wallpaper, tidying the desktop, Chrome's tabs and history, and
the steps reported unsupported with their reason."""

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from kimicua.env.actions import Hotkey, Key, Type, Wait
from kimicua.env.core import CommandResult, Window
from kimicua.tasks import app_prefs, chrome_profile, setup_chrome
from kimicua.tasks.context import RunContext
from kimicua.tasks.pages import PageServer
from kimicua.tasks.schema import SetupStep
from kimicua.tasks.setup import SetupError, UnsupportedStep, run_step, run_steps
from task_fakes import FakeEnv


def step(type_, **parameters):
    return SetupStep(type=type_, parameters=parameters)


@dataclass
class ActingEnv(FakeEnv):
    """A FakeEnv that records the actions it is asked to play."""

    scale: float = 1.0
    played: list = field(default_factory=list)

    def step(self, action):
        self.played.append(action)
        return None, 0.0, False, False, {"result": SimpleNamespace(ok=True, error=None)}


@dataclass
class VmLikeEnv(ActingEnv):
    """An env whose own server opens files and closes windows (as the OSWorld VM env)."""

    kind: str = "osworld-vm"
    opened: list = field(default_factory=list)
    closed: list = field(default_factory=list)

    def open_file(self, path):
        self.opened.append(path)

    def close_window(self, name, *, strict=False, by_class=False):
        self.closed.append((name, strict, by_class))


@pytest.fixture
def ctx(tmp_path):
    return RunContext(tmp_path / "work", files=(tmp_path,))


def test_pyautogui_commands_are_played_as_actions_not_run(ctx):
    env = ActingEnv(screen=FakeEnv().screen)
    code = "import pyautogui; import time; pyautogui.hotkey('ctrl', 's'); time.sleep(0.5); pyautogui.press('enter')"
    run_step(step("execute", command=["python", "-c", code]), env, ctx)
    assert env.played == [Hotkey(keys=("ctrl", "s")), Wait(seconds=0.5), Key(key="enter")]
    assert env.ran == []
    # Coordinates are the screenshot's pixels, as pyautogui's: here screen = physical.
    run_step(step("execute", command=["python3", "-c", "import pyautogui; pyautogui.write('hi')"]), env, ctx)
    assert env.played[-1] == Type(text="hi")


def test_python_that_is_more_than_pyautogui_runs_as_a_command(ctx):
    env = ActingEnv()
    run_step(step("execute", command=["python3", "-c", "import pathlib; print(pathlib.Path.home())"],
                  stdout="home.txt"), env, ctx)
    assert env.played == [] and env.ran and (ctx.cache / "home.txt").read_text().strip()


def test_a_vm_runs_pyautogui_itself(ctx):
    env = VmLikeEnv()
    run_step(step("execute", command=["python", "-c", "import pyautogui; pyautogui.press('enter')"]), env, ctx)
    assert env.played == [] and env.ran == [(["python", "-c", "import pyautogui; pyautogui.press('enter')"], False)]


def test_pkill_chrome_stops_the_local_chromium_but_runs_on_a_vm(ctx, monkeypatch):
    stopped = []
    monkeypatch.setattr(chrome_profile, "stop", lambda env, c: stopped.append(env.kind))
    local = ActingEnv()
    run_step(step("launch", command=["pkill", "chrome"]), local, ctx)
    assert stopped == ["desktop"] and local.launched == []
    vm = VmLikeEnv()
    run_step(step("launch", command=["pkill", "chrome"]), vm, ctx)
    assert stopped == ["desktop"] and vm.launched == [(["pkill", "chrome"], False)]


def test_missing_and_sandbox_bound_programs_fail_in_one_line_naming_them(ctx):
    env = ActingEnv()
    with pytest.raises(SetupError, match=r"launch: program 'code' is not installed \(Visual Studio Code"):
        run_step(step("launch", command=["code", "/home/user/project"]), env, ctx)
    with pytest.raises(SetupError, match="execute: program 'gsettings' cannot run here: it reads or changes GNOME"):
        run_step(step("execute", command=["gsettings", "set", "a", "b", "c"]), env, ctx)
    # A script of the task's own, in the home, is not looked up on this machine.
    run_step(step("launch", command=[f"{env.home}/run.sh"]), env, ctx)
    assert env.launched == [([f"{env.home}/run.sh"], False)]


def test_thunderbird_keeps_the_tasks_profile_locally(ctx):
    env = ActingEnv()
    run_step(step("launch", command=["thunderbird"]), env, ctx)
    assert env.launched == [(["env", "MOZ_LEGACY_PROFILES=1", "thunderbird"], False)]
    vm = VmLikeEnv()
    run_step(step("launch", command=["thunderbird"]), vm, ctx)
    assert vm.launched == [(["thunderbird"], False)]


def _opened_with(env, ctx, name, title):
    host = env.host_path(env.home)
    (host / name).write_bytes(b"x")
    env.window_list = [Window(7, title, "app", 0, 0, 9, 9)]
    run_step(step("open", path=f"~/{name}"), env, ctx)
    return env.launched[-1][0][0]


def test_open_picks_the_app_for_office_images_and_media_files(ctx):
    env = ActingEnv()
    assert _opened_with(env, ctx, "t.xlsx", "t.xlsx - LibreOffice Calc") == "localc"
    assert _opened_with(env, ctx, "t.csv", "t.csv - LibreOffice Calc") == "localc"
    assert _opened_with(env, ctx, "d.docx", "d.docx - LibreOffice Writer") == "lowriter"
    assert _opened_with(env, ctx, "s.pptx", "s.pptx - LibreOffice Impress") == "loimpress"
    # GIMP titles an image with its stem, "[photo] (imported)-1.0 ..."; matching ignores case.
    assert _opened_with(env, ctx, "Photo.png", "[photo] (imported)-1.0 (RGB) – GIMP") == "gimp"
    assert _opened_with(env, ctx, "clip.mp4", "clip.mp4 - VLC media player") == "vlc"


def test_open_gives_libreoffice_the_vms_first_run_settings_once(ctx):
    env = ActingEnv()
    _opened_with(env, ctx, "t.xlsx", "t.xlsx - LibreOffice Calc")
    xcu = env.host_path(app_prefs.LIBREOFFICE_PROFILE.replace("~", env.home))
    text = xcu.read_text()
    assert '"ShowTipOfTheDay"' in text and '"WarnAlienFormat"' in text
    xcu.write_text("the task's own")
    _opened_with(env, ctx, "u.xlsx", "u.xlsx - LibreOffice Calc")
    assert xcu.read_text() == "the task's own"


def test_open_waits_for_the_window_and_a_vm_opens_files_itself(ctx, monkeypatch):
    env = ActingEnv()
    (env.host_path(env.home) / "t.xlsx").write_bytes(b"x")
    monkeypatch.setattr("kimicua.tasks.setup.WINDOW_TIMEOUT_S", 0.0)
    with pytest.raises(SetupError, match="open: no window showing 't.xlsx'"):
        run_step(step("open", path="~/t.xlsx"), env, ctx)
    vm = VmLikeEnv()
    run_step(step("open", path="/home/user/t.xlsx"), vm, ctx)
    assert vm.opened == ["/home/user/t.xlsx"] and vm.launched == []


class ClosingEnv(ActingEnv):
    """Windows go away when wmctrl -i -c names them."""

    def run(self, command, *, shell=False, timeout=30.0):
        self.ran.append((command, shell))
        if command[:3] == ["wmctrl", "-i", "-c"]:
            self.window_list = [w for w in self.window_list if hex(w.id) != command[3]]
        return CommandResult(0, "", "")


def test_close_window_closes_what_matches_and_waits_for_it_to_go(ctx):
    env = ClosingEnv(window_list=[Window(1, "Inbox - Mozilla Thunderbird", "Mail.thunderbird-default", 0, 0, 9, 9),
                                  Window(2, "Message Filters", "Dialog.thunderbird", 0, 0, 9, 9),
                                  Window(3, "notes.txt - Mousepad", "mousepad.Mousepad", 0, 0, 9, 9)])
    # OSWorld's VM names Thunderbird's class "Mail.thunderbird"; Debian's adds the profile.
    run_step(step("close_window", window_name="Mail.thunderbird", strict=True, by_class=True), env, ctx)
    assert [w.id for w in env.windows()] == [2, 3]
    run_step(step("close_window", window_name="Message Filters", strict=True), env, ctx)
    run_step(step("close_window", window_name="nothing like it"), env, ctx)  # no match: no error
    assert [w.id for w in env.windows()] == [3]
    vm = VmLikeEnv()
    run_step(step("close_window", window_name="Mail.thunderbird", strict=True, by_class=True), vm, ctx)
    assert vm.closed == [("Mail.thunderbird", True, True)]


def test_execute_with_verification_waits_for_its_checks(ctx, tmp_path):
    env = ActingEnv(window_list=[Window(1, "Terminal - user", "xterm", 0, 0, 9, 9)])
    flag = env.host_path(env.home) / "ready"
    run_step(step("execute_with_verification", command=["touch", str(flag)],
                  verification={"window_exists": "terminal", "command_success": f"test -f {flag}"},
                  max_wait_time=5, check_interval=0.1), env, ctx)
    t0 = time.monotonic()
    with pytest.raises(SetupError, match=r"execute_with_verification: verification .* did not hold after 0.3s"):
        run_step(step("execute_with_verification", command=["true"], verification={"window_exists": "Gedit"},
                      max_wait_time=0.3, check_interval=0.1), env, ctx)
    assert time.monotonic() - t0 < 5
    with pytest.raises(SetupError, match="unknown verification 'pixel'"):
        run_step(step("execute_with_verification", command=["true"], verification={"pixel": 1}), env, ctx)


def test_upload_file_copies_the_tasks_own_files_only(ctx, tmp_path):
    env = ActingEnv()
    (tmp_path / "data.csv").write_text("a,b\n")
    run_step(step("upload_file", files=[{"local_path": "data.csv", "path": "~/Desktop/data.csv"}]), env, ctx)
    assert (env.host_path(env.home) / "Desktop" / "data.csv").read_text() == "a,b\n"
    with pytest.raises(SetupError, match="upload_file: cannot upload file:///etc/hostname: file:// URLs may only"):
        run_step(step("upload_file", files=[{"local_path": "/etc/hostname", "path": "~/h"}]), env, ctx)


def test_change_wallpaper_sets_gnomes_background_where_gnome_is(ctx):
    vm = VmLikeEnv()
    run_step(step("change_wallpaper", path="~/Pictures/sea.png"), vm, ctx)
    assert vm.ran[-1][0] == ["gsettings", "set", "org.gnome.desktop.background", "picture-uri",
                             "file:///home/user/Pictures/sea.png".replace("/home/user", vm.home)]
    with pytest.raises(SetupError, match="cannot run here"):
        run_step(step("change_wallpaper", path="~/sea.png"), ActingEnv(), ctx)


def test_tidy_desktop_empties_the_desktop_folder(ctx):
    env = ActingEnv()
    desktop = env.host_path(env.home) / "Desktop"
    (desktop / "sub").mkdir(parents=True)
    (desktop / "a.txt").write_text("x")
    run_step(step("tidy_desktop"), env, ctx)
    assert list(desktop.iterdir()) == []


class _Page:
    def __init__(self, pages, url):
        self.pages, self.url = pages, url

    def close(self):
        self.pages.remove(self)


@dataclass
class TabsEnv(ActingEnv):
    """A FakeEnv whose Chrome is a list of fake pages (what browser_access reaches)."""

    urls: list = field(default_factory=list)

    def __post_init__(self):
        self.pages = [_Page([], u) for u in self.urls]
        for page in self.pages:
            page.pages = self.pages
        self.context = SimpleNamespace(pages=self.pages)

    def browser(self):
        return self

    def open_tabs(self, urls):
        super().open_tabs(urls)
        self.pages += [_Page(self.pages, u) for u in urls]


def test_chrome_tabs_open_without_the_start_page_and_close_by_url(ctx):
    env = TabsEnv(urls=["about:blank"])
    run_step(step("chrome_open_tabs", urls_to_open=["https://www.a.test/", "http://b.test/x"]), env, ctx)
    assert [p.url for p in env.pages] == ["https://www.a.test/", "http://b.test/x"]
    # OSWorld's URL equality: "www." and a bare "/" path do not count.
    run_step(step("chrome_close_tabs", urls_to_close=["https://a.test", "http://gone.test/"]), env, ctx)
    assert [p.url for p in env.pages] == ["http://b.test/x"]
    with pytest.raises(SetupError, match="the desktop env offers no CDP connection"):
        run_step(step("chrome_close_tabs", urls_to_close=["http://b.test/x"]), ActingEnv(), ctx)


def _empty_history(path):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT, title TEXT, visit_count INTEGER, "
                     "typed_count INTEGER, last_visit_time INTEGER, hidden INTEGER)")
        conn.execute("CREATE TABLE visits (id INTEGER PRIMARY KEY, url INTEGER, visit_time INTEGER, "
                     "from_visit INTEGER, transition INTEGER, segment_id INTEGER, visit_duration INTEGER)")


def test_update_browse_history_writes_chromes_history_before_it_starts(ctx, tmp_path, monkeypatch):
    root = tmp_path / "pages"
    root.mkdir()
    _empty_history(root / "history_empty.sqlite")
    env = ActingEnv()
    with PageServer(root) as server:
        monkeypatch.setattr(setup_chrome, "EMPTY_HISTORY_URL", f"{server.url}/history_empty.sqlite")
        run_step(step("update_browse_history", history=[
            {"url": "https://www.youtube.com/watch?v=1", "title": "One", "visit_time_from_now_in_seconds": 3600},
            {"url": "https://www.bbc.co.uk/", "title": "BBC", "visit_time_from_now_in_seconds": 60}]), env, ctx)
    # No Chrome runs, so its profile is Chrome's default one in the home.
    history = env.host_path(f"{env.home}/.config/google-chrome/Default/History")
    with sqlite3.connect(history) as conn:
        rows = conn.execute("SELECT url, title, last_visit_time FROM urls ORDER BY id").fetchall()
        visits = conn.execute("SELECT url, visit_time FROM visits ORDER BY id").fetchall()
    assert [r[:2] for r in rows] == [("https://www.youtube.com/watch?v=1", "One"), ("https://www.bbc.co.uk/", "BBC")]
    hour_ago = (datetime.now() - timedelta(hours=1) - datetime(1601, 1, 1)).total_seconds() * 1e6
    assert abs(rows[0][2] - hour_ago) < 60e6 and visits == [(1, rows[0][2]), (2, rows[1][2])]
    monkeypatch.setattr(setup_chrome, "EMPTY_HISTORY_URL", "http://127.0.0.1:9/history_empty.sqlite")
    with pytest.raises(SetupError, match="update_browse_history: cannot fetch .* needs the network"):
        run_step(step("update_browse_history", history=[]), ActingEnv(), RunContext(tmp_path / "w2"))


def test_googledrive_and_login_are_unsupported_with_the_reason(ctx):
    with pytest.raises(UnsupportedStep, match="'googledrive' is not supported here: needs OSWorld's Google Drive"):
        run_step(step("googledrive", settings_file="x"), ActingEnv(), ctx)
    with pytest.raises(UnsupportedStep, match="'login' is not supported here: signs in to a website"):
        run_step(step("login", platform="googledrive"), ActingEnv(), ctx)


def test_a_local_home_gets_the_vm_users_folders(ctx):
    env = ActingEnv()
    run_steps([step("sleep", seconds=0)], env, ctx)
    assert set(app_prefs.HOME_FOLDERS) <= set(env.list_dir(env.home))
    vm = VmLikeEnv()
    run_steps([step("sleep", seconds=0)], vm, ctx)
    assert vm.ran == []
