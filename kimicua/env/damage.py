"""The X server's own report that something drew on the screen (the DAMAGE extension).

A damage object on the root window covers every window on the screen: the server
sends one DamageNotify when its region goes from empty to non-empty (the NonEmpty
report level) and again only after the client empties it (DamageSubtract). So one
event means "something drew since the last subtract", whatever drew it, at no cost
to anyone while the screen is still. python3-xlib (what pyautogui installs) lacks the
extension, so its three requests are declared here.
"""

from __future__ import annotations

import select
import threading
import time

from kimicua.env.core import EnvError
from kimicua.env.display import Display
from kimicua.env.xconnection import close_quietly, open_connection

REPORT_NON_EMPTY = 3  # DamageReportLevel: one event per empty -> non-empty change


def _requests():
    """The DAMAGE requests this module sends, as python-xlib request classes."""
    from Xlib.protocol import rq

    class QueryVersion(rq.ReplyRequest):  # the server refuses other requests before it
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(0), rq.RequestLength(),
                             rq.Card32("major_version"), rq.Card32("minor_version"))
        _reply = rq.Struct(rq.ReplyCode(), rq.Pad(1), rq.Card16("sequence_number"),
                           rq.ReplyLength(), rq.Card32("major_version"),
                           rq.Card32("minor_version"), rq.Pad(16))

    class Create(rq.Request):
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(1), rq.RequestLength(),
                             rq.Card32("damage"), rq.Drawable("drawable"), rq.Card8("level"),
                             rq.Pad(3))

    class Subtract(rq.Request):  # repair = parts = None: empty the whole region
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(3), rq.RequestLength(),
                             rq.Card32("damage"), rq.Card32("repair"), rq.Card32("parts"))

    return QueryVersion, Create, Subtract


class DamageWatch:
    """Tells whether anything drew on ``display``'s screen since the last ``clear``."""

    def __init__(self, display: Display):
        self.display = display.name
        self._lock = threading.Lock()
        self._conn = open_connection(display, f"cannot watch display {display.name} for damage")
        ext = self._conn.query_extension("DAMAGE")
        if ext is None:
            self._conn.close()
            raise EnvError(f"display {display.name} has no DAMAGE extension")
        self._opcode, self._event = ext.major_opcode, ext.first_event  # DamageNotify = +0
        query, create, self._subtract = _requests()
        proto = self._conn.display
        query(display=proto, opcode=self._opcode, major_version=1, minor_version=1)
        self._damage = proto.allocate_resource_id()
        create(display=proto, opcode=self._opcode, damage=self._damage,
               drawable=self._conn.screen().root.id, level=REPORT_NON_EMPTY)
        self._conn.sync()

    def clear(self) -> bool:
        """Forget what was drawn so far; whether anything was."""
        with self._lock:
            return self._take()

    def wait(self, timeout: float) -> bool:
        """Whether something draws (or drew since ``clear``) within ``timeout`` s; clears."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if self._take():
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    select.select([self._conn.fileno()], [], [], left)
                except (OSError, ValueError) as err:
                    raise EnvError(f"damage watch on display {self.display} failed: {err}") from None

    def _take(self) -> bool:
        """Read what the server sent; if it reported damage, empty the region."""
        try:
            events = [self._conn.next_event() for _ in range(self._conn.pending_events())]
        except Exception as err:  # the server is gone (ConnectionClosedError, OSError)
            raise EnvError(f"damage watch on display {self.display} failed: {err}") from None
        if not any(e.type == self._event for e in events):
            return False
        self._subtract(display=self._conn.display, opcode=self._opcode, damage=self._damage,
                       repair=0, parts=0)
        self._conn.flush()
        return True

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                close_quietly(self._conn)  # the server frees the damage object with the client
                self._conn = None
