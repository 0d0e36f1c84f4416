"""The commands Actions become on a VM, without a VM: what the controller sends to
/execute for each action, parsed back with ``ast`` (never run), and that a model's
text stays one string literal whatever it contains."""

from __future__ import annotations

import ast

import pytest

from kimicua.env.actions import (Back, Click, Drag, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp,
                                 Move, Navigate, Scroll, Type)
from kimicua.env.core import CommandResult
from kimicua.env.geometry import Size
from kimicua.env.osworld_vm.commands import PREFIX, call, literal, pyautogui_command, type_command
from kimicua.env.osworld_vm.controller import VmController

HOSTILE = ['"); import os; os.system("x") #', "'); __import__('os').system('x') #",
           "\\'); x = 1 #", '"""; import os #', "\n__import__('os')\n", "{x}{0}%s"]


class FakeVm:
    """Records each /execute command; answers with ``returncode``."""

    def __init__(self, returncode: int = 0, stderr: str = ""):
        self.sent: list[list[str]] = []
        self.returncode, self.stderr = returncode, stderr

    def execute(self, command, *, shell=False, timeout=60.0):
        assert shell is False and isinstance(command, list)
        self.sent.append(command)
        return CommandResult(self.returncode, "", self.stderr)


def calls_of(command: list[str]) -> list[tuple[str, list, dict]]:
    """(function, args, kwargs) of each pyautogui call the command's program makes, as
    literal values; asserts the program is OSWorld's prefix plus calls and nothing else."""
    assert command[:2] == ["python", "-c"] and command[2].startswith(PREFIX)
    tree = ast.parse(command[2])
    prefix = len(ast.parse(PREFIX).body)
    out = []
    for stmt in tree.body[prefix:]:
        assert isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call), ast.dump(stmt)
        func = stmt.value.func
        assert isinstance(func, ast.Attribute) and func.value.id == "pyautogui"
        out.append((func.attr, [ast.literal_eval(a) for a in stmt.value.args],
                    {k.arg: ast.literal_eval(k.value) for k in stmt.value.keywords}))
    return out


@pytest.fixture
def vm():
    return FakeVm()


@pytest.fixture
def controller(vm):
    return VmController(vm, Size(1280, 800))


def test_prefix_is_the_one_osworld_sends():
    assert pyautogui_command(call("press", "enter")) == [
        "python", "-c", "import pyautogui; import time; pyautogui.FAILSAFE = False; pyautogui.press('enter')"]


@pytest.mark.parametrize("action, expected", [
    (Move(x=100.7, y=5.2), [("moveTo", [100, 5], {})]),
    (Move(x=1280, y=800), [("moveTo", [1279, 799], {})]),  # the far edge is the last pixel
    (Click(x=10, y=20), [("click", [], {"x": 10, "y": 20, "clicks": 1, "interval": 0.05, "button": "left"})]),
    (Click(button="right"), [("click", [], {"clicks": 1, "interval": 0.05, "button": "right"})]),
    (Click(x=3, y=4, count=3, button="middle"),
     [("click", [], {"x": 3, "y": 4, "clicks": 3, "interval": 0.05, "button": "middle"})]),
    (MouseDown(button="right"), [("mouseDown", [], {"button": "right"})]),
    (MouseUp(), [("mouseUp", [], {"button": "left"})]),
    (Drag(x=50, y=60), [("dragTo", [50, 60], {"duration": 0.5, "button": "left", "mouseDownUp": True})]),
    (Drag(start_x=1, start_y=2, x=50, y=60),
     [("moveTo", [1, 2], {}), ("dragTo", [50, 60], {"duration": 0.5, "button": "left", "mouseDownUp": True})]),
    (Scroll(dy=-3), [("scroll", [-3], {})]),
    (Scroll(x=7, y=8, dy=2, dx=-1), [("scroll", [2], {"x": 7, "y": 8}), ("hscroll", [-1], {"x": 7, "y": 8})]),
    (Key(key="enter"), [("press", ["enter"], {})]),
    (Key(key="super"), [("press", ["win"], {})]),
    (Key(key="A"), [("press", ["A"], {})]),
    (KeyDown(key="shift"), [("keyDown", ["shift"], {})]),
    (KeyUp(key="escape"), [("keyUp", ["esc"], {})]),
    (Hotkey(keys=("ctrl", "shift", "t")), [("hotkey", ["ctrl", "shift", "t"], {"interval": 0.05})]),
    (Back(), [("hotkey", ["alt", "left"], {"interval": 0.05})]),
])
def test_each_action_is_the_pyautogui_call_of_its_fields(controller, vm, action, expected):
    result = controller.execute(action)
    assert result.ok, result.error
    assert [calls_of(c) for c in vm.sent] == [expected]


def test_scroll_of_nothing_sends_nothing(controller, vm):
    assert controller.execute(Scroll(dx=0, dy=0)).ok and vm.sent == []


def test_off_screen_points_fail_before_anything_is_sent(controller, vm):
    result = controller.execute(Click(x=1281, y=5))
    assert not result.ok and "outside" in result.error and vm.sent == []


def test_text_and_punctuation_keys_go_to_the_keysym_typer(controller, vm):
    for action in (Type(text="a<b"), Key(key="<")):
        assert controller.execute(action).ok
    texts = []
    for command in vm.sent:
        tree = ast.parse(command[2])
        last = tree.body[-1].value
        assert isinstance(last, ast.Call) and last.func.id == "type_text"
        texts.append(ast.literal_eval(last.args[0]))
    assert texts == ["a<b", "<"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_one_string_literal(text):
    program = type_command(text)[2]
    tree = ast.parse(program)
    last = tree.body[-1]
    # The program is the fixed typer and one call whose only argument is the text.
    assert ast.unparse(tree.body[:-1]) == ast.unparse(ast.parse(type_command("x")[2]).body[:-1])
    assert isinstance(last.value, ast.Call) and len(last.value.args) == 1
    assert isinstance(last.value.args[0], ast.Constant) and last.value.args[0].value == text
    assert not any(isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "system" for n in ast.walk(tree))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_key_names_and_buttons_never_reach_the_program(text):
    # Keys and buttons are validated before any command exists.
    with pytest.raises(ValueError):
        Key(key=text)
    with pytest.raises(ValueError):
        Click(x=1, y=1, button=text)


def test_control_characters_are_refused_before_sending(controller, vm):
    result = controller.execute(Type(text="ok\x00"))
    assert not result.ok and "U+0000" in result.error and vm.sent == []


def test_literals_are_only_numbers_strings_and_none():
    assert literal(3) == "3" and literal(2.5) == "2.5" and literal("it's") == '"it\'s"'
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            literal(bad)
    with pytest.raises(TypeError):
        literal(["x"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        call("press); import os; (", "x")


def test_a_failing_vm_command_is_a_failed_action_naming_its_error():
    vm = FakeVm(returncode=1, stderr="Traceback ...\nXlib.error.DisplayConnectionError: no display\n")
    result = VmController(vm, Size(640, 480)).execute(Move(x=1, y=1))
    assert not result.ok and result.error.endswith("Xlib.error.DisplayConnectionError: no display")


def test_navigate_without_the_vms_chrome_is_a_failed_action(controller, vm):
    result = controller.execute(Navigate(url="https://example.org/"))
    assert not result.ok and "Chrome" in result.error and vm.sent == []


def test_release_all_lets_go_of_what_was_held(controller, vm):
    controller.execute(KeyDown(key="ctrl"))
    controller.execute(MouseDown(button="middle"))
    vm.sent.clear()
    controller.release_all()
    assert [calls_of(c) for c in vm.sent] == [[("keyUp", ["ctrl"], {})], [("mouseUp", [], {"button": "middle"})]]
    vm.sent.clear()
    controller.release_all()
    assert vm.sent == []


def test_keys_pyautogui_cannot_press_are_tapped_by_keysym_and_never_held(controller, vm):
    assert controller.execute(Key(key="menu")).ok and controller.execute(Key(key="volumeup")).ok
    taps = [ast.parse(c[2]).body[-1].value for c in vm.sent]
    assert [(t.func.id, ast.literal_eval(t.args[0])) for t in taps] == [
        ("tap", "Menu"), ("tap", "XF86AudioRaiseVolume")]
    vm.sent.clear()
    for action in (KeyDown(key="f13"), Hotkey(keys=("ctrl", "menu"))):
        result = controller.execute(action)
        assert not result.ok and "on its own" in result.error
    assert vm.sent == []
