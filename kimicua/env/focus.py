"""Which kind of app has the keyboard focus: does it draw on a frame clock?

GTK 3/4, Qt and Chromium paint on a 60 Hz frame clock: a change may be painted only at
the next tick, up to 16.7 ms after the input, while the app sleeps (mousepad scrolling
a long line: 28 of 100 keystrokes drew 16-17 ms late). Such apps take part in the
window manager's frame sync and say so with _NET_WM_SYNC_REQUEST_COUNTER on their
window; xterm, Tk and other Xlib/Xt apps paint as they handle the input and have none.
The desktop's settle waits longer for the first drawing when the focused window has it.
"""

from __future__ import annotations

import threading

from kimicua.env.core import EnvError
from kimicua.env.display import Display
from kimicua.env.xconnection import close_quietly, open_connection


class Focus:
    """Reads the focused window of ``display`` (its own X connection)."""

    def __init__(self, display: Display):
        self.display = display.name
        self._lock = threading.Lock()
        self._conn = open_connection(display, f"cannot read the focus on display {display.name}")
        atom = self._conn.intern_atom
        self._active, self._counter = atom("_NET_ACTIVE_WINDOW"), atom("_NET_WM_SYNC_REQUEST_COUNTER")
        self._known: dict[int, tuple[bool, str]] = {}  # window id -> (frame clock, WM_CLASS class)

    def window(self) -> tuple[bool, str] | None:
        """(draws on a frame clock, its WM_CLASS class) of the focused window; None when
        no window has the focus (or the display cannot say)."""
        from Xlib import X, error

        with self._lock:
            try:
                active = self._conn.screen().root.get_full_property(self._active, X.AnyPropertyType)
                if active is None or not active.value or not active.value[0]:
                    return None
                wid = int(active.value[0])
                if wid not in self._known:
                    window = self._conn.create_resource_object("window", wid)
                    counter = window.get_full_property(self._counter, X.AnyPropertyType)
                    wm_class = window.get_wm_class() or ("", "")
                    self._known[wid] = (counter is not None, wm_class[-1])
                return self._known[wid]
            except (error.XError, OSError, AttributeError):
                return None  # the window went away meanwhile; nothing to go by
            except Exception as err:  # the connection is gone (ConnectionClosedError)
                raise EnvError(f"reading the focus on display {self.display} failed: {err}") from None

    def close(self) -> None:
        with self._lock:
            close_quietly(self._conn)
