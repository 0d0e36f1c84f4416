"""The VM controller: each Action as the pyautogui command OSWorld's harness would send.

Points arrive as screen logical pixels and go to pyautogui as the integer pixel they
fall in (the VM's pyautogui addresses its X screen, whose size /screen_size reports).
A command the VM runs with a non-zero exit is a failed action, its last stderr line
the error.
"""

from __future__ import annotations

from typing import Protocol

from kimicua.env.actions import (Click, Drag, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp, Move,
                                 Scroll, Type)
from kimicua.env.core import CommandResult
from kimicua.env.geometry import Frame, Size, Space, pixel
from kimicua.env.held_input import HeldInputController
from kimicua.env.keys import to_pyautogui, to_xdotool
from kimicua.env.osworld_vm.commands import call, pyautogui_command, tap_command, type_command

DRAG_S = 0.5  # pyautogui moves the pointer over this long, so apps see a drag (OSWorld: 1 s)
ACTION_TIMEOUT_S = 60.0


class VmActionError(Exception):
    """A failed action on the VM; becomes ActionResult.error."""


class Executor(Protocol):
    def execute(self, command: list[str] | str, *, shell: bool = False,
                timeout: float = ...) -> CommandResult: ...


# Keys pyautogui has no name or no keycode for on X (it skips them without a word):
# tapped by their X keysym instead.
BY_KEYSYM = frozenset({"menu", "volumeup", "volumedown", "volumemute", *(f"f{i}" for i in range(13, 25))})


def _single_char(key: str) -> bool:
    """A punctuation or non-ASCII key: typed by keysym (pyautogui adds shift by the US
    layout and presses '>' for '<')."""
    return len(key) == 1 and not (key.isascii() and key.isalnum())


class VmController(HeldInputController):
    """Executes Actions on the VM behind ``vm`` (a VmClient)."""

    def __init__(self, vm: Executor, screen: Size):
        super().__init__()  # navigator: the VM's Chrome over CDP, once attached
        self.vm = vm
        self.frame = Frame(screen=screen)

    def _run(self, command: list[str]) -> None:
        out = self.vm.execute(command, timeout=ACTION_TIMEOUT_S)
        if out.returncode != 0:
            lines = [ln for ln in (out.stderr or out.stdout).splitlines() if ln.strip()]
            raise VmActionError(f"the VM's command failed ({out.returncode}): "
                                f"{lines[-1].strip() if lines else 'no output'}")

    def _pyautogui(self, *calls: str) -> None:
        self._run(pyautogui_command(*calls))

    def _point(self, x: float, y: float) -> tuple[int, int]:
        px, py = self.frame.convert(x, y, Space.LOGICAL, Space.PHYSICAL)  # OutsideScreen if off it
        return pixel(px, self.frame.screen.width), pixel(py, self.frame.screen.height)

    def _at(self, a: Click | Scroll) -> dict[str, int]:
        if a.x is None:
            return {}
        x, y = self._point(a.x, a.y)
        return {"x": x, "y": y}

    # --- pointer -------------------------------------------------------------------

    def _move(self, a: Move) -> None:
        self._pyautogui(call("moveTo", *self._point(a.x, a.y)))

    def _click(self, a: Click) -> None:
        self._pyautogui(call("click", **self._at(a), clicks=a.count, interval=0.05, button=a.button))

    def _button(self, a: MouseDown | MouseUp) -> None:
        down = isinstance(a, MouseDown)
        self._pyautogui(call("mouseDown" if down else "mouseUp", button=a.button))
        self._note_held(a)

    def _drag(self, a: Drag) -> None:
        calls = []
        if a.start_x is not None:
            calls.append(call("moveTo", *self._point(a.start_x, a.start_y)))
        calls.append(call("dragTo", *self._point(a.x, a.y), duration=DRAG_S, button=a.button,
                          mouseDownUp=True))
        self._pyautogui(*calls)

    def _scroll(self, a: Scroll) -> None:
        calls = []
        if a.dy:
            calls.append(call("scroll", a.dy, **self._at(a)))  # +up
        if a.dx:
            calls.append(call("hscroll", a.dx, **self._at(a)))  # +right
        if calls:
            self._pyautogui(*calls)

    # --- keyboard ------------------------------------------------------------------

    def _type(self, a: Type) -> None:
        self._run(type_command(a.text))

    def _key(self, a: Key) -> None:
        if _single_char(a.key):
            self._run(type_command(a.key))
        elif a.key in BY_KEYSYM:
            self._run(tap_command(to_xdotool(a.key)))
        else:
            self._pyautogui(call("press", to_pyautogui(a.key)))

    def _no_pyautogui_name(self, keys: tuple[str, ...]) -> None:
        odd = [k for k in keys if k in BY_KEYSYM]
        if odd:
            raise VmActionError(f"{odd[0]} can only be pressed on its own on the VM (pyautogui has no key for it)")

    def _key_updown(self, a: KeyDown | KeyUp) -> None:
        self._no_pyautogui_name((a.key,))
        down = isinstance(a, KeyDown)
        self._pyautogui(call("keyDown" if down else "keyUp", to_pyautogui(a.key)))
        self._note_held(a)

    def _hotkey(self, a: Hotkey) -> None:
        # pyautogui.hotkey presses in order and releases in reverse, all in one program.
        self._no_pyautogui_name(a.keys)
        self._pyautogui(call("hotkey", *(to_pyautogui(k) for k in a.keys), interval=0.05))

    # --- browser-ish ---------------------------------------------------------------

    def _no_navigator(self) -> Exception:
        return VmActionError("navigate needs the VM's Chrome; none is attached (open it with "
                             "open_tabs first)")
