"""What the controllers that press real keys and buttons share (the desktop's X display,
the OSWorld VM): the keys and buttons KeyDown/MouseDown left held, so a reset can release
them, and a browser reached over CDP, once one is attached, for Navigate (Back/Forward are
the alt+arrow hotkey, so they work on whatever window has the focus).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

from kimicua.env.actions import Back, Forward, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, Navigate
from kimicua.env.controller import Controller


class Navigator(Protocol):
    def goto(self, url: str) -> None: ...


class HeldInputController(Controller):
    """A Controller that remembers what is held down and may have a browser attached."""

    def __init__(self) -> None:
        self.navigator: Navigator | None = None  # a CDP browser, once one is attached
        # What KeyDown/MouseDown left held, so reset can release it.
        self._held_keys: list[str] = []
        self._held_buttons: set[str] = set()

    @abstractmethod
    def _no_navigator(self) -> Exception:
        """The error a Navigate meets when no browser is attached."""

    def _note_held(self, a: KeyDown | KeyUp | MouseDown | MouseUp) -> None:
        """Remember (or forget) what ``a``, just executed, left held."""
        match a:
            case KeyDown():
                self._held_keys.append(a.key)
            case KeyUp() if a.key in self._held_keys:
                self._held_keys.remove(a.key)
            case MouseDown():
                self._held_buttons.add(a.button)
            case MouseUp():
                self._held_buttons.discard(a.button)

    def _navigate(self, a: Navigate) -> None:
        if self.navigator is None:
            raise self._no_navigator()
        self.navigator.goto(a.url)

    def _history(self, a: Back | Forward) -> None:
        self._hotkey(Hotkey(keys=("alt", "left" if isinstance(a, Back) else "right")))

    def release_all(self) -> None:
        """Release the keys and buttons that KeyDown/MouseDown left held (best effort)."""
        keys, self._held_keys = self._held_keys, []
        buttons, self._held_buttons = self._held_buttons, set()
        for key in reversed(keys):
            self.execute(KeyUp(key=key))
        for button in buttons:
            self.execute(MouseUp(button=button))
