"""The browser controller: every Action on a Playwright page.

Coordinates are screen logical pixels, which in a browser are CSS pixels of the
viewport; the device scale factor only affects the screenshot. Errors come back as
ActionResult values.
"""

from __future__ import annotations

from typing import Any, Callable

from kimicua.env.actions import (Back, Click, Drag, Forward, Hotkey, Key,
                                 KeyDown, KeyUp, MouseDown, MouseUp, Move, Navigate, Scroll,
                                 Type)
from kimicua.env.chromium import NAV_TIMEOUT_MS
from kimicua.env.geometry import Frame, Size, Space
from kimicua.env.keys import to_playwright
from kimicua.env.controller import Controller

WHEEL_CLICK_PX = 100  # one wheel notch; Chromium on Linux scrolls 100 CSS px per notch
DRAG_STEPS = 10


class BrowserController(Controller):
    """Executes Actions on the page that ``get_page()`` returns (the active tab)."""

    def __init__(self, get_page: Callable[[], Any], screen: Size):
        self._get_page = get_page
        self.frame = Frame(screen=screen)
        self.pointer = (0.0, 0.0)  # Playwright does not report the pointer; track it

    @property
    def page(self) -> Any:
        return self._get_page()

    # --- pointer -------------------------------------------------------------------

    def _to(self, x: float, y: float) -> None:
        """Move the pointer to a logical point (checked against the screen)."""
        x, y = self.frame.convert(x, y, Space.LOGICAL, Space.LOGICAL)
        # The right/bottom edge belongs to the last pixel, as on the desktop.
        x = min(x, self.frame.screen.width - 1)
        y = min(y, self.frame.screen.height - 1)
        self.page.mouse.move(x, y)
        self.pointer = (x, y)

    def _move(self, a: Move) -> None:
        self._to(a.x, a.y)

    def _click(self, a: Click) -> None:
        if a.x is not None:
            self._to(a.x, a.y)
        x, y = self.pointer
        self.page.mouse.click(x, y, button=a.button, click_count=a.count)

    def _button(self, a: MouseDown | MouseUp) -> None:
        mouse = self.page.mouse
        (mouse.down if isinstance(a, MouseDown) else mouse.up)(button=a.button)

    def _drag(self, a: Drag) -> None:
        if a.start_x is not None:
            self._to(a.start_x, a.start_y)
        end = self.frame.convert(a.x, a.y, Space.LOGICAL, Space.LOGICAL)
        mouse = self.page.mouse
        mouse.down(button=a.button)
        try:
            mouse.move(*end, steps=DRAG_STEPS)
            self.pointer = end
        finally:
            mouse.up(button=a.button)

    def _scroll(self, a: Scroll) -> None:
        if a.x is not None:
            self._to(a.x, a.y)
        # Action: +dy scrolls up; DOM wheel: +deltaY scrolls down.
        self.page.mouse.wheel(a.dx * WHEEL_CLICK_PX, -a.dy * WHEEL_CLICK_PX)

    # --- keyboard ------------------------------------------------------------------

    def _type(self, a: Type) -> None:
        self.page.keyboard.type(a.text)

    def _key(self, a: Key) -> None:
        self.page.keyboard.press(to_playwright(a.key))

    def _key_updown(self, a: KeyDown | KeyUp) -> None:
        kb = self.page.keyboard
        (kb.down if isinstance(a, KeyDown) else kb.up)(to_playwright(a.key))

    def _hotkey(self, a: Hotkey) -> None:
        kb = self.page.keyboard
        pressed: list[str] = []
        try:
            for key in a.keys:
                kb.down(to_playwright(key))
                pressed.append(to_playwright(key))
        finally:
            # Release what went down even if a later key failed: no stuck modifiers.
            for name in reversed(pressed):
                kb.up(name)

    # --- navigation ----------------------------------------------------------------

    def _navigate(self, a: Navigate) -> None:
        self.page.goto(a.url, timeout=NAV_TIMEOUT_MS, wait_until="load")

    def _history(self, a: Back | Forward) -> None:
        page = self.page
        go = page.go_back if isinstance(a, Back) else page.go_forward
        go(timeout=NAV_TIMEOUT_MS, wait_until="load")
