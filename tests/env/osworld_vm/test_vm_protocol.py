"""The VM env end to end on the loopback VM (vm_server.py): the server performs each
request for real on a private Xvfb, so the pointer moves, X events arrive and text
lands in files, which the tests read back through the VM's own file endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kimicua.env import EnvError
from kimicua.env.actions import (Click, Done, Drag, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp,
                                 Move, Scroll, Type, Wait)
from kimicua.env.osworld_vm import OsworldVmEnv, VmClient

pytestmark = pytest.mark.display

RECORDER = Path(__file__).with_name("x_events.py")


def read(env, path: str, tmp_path: Path) -> str | None:
    dest = tmp_path / "read" / Path(path).name
    return dest.read_text(encoding="utf-8") if env.get_file(path, dest) else None


def pointer(env) -> tuple[int, int]:
    return env.client.cursor_position()


@pytest.fixture(scope="module")
def events(vm_env, tmp_path_factory):
    """A screen-sized window on the VM logging X events; ``events()`` reads what came
    since the last call (waiting up to 5 s for ``count`` of the given types)."""
    vm_env.put_file(RECORDER, "~/x_events.py")
    vm_env.launch(["python", "~/x_events.py", "/home/user/events.jsonl"])
    vm_env.wait_for_window("kimicua-events")
    assert vm_env.activate_window("kimicua-events", strict=True)
    folder = tmp_path_factory.mktemp("events")
    seen = [0]

    def new(*types, count=1):
        deadline = time.monotonic() + 5
        while True:
            dest = folder / "events.jsonl"
            vm_env.get_file("~/events.jsonl", dest)
            lines = dest.read_text().splitlines() if dest.exists() else []
            fresh = [json.loads(ln) for ln in lines[seen[0]:]]
            matching = [e for e in fresh if not types or e["type"] in types]
            if len(matching) >= count or time.monotonic() > deadline:
                seen[0] = len(lines)
                return matching
            time.sleep(0.1)

    new(count=0)
    return new


def test_screen_size_screenshot_and_home_come_from_the_vm(vm_env, loopback_vm):
    obs = vm_env.observe()
    assert vm_env.screen == loopback_vm.display.size and vm_env.scale == 1.0
    assert obs.screenshot.shape == (800, 1280, 3) and obs.screenshot.dtype.name == "uint8"
    assert vm_env.home == "/home/user" and vm_env.kind == "osworld-vm" and obs.url is None
    assert ("GET", "/screenshot") in loopback_vm.calls and ("POST", "/screen_size") in loopback_vm.calls


def test_move_and_click_put_the_real_pointer_and_buttons_there(vm_env, events):
    _, reward, terminated, truncated, info = vm_env.step(Move(x=321.7, y=123.2))
    assert info["result"].ok and (reward, terminated, truncated) == (0.0, False, False)
    assert pointer(vm_env) == (321, 123)
    events()
    assert vm_env.step(Click(x=400, y=300))[4]["result"].ok
    got = events("press", "release", count=2)
    assert [(e["type"], e["button"], e["x"], e["y"]) for e in got] == [("press", 1, 400, 300), ("release", 1, 400, 300)]
    assert vm_env.step(Click(button="right", count=2))[4]["result"].ok  # where the pointer is
    got = events("press", count=2)
    assert [(e["button"], e["x"], e["y"]) for e in got] == [(3, 400, 300), (3, 400, 300)]


def test_mouse_down_up_and_drag(vm_env, events):
    vm_env.step(Move(x=100, y=100))
    events()
    vm_env.step(MouseDown())
    vm_env.step(MouseUp())
    assert [(e["type"], e["button"]) for e in events("press", "release", count=2)] == [("press", 1), ("release", 1)]
    assert vm_env.step(Drag(start_x=200, start_y=200, x=500, y=350))[4]["result"].ok
    got = events("press", "motion", "release", count=3)
    presses = [e for e in got if e["type"] == "press"]
    releases = [e for e in got if e["type"] == "release"]
    motions = [e for e in got if e["type"] == "motion" and e["state"] & 256]  # Button1 held
    assert (presses[0]["x"], presses[0]["y"]) == (200, 200) and (releases[-1]["x"], releases[-1]["y"]) == (500, 350)
    assert len(motions) >= 2  # the apps see a drag, not a jump


def test_scroll_direction_follows_the_action_convention(vm_env, events):
    events()
    vm_env.step(Scroll(x=640, y=400, dy=2))
    vm_env.step(Scroll(dy=-1, dx=1))
    buttons = [e["button"] for e in events("press", count=4)]
    assert buttons == [4, 4, 5, 7]  # up, up, down, right
    assert pointer(vm_env) == (640, 400)


def test_keys_and_hotkeys_press_and_release(vm_env, events):
    from Xlib import XK

    events()
    vm_env.step(Key(key="enter"))
    vm_env.step(Hotkey(keys=("ctrl", "a")))
    got = events("key", "keyup", count=6)
    downs = [e["keysym"] for e in got if e["type"] == "key"]
    ups = [e["keysym"] for e in got if e["type"] == "keyup"]
    assert downs == [XK.XK_Return, XK.XK_Control_L, XK.XK_a] and sorted(ups) == sorted(downs)
    a_press = next(e for e in got if e["type"] == "key" and e["keysym"] == XK.XK_a)
    assert a_press["state"] & 4  # ControlMask: the chord was held together
    vm_env.step(KeyDown(key="shift"))
    vm_env.reset()  # releases what the agent left held
    assert [e["type"] for e in events("key", "keyup", count=2)] == ["key", "keyup"]
    vm_env.step(KeyUp(key="shift"))


def test_type_writes_exact_text_including_unicode(vm_env, tmp_path):
    text = "a<b>c & |x| 'q' \"dq\" $HOME ~ üñï € 日本語 ✓\nsecond line\ttab\n"
    vm_env.launch(["xterm", "-T", "kimicua-cat", "-e", "sh", "-c", "cat > ~/typed.txt"])
    vm_env.wait_for_window("kimicua-cat")
    assert vm_env.activate_window("kimicua-cat", strict=True)
    assert vm_env.active_window().name == "kimicua-cat"
    assert vm_env.step(Type(text=text))[4]["result"].ok
    vm_env.step(Hotkey(keys=("ctrl", "d")))  # EOF: cat exits, the file is complete
    deadline = time.monotonic() + 5
    while any(w.name == "kimicua-cat" for w in vm_env.windows()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert read(vm_env, "~/typed.txt", tmp_path) == text


def test_hostile_text_is_typed_as_text_and_runs_nothing(vm_env, tmp_path):
    text = '"); import os; os.system("touch /home/user/pwned") #' + "'); __import__('os').system('touch /tmp/pwned') #"
    vm_env.launch(["xterm", "-T", "kimicua-hostile", "-e", "sh", "-c", "cat > ~/hostile.txt"])
    vm_env.wait_for_window("kimicua-hostile")
    assert vm_env.activate_window("kimicua-hostile", strict=True)
    assert vm_env.step(Type(text=text + "\n"))[4]["result"].ok
    vm_env.step(Hotkey(keys=("ctrl", "d")))
    deadline = time.monotonic() + 5
    while read(vm_env, "~/hostile.txt", tmp_path) != text + "\n" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert read(vm_env, "~/hostile.txt", tmp_path) == text + "\n"
    assert "pwned" not in vm_env.list_dir("~") and "pwned" not in vm_env.list_dir("/tmp")


def test_files_in_and_out(vm_env, tmp_path):
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)) * 10)
    vm_env.put_file(source, "~/deep/er/in.bin")
    assert vm_env.list_dir("~/deep") == ["er"] and vm_env.list_dir("/home/user/deep/er") == ["in.bin"]
    assert vm_env.get_file("deep/er/in.bin", tmp_path / "out.bin")  # relative: under the home
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()
    assert vm_env.run(["sha256sum", "/home/user/deep/er/in.bin"]).returncode == 0
    assert vm_env.get_file("~/missing.txt", tmp_path / "missing") is False
    assert vm_env.get_file("~/deep", tmp_path / "folder") is False  # not a file
    assert vm_env.list_dir("~/deep/er/in.bin") is None and vm_env.list_dir("~/nowhere") is None
    with pytest.raises(EnvError, match="outside"):
        vm_env.put_file(source, "/etc/in.bin")
    with pytest.raises(EnvError, match="get_file"):
        vm_env.host_path("~/deep")


def test_commands_and_their_failures(vm_env):
    res = vm_env.run("echo $HOME; echo oops >&2; exit 3", shell=True)
    assert (res.returncode, res.stdout, res.stderr) == (3, "/home/user\n", "oops\n")
    assert vm_env.run(["ls", "~/"]).returncode == 0  # the server expands ~/
    missing = vm_env.run(["no-such-program-xyz"])
    assert missing.returncode == 127 and "no-such-program-xyz" in missing.stderr
    with pytest.raises(EnvError, match="launch failed"):
        vm_env.launch(["no-such-program-xyz"])
    with pytest.raises(EnvError, match="no window"):
        vm_env.wait_for_window("no-such-window-xyz", timeout=0.2)
    assert vm_env.activate_window("no-such-window-xyz") is False


def test_terminal_steps_wait_and_done(vm_env):
    for action in (Wait(seconds=0.01), Done()):
        _, _, terminated, _, info = vm_env.step(action)
        assert info["result"].ok and terminated == isinstance(action, Done)


def test_a_vm_that_stops_answering_is_an_env_error(loopback_vm):
    from vm_server import LoopbackVm

    other = LoopbackVm()
    env = OsworldVmEnv(other.url, settle_s=0.0)
    other.server.shutdown()
    other.server.server_close()
    try:
        with pytest.raises(EnvError, match="does not answer"):
            env.step(Move(x=1, y=1))
        with pytest.raises(EnvError, match="does not answer"):
            env.observe()
    finally:
        env.close()
        other.close()


def test_an_unreachable_url_is_one_line_naming_it():
    client = VmClient("127.0.0.1:9", retries=0)
    with pytest.raises(EnvError, match=r"127\.0\.0\.1:9 does not answer"):
        OsworldVmEnv(client.url)
    with pytest.raises(ValueError, match="http://HOST:5000"):
        VmClient("ftp://x")


def test_every_key_is_one_the_vms_pyautogui_presses_or_is_tapped_by_keysym(vm_env, events):
    """pyautogui skips a key it has no name or keycode for without a word."""
    from Xlib import XK

    from kimicua.env.keys import KEYS, to_pyautogui
    from kimicua.env.osworld_vm.controller import BY_KEYSYM

    program = ("import json, pyautogui; from pyautogui import _pyautogui_x11 as x; "
               "print(json.dumps([pyautogui.KEYBOARD_KEYS, [k for k, v in x.keyboardMapping.items() if v]]))")
    names, mapped = json.loads(vm_env.run(["python", "-c", program]).stdout)
    named = {to_pyautogui(k) for k in KEYS if len(k) > 1 and k not in BY_KEYSYM}
    letters = {k for k in KEYS if len(k) == 1 and k.isascii() and k.isalnum()}
    assert named - set(names) == set() and letters - set(mapped) == set()
    assert vm_env.activate_window("kimicua-events", strict=True)
    events()
    for key in ("menu", "f13", "volumemute"):
        assert vm_env.step(Key(key=key))[4]["result"].ok
    got = [e["keysym"] for e in events("key", count=3)]
    assert got == [XK.XK_Menu, XK.XK_F13, 0x1008FF12]  # XF86AudioMute
    result = vm_env.step(Hotkey(keys=("ctrl", "f13")))[4]["result"]
    assert not result.ok and "f13 can only be pressed on its own" in result.error


def test_windows_without_wmctrl_on_the_vm_are_an_error(vm_env, monkeypatch):
    from kimicua.env.osworld_vm import windows

    monkeypatch.setattr(windows, "LIST_COMMAND", windows.LIST_COMMAND.replace("wmctrl", "no-wmctrl-here"))
    with pytest.raises(EnvError, match="cannot list the VM's windows with wmctrl: .*no-wmctrl-here"):
        vm_env.windows()
