"""The desktop controller: every Action on an X display through pyautogui and xdotool.

pyautogui drives the pointer and named keys in-process (XTest). Text is typed by keysym
(keysym_typer: pyautogui's typewrite types '<' as '>' on the default layout and cannot
type unicode, and ``xdotool type`` drops unicode characters under load); punctuation
keys go through ``xdotool key``, which also looks up keysyms. Errors are returned as
ActionResult values.
"""

from __future__ import annotations

import subprocess
import threading
import time
from contextlib import contextmanager

from kimicua.env.actions import Click, Drag, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp, Move, Scroll, Type
from kimicua.env.display import Display
from kimicua.env.geometry import Frame, Size, Space, pixel
from kimicua.env.keys import KEYS, to_pyautogui, to_xdotool
from kimicua.env.keysym_typer import KeysymTyper
from kimicua.env.held_input import HeldInputController

DRAG_STEPS = 10  # intermediate motion events so apps see a drag, not a jump

# pyautogui is a module singleton bound to one X connection; controllers for different
# displays swap their own connection in under this lock.
_PYAUTOGUI_LOCK = threading.RLock()


class ControllerError(Exception):
    """A failed action; becomes ActionResult.error."""


def _import_pyautogui(display: Display):
    """Import pyautogui with ``display`` in the environment (it connects at import)."""
    with display.environ():
        import pyautogui
        from pyautogui import _pyautogui_x11
    return pyautogui, _pyautogui_x11


# X keysyms of the canonical keys whose xdotool name is an alias, not a keysym.
_KEYSYMS = {"ctrl": "Control_L", "alt": "Alt_L", "shift": "Shift_L", "super": "Super_L"}


def _pyautogui_keymap(xdisplay) -> dict[str, int]:
    """pyautogui key name -> keycode on this display, for the keys pyautogui presses.

    pyautogui fills its table once, from the display it was imported on; this one is
    per display, so keys stay right when displays with other keymaps share a process."""
    from Xlib import XK

    table = {}
    for key in KEYS:
        if len(key) == 1 and (not key.isalnum() or not key.isascii()):
            continue  # punctuation goes through xdotool (see _pyautogui_key)
        sym = XK.string_to_keysym(_KEYSYMS.get(key) or to_xdotool(key))
        code = xdisplay.keysym_to_keycode(sym) if sym else 0
        if code:
            table[to_pyautogui(key)] = code
    return table


def _open_xlib(display: Display):
    from Xlib.display import Display as XDisplay

    with display.environ():  # python-xlib reads the cookie file from XAUTHORITY
        return XDisplay(display.name)


class DesktopController(HeldInputController):
    """Executes Actions on one display; coordinates arrive as screen logical pixels."""

    def __init__(self, display: Display, screen: Size, scale: float = 1.0):
        super().__init__()
        self.display = display
        self.screen = screen
        self.scale = scale
        self.frame = Frame(screen=screen, physical=Size(round(screen.width * scale),
                                                        round(screen.height * scale)))
        with _PYAUTOGUI_LOCK:
            self._pg, self._x11 = _import_pyautogui(display)
            self._xdisplay = _open_xlib(display)
            self._typer = KeysymTyper(self._xdisplay)
            self._keymap = _pyautogui_keymap(self._xdisplay)

    # --- plumbing ------------------------------------------------------------------

    @contextmanager
    def _pyautogui(self):
        with _PYAUTOGUI_LOCK:
            self._x11._display = self._xdisplay
            self._x11.keyboardMapping = self._keymap
            self._pg.PAUSE = 0.0  # waits are explicit, never pyautogui's hidden 0.1 s
            self._pg.FAILSAFE = not self.display.private  # only the user's real screen
            yield self._pg

    def _xdotool(self, *args: str) -> None:
        out = subprocess.run(["xdotool", *args], env=self.display.child_env(),
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise ControllerError(f"xdotool {args[0]} failed: {out.stderr.strip() or out.returncode}")

    def _point(self, x: float, y: float) -> tuple[int, int]:
        """Logical point -> the physical pixel pyautogui addresses."""
        px, py = self.frame.convert(x, y, Space.LOGICAL, Space.PHYSICAL)
        return pixel(px, self.frame.physical.width), pixel(py, self.frame.physical.height)

    def _pyautogui_key(self, key: str) -> str | None:
        """pyautogui's name if it presses exactly ``key``, else None (use xdotool).

        Punctuation is never pyautogui's: it adds shift by the US layout ('<' -> '>')."""
        name = to_pyautogui(key)
        return name if name in self._keymap else None


    # --- pointer -------------------------------------------------------------------

    def _move(self, a: Move) -> None:
        x, y = self._point(a.x, a.y)
        with self._pyautogui() as pg:
            pg.moveTo(x, y)

    # Points go to pyautogui as arguments, never as a moveTo followed by a call without
    # them: pyautogui then asks the server where the pointer is, and XTest motion is
    # queued, so the answer can be the old position and the click lands there.

    def _at(self, a: Click | Scroll) -> tuple[int | None, int | None]:
        return (None, None) if a.x is None else self._point(a.x, a.y)

    def _click(self, a: Click) -> None:
        x, y = self._at(a)
        with self._pyautogui() as pg:
            pg.click(x, y, clicks=a.count, interval=0.0, button=a.button)

    def _button(self, a: MouseDown | MouseUp) -> None:
        with self._pyautogui() as pg:
            if isinstance(a, MouseDown):
                pg.mouseDown(button=a.button)
            else:
                pg.mouseUp(button=a.button)
            self._note_held(a)

    def _drag(self, a: Drag) -> None:
        end = self._point(a.x, a.y)
        with self._pyautogui() as pg:
            if a.start_x is not None:
                sx, sy = self._point(a.start_x, a.start_y)
                pg.moveTo(sx, sy)
            else:
                sx, sy = pg.position()
            pg.mouseDown(sx, sy, button=a.button)
            try:
                for i in range(1, DRAG_STEPS + 1):
                    pg.moveTo(round(sx + (end[0] - sx) * i / DRAG_STEPS),
                              round(sy + (end[1] - sy) * i / DRAG_STEPS))
                    time.sleep(0.005)  # let the app process each motion event
            finally:
                pg.mouseUp(*end, button=a.button)

    def _scroll(self, a: Scroll) -> None:
        x, y = self._at(a)
        with self._pyautogui() as pg:
            if a.dy:
                pg.scroll(a.dy, x=x, y=y)  # +up: X button 4
            if a.dx:
                pg.hscroll(a.dx, x=x, y=y)  # +right: X button 7

    # --- keyboard ------------------------------------------------------------------

    def _type(self, a: Type) -> None:
        with _PYAUTOGUI_LOCK:
            self._typer.type(a.text)

    def _key(self, a: Key) -> None:
        name = self._pyautogui_key(a.key)
        if name is None:
            self._xdotool("key", "--", to_xdotool(a.key))
            return
        with self._pyautogui() as pg:
            pg.press(name)

    def _key_updown(self, a: KeyDown | KeyUp) -> None:
        self._press(a.key, down=isinstance(a, KeyDown))
        self._note_held(a)

    def _press(self, key: str, *, down: bool) -> None:
        """Key down or up, through pyautogui when it presses exactly ``key``."""
        name = self._pyautogui_key(key)
        if name is None:
            self._xdotool("keydown" if down else "keyup", "--", to_xdotool(key))
            return
        with self._pyautogui() as pg:
            (pg.keyDown if down else pg.keyUp)(name)

    def _hotkey(self, a: Hotkey) -> None:
        pressed: list[str] = []
        try:
            for key in a.keys:
                self._press(key, down=True)
                pressed.append(key)
        finally:
            # Release everything that went down, even if a later key failed, so no
            # modifier stays stuck for the rest of the episode.
            errors = []
            for key in reversed(pressed):
                try:
                    self._press(key, down=False)
                except Exception as err:
                    errors.append(f"{key}: {err}")
            if errors:
                raise ControllerError("failed to release " + "; ".join(errors))

    # --- browser-ish ---------------------------------------------------------------

    def _no_navigator(self) -> Exception:
        return ControllerError("navigate needs a browser; none is attached to this desktop "
                               "(open one with open_tabs first)")

    def close(self) -> None:
        try:
            self._xdisplay.close()
        except Exception:
            pass  # the server may be gone already
