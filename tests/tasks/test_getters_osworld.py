"""OSWorld's getters on small fixtures: Chrome's profile files, the URL readers, dates
relative to today, the apps' settings and state, the desktop, AT-SPI."""

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace

import openpyxl
import pytest

from kimicua.env.actions import Hotkey, Key, Type
from kimicua.env.core import CommandResult, Window
from kimicua.tasks import chrome_profile
from kimicua.tasks.context import RunContext
from kimicua.tasks.getters import GETTERS, UNSUPPORTED_GETTERS
from kimicua.tasks.getters.relative_time import resolve
from task_fakes import FakeEnv


@dataclass
class ScriptedEnv(FakeEnv):
    """A FakeEnv whose commands answer from ``answers`` (first word -> stdout) and that
    records the actions it plays."""

    scale: float = 1.0
    answers: dict = field(default_factory=dict)
    played: list = field(default_factory=list)

    def run(self, command, *, shell=False, timeout=30.0):
        self.ran.append((command, shell))
        word = command.split()[0] if isinstance(command, str) else command[0]
        answer = self.answers.get(word, "")
        return answer if isinstance(answer, CommandResult) else CommandResult(0, answer, "")

    def step(self, action):
        self.played.append(action)
        return None, 0.0, False, False, {"result": SimpleNamespace(ok=True)}


@pytest.fixture
def ctx(tmp_path):
    return RunContext(tmp_path / "work")


def get(name, env, ctx, **spec):
    return GETTERS[name](env, ctx, {"type": name, **spec})


def _home_file(env, path, data):
    target = env.host_path(env.home + "/" + path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data if isinstance(data, bytes) else data.encode())
    return target


PREFS = {
    "default_search_provider_data": {"template_url_data": {"short_name": "Bing"}},
    "profile": {"name": "Thomas", "default_content_setting_values": {"cookies": 2}},
    "webkit": {"webprefs": {"default_font_size": 20}},
    "enable_do_not_track": True,
    "safebrowsing": {"enabled": True, "enhanced": False},
    "session": {"restore_on_startup": 5},
    "browser": {"theme": {"color_scheme2": 1}},
    "extensions": {"settings": {"abc": {"path": "/home/user/ext", "manifest": {"name": "Helper"}}}},
}


def test_chrome_settings_come_from_the_profile_of_the_running_browser(ctx):
    # The local Chromium's profile is where its command line says, not Chrome's default.
    env = ScriptedEnv(answers={"ps": "ARGS\n/usr/lib/chromium/chromium --user-data-dir=/tmp/prof about:blank\n"
                                     "/usr/lib/chromium/chromium --type=renderer --user-data-dir=/tmp/prof\n"})
    env.workspace.tmp.joinpath("prof", "Default").mkdir(parents=True)
    env.workspace.tmp.joinpath("prof", "Default", "Preferences").write_text(json.dumps(PREFS))
    env.workspace.sandboxed = True  # /tmp is the sandbox's own
    assert chrome_profile.user_data_dir(env) == "/tmp/prof"
    assert get("default_search_engine", env, ctx) == "Bing"
    assert get("profile_name", env, ctx) == "Thomas"
    assert get("chrome_font_size", env, ctx) == {"default_font_size": 20}
    assert get("enable_do_not_track", env, ctx) == "true"
    assert get("enable_safe_browsing", env, ctx) == "true"
    assert get("data_delete_automacally", env, ctx) == "true"
    assert get("new_startup_page", env, ctx) == "true"
    assert get("chrome_appearance_mode_ui", env, ctx) == "light"
    assert get("find_installed_extension_name", env, ctx) == ["Helper"]
    assert get("find_unpacked_extension_path", env, ctx) == ["/home/user/ext"]


def test_chrome_settings_defaults_without_a_profile_are_osworlds(ctx):
    env = ScriptedEnv()  # no browser runs: Chrome's default profile, which does not exist
    assert chrome_profile.user_data_dir(env) == env.home + "/.config/google-chrome"
    assert get("default_search_engine", env, ctx) == "Google"
    assert get("enable_do_not_track", env, ctx) == "false"
    assert get("new_startup_page", env, ctx) == "true"  # a fresh profile opens the New Tab page
    assert get("chrome_appearance_mode_ui", env, ctx) == "system"
    assert get("chrome_font_size", env, ctx)["default_font_size"] == 16
    assert get("bookmarks", env, ctx) == [] and get("history", env, ctx, dest="h.sqlite") is None


def test_bookmarks_history_and_cookies_prefer_the_stopped_browsers_snapshot(ctx):
    env = ScriptedEnv()
    _home_file(env, ".config/google-chrome/Default/Bookmarks", json.dumps({"roots": {"bookmark_bar": {"children": []}}}))
    assert get("bookmarks", env, ctx) == {"bookmark_bar": {"children": []}}
    snap = ctx.cache / chrome_profile.SNAPSHOT
    snap.mkdir(parents=True)
    (snap / "Bookmarks").write_text(json.dumps({"roots": {"bookmark_bar": {"children": [{"url": "http://a.test/"}]}}}))
    with sqlite3.connect(snap / "History") as conn:
        conn.execute("CREATE TABLE urls (url TEXT, title TEXT, last_visit_time INTEGER)")
        conn.execute("INSERT INTO urls VALUES ('https://www.youtube.com/x', 'X', 1)")
    with sqlite3.connect(snap / "Cookies") as conn:
        conn.execute("CREATE TABLE cookies (creation_utc INTEGER, host_key TEXT, name TEXT)")
        conn.execute("INSERT INTO cookies VALUES (1, '.amazon.com', 'session')")
    assert get("bookmarks", env, ctx)["bookmark_bar"]["children"] == [{"url": "http://a.test/"}]
    assert get("history", env, ctx, dest="history.sqlite") == [("https://www.youtube.com/x", "X", 1)]
    assert get("cookie_data", env, ctx, dest="Cookies") == [(1, ".amazon.com", "session")]
    assert (ctx.cache / "history.sqlite").is_file()  # copied as dest, as OSWorld's getter does


def test_url_readers_follow_osworld(ctx):
    env = ScriptedEnv(url="https://www.accuweather.com/en/gb/manchester/m15-6/january-weather/329260")
    assert get("url_dashPart", env, ctx, partIndex=-2, needDeleteId=False, returnType="json", key="time") == \
        {"time": "january-weather"}
    env.url = ("https://www.macys.com/shop/mens-clothing/mens-shirts/Men_regular_size_t,Price_discount_range,"
               "Sleeve_length/L,50_PERCENT_%20off%20%26%20more,Short%20Sleeve?id=20626")
    got = get("url_path_parse", env, ctx, parse_keys=["mens_clothing", "shirts", "Men_regular_size_t",
                                                      "Price_discount_range", "short_sleeve"])
    assert got == {"mens_clothing": True, "shirts": True, "Men_regular_size_t": "L",
                   "Price_discount_range": "50_PERCENT_ off & more", "short_sleeve": True}
    env.url = None
    assert get("url_path_parse", env, ctx, parse_keys=[]) is None


MONDAY = datetime(2024, 1, 29, 10, 0, tzinfo=timezone.utc)  # a Monday
THURSDAY = datetime(2024, 12, 12, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("now, relative, expected, want", [
    (MONDAY, {"from": "tomorrow"}, {"time": "{DoW}, {Month} {Day0D}, {Year}"}, {"time": "Tue, Jan 30, 2024"}),
    (MONDAY, {"from": "next Monday"}, {"time": ["{Year}-{Month0D}-{Day0D}"]}, {"time": ["2024-02-05"]}),
    (THURSDAY, {"from": "5th next month"}, {"time": "{DoW}, {Month} {Day0D}, {Year}"}, {"time": "Sun, Jan 05, 2025"}),
    (MONDAY, {"from": "this month"}, {"time": "{month}-weather"}, {"time": "january-weather"}),
    (MONDAY, {"from": "first monday eight months later"}, {"time": "{MonthFull} {Day0D}, 10:15 AM"},
     {"time": "September 02, 10:15 AM"}),
    (MONDAY, {"from": "10th next month", "to": "11th next month"}, {"from": "{DoW}, {Month} {Day0D}", "to": "{Day0D}"},
     {"from": "Sat, Feb 10", "to": "11"}),
    (THURSDAY, {"from": "next week Saturday", "to": "next week Sunday"}, {"from": "{Day0D}", "to": "{Day0D}"},
     {"from": "21", "to": "22"}),
    (THURSDAY, {"from": "next Monday split", "to": "next Friday split"},
     {"puDay": "{DayD}", "puMonth": "{MonthD}", "puYear": "{Year}", "doDay": "{DayD}", "doMonth": "{MonthD}",
      "doYear": "{Year}"},
     {"puDay": "16", "puMonth": "12", "puYear": "2024", "doDay": "20", "doMonth": "12", "doYear": "2024"}),
])
def test_relative_dates_are_filled_with_osworlds_calendar(now, relative, expected, want):
    rules = {"relativeTime": relative, "expected": dict(expected)}
    assert resolve(rules, now)["expected"] == want
    assert rules["expected"] == expected  # the task's rule is left as it was


def test_relative_dates_use_the_envs_clock_and_the_rules_time_zone(ctx):
    env = ScriptedEnv(answers={"python3": "2024-01-28T23:30:00+00:00\n"})  # Sunday night in UTC
    rules = {"relativeTime": {"from": "tomorrow"}, "expected": {"time": "{DoW}"}, "timezone": "Europe/Zurich"}
    assert get("rule_relativeTime", env, ctx, rules=rules)["expected"]["time"] == "Tue"  # Monday in Zurich
    with pytest.raises(ValueError, match="unknown relative time 'someday'"):
        resolve({"relativeTime": {"from": "someday"}, "expected": {"time": ""}}, datetime.now())


def test_app_settings_files_are_copied(ctx):
    env = ScriptedEnv()
    _home_file(env, ".config/vlc/vlcrc", "qt-bgcone=0\n")
    _home_file(env, ".config/GIMP/2.10/gimprc", "(theme \"Light\")\n")
    assert open(get("vlc_config", env, ctx, dest="vlcrc")).read() == "qt-bgcone=0\n"
    assert open(get("gimp_config_file", env, ctx, file_name="gimprc", dest="gimprc")).read() == "(theme \"Light\")\n"
    assert get("gimp_config_file", env, ctx, file_name="sessionrc", dest="sessionrc") is None


def test_vlc_playing_info_reads_vlcs_web_interface_inside_the_env(ctx):
    env = ScriptedEnv(answers={"python3": "<root><state>playing</state></root>"})
    path = get("vlc_playing_info", env, ctx, dest="status.xml")
    assert open(path).read() == "<root><state>playing</state></root>"
    command = env.ran[-1][0]
    assert command[:2] == ["python3", "-c"] and "127.0.0.1:8080/requests/status.xml" in command[2]
    env.answers["python3"] = CommandResult(1, "", "VLC web interface: Connection refused")
    with pytest.raises(RuntimeError, match="VLC web interface: Connection refused"):
        get("vlc_playing_info", env, ctx, dest="status.xml")


def test_vscode_config_runs_the_command_from_the_palette_then_reads_the_file(ctx):
    env = ScriptedEnv()
    _home_file(env, "OpenProject.txt", "/home/user/project")
    path = get("vscode_config", env, ctx, vscode_extension_command="OpenProject", path=f"{env.home}/OpenProject.txt",
               dest="OpenProject.txt")
    assert env.played == [Hotkey(keys=("ctrl", "shift", "p")), Type(text="OpenProject"), Key(key="enter")]
    assert open(path).read() == "/home/user/project"


def test_desktop_getters(ctx):
    env = ScriptedEnv(answers={"gsettings": "'file:///home/user/Pictures/sea%20side.png'\n",
                               "xdg-mime": "vlc.desktop\nvlc.desktop\ntotem.desktop\n"},
                      window_list=[Window(1, "clip.mp4 - VLC media player", "vlc.vlc", 0, 0, 1920, 1080)])
    env.workspace.sandboxed = True
    _home_file(env, "Pictures/sea side.png", b"png")
    assert open(get("vm_wallpaper", env, ctx, dest="bg.png"), "rb").read() == b"png"
    assert get("default_video_player", env, ctx) == "vlc.desktop"
    assert get("vm_window_size", env, ctx, app_class_name="vlc") == {"width": 1920, "height": 1080}
    assert get("vm_window_size", env, ctx, app_class_name="gimp") is None
    _home_file(env, "Desktop/2048.desktop", "[Desktop Entry]\nName=Play Puzzle Game 2048\n")
    _home_file(env, "Desktop/notes.txt", "x")
    assert get("shortcuts_on_desktop", env, ctx) == {"2048.desktop": "[Desktop Entry]\nName=Play Puzzle Game 2048\n"}


def test_content_from_vm_file_reads_the_last_row_as_pandas_does(ctx):
    env = ScriptedEnv()
    wb = openpyxl.Workbook()
    for row in (("Name", "Citations", "Year"), ("Ada", 10, 2020), ("Bob", 7.5, 2021)):
        wb.active.append(row)
    wb.save(_home_file(env, "Desktop/researchers.xlsx", b""))
    got = get("content_from_vm_file", env, ctx, path=f"{env.home}/Desktop/researchers.xlsx", file_type="xlsx",
              file_content="last_row")
    assert got == ["Bob", "7.5", "2021"]


class TreeServingEnv(ScriptedEnv):
    """An env whose server gives the accessibility tree (the OSWorld VM env)."""

    def accessibility_tree(self):
        return "<desktop-frame/>"

    def terminal_output(self):
        return "user@vm:~$ stty size\n24 80\n"


def test_accessibility_tree_from_the_vm_server_or_a_walk_inside_the_env(ctx):
    vm = TreeServingEnv()
    assert get("accessibility_tree", vm, ctx) == "<desktop-frame/>"
    assert "24 80" in get("vm_terminal_output", vm, ctx)
    env = ScriptedEnv(answers={"python3": "<desktop-frame name=\"main\"/>"})
    assert get("accessibility_tree", env, ctx) == "<desktop-frame name=\"main\"/>"
    assert env.ran[-1][0][:2] == ["python3", "-c"] and "pyatspi" in env.ran[-1][0][2] and env.ran[-1][0][3] == "tree"
    env.answers["python3"] = CommandResult(1, "", "ModuleNotFoundError: No module named 'pyatspi'")
    with pytest.raises(RuntimeError, match="No module named 'pyatspi'"):
        get("vm_terminal_output", env, ctx)


def test_googledrive_file_is_not_a_getter_but_a_named_gap():
    assert "googledrive_file" not in GETTERS and "Google Drive" in UNSUPPORTED_GETTERS["googledrive_file"]
