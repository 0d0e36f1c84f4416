"""What every controller shares: dispatch on the action type, errors as values.

A controller implements one small method per kind of action; ``execute`` picks it
with ``match`` (never ``getattr`` on model text) and turns any failure into an
ActionResult with a one-line error. Its ``guard`` (URL policy, key denylist) sees
every action first: a refused one fails before anything is pressed.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Callable

from kimicua.env.actions import (Action, Back, Click, Done, Drag, Fail, Forward, Hotkey, Key,
                                 KeyDown, KeyUp, MouseDown, MouseUp, Move, Navigate, Scroll,
                                 Type, Wait)
from kimicua.env.guard import Guard
from kimicua.env.observation import ActionResult


class Controller(ABC):
    """Executes Actions on one world (an X display, a browser page)."""

    _guard: Guard | None = None

    @property
    def guard(self) -> Guard:
        """This controller's own guard (the defaults unless an env set one)."""
        if self._guard is None:
            self._guard = Guard()
        return self._guard

    @guard.setter
    def guard(self, guard: Guard) -> None:
        self._guard = guard

    def execute(self, action: Action) -> ActionResult:
        """Execute one action; failures come back as ActionResult(ok=False)."""
        start = time.perf_counter()
        try:
            self.guard.check(action)
            self._handler(action)(action)
        except Exception as err:  # errors are values: refusals, OutsideScreen, X or Playwright errors
            text = str(err).strip()
            msg = text.splitlines()[0] if text else type(err).__name__
            return ActionResult(action, ok=False, error=msg, duration_s=time.perf_counter() - start)
        self.guard.keys.executed(action)
        return ActionResult(action, ok=True, duration_s=time.perf_counter() - start)

    def _handler(self, action: Action) -> Callable[[Action], None]:
        match action:
            case Move():
                return self._move
            case Click():
                return self._click
            case MouseDown() | MouseUp():
                return self._button
            case Drag():
                return self._drag
            case Scroll():
                return self._scroll
            case Type():
                return self._type
            case Key():
                return self._key
            case KeyDown() | KeyUp():
                return self._key_updown
            case Hotkey():
                return self._hotkey
            case Navigate():
                return self._navigate
            case Back() | Forward():
                return self._history
            case Wait():
                return lambda a: time.sleep(a.seconds)
            case Done() | Fail():
                return lambda a: None
        raise ValueError(f"unsupported action {action!r}")

    @abstractmethod
    def _move(self, a: Move) -> None: ...

    @abstractmethod
    def _click(self, a: Click) -> None: ...

    @abstractmethod
    def _button(self, a: MouseDown | MouseUp) -> None: ...

    @abstractmethod
    def _drag(self, a: Drag) -> None: ...

    @abstractmethod
    def _scroll(self, a: Scroll) -> None: ...

    @abstractmethod
    def _type(self, a: Type) -> None: ...

    @abstractmethod
    def _key(self, a: Key) -> None: ...

    @abstractmethod
    def _key_updown(self, a: KeyDown | KeyUp) -> None: ...

    @abstractmethod
    def _hotkey(self, a: Hotkey) -> None: ...

    @abstractmethod
    def _navigate(self, a: Navigate) -> None: ...

    @abstractmethod
    def _history(self, a: Back | Forward) -> None: ...
