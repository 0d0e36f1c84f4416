"""A display's input, as the X server sees it: the RECORD extension in a thread.

RECORD hands a client every device event the server processes (keys, buttons,
pointer motion), whoever sends them: a person at a VNC viewer, the user's own
keyboard, or xdotool. Two connections, as RECORD needs: one blocks in
EnableContext receiving the data, the other creates and disables the context and
holds the keymap that names each key.

X event times are the server's milliseconds; ``ServerClock`` maps them onto
``time.monotonic()`` (a property change's timestamp, read right after making it),
so an event can be paired with the frame grabbed just before it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kimicua.env.core import EnvError
from kimicua.env.display import Display
from kimicua.tools.record.events import ButtonEvent, KeyEvent, MotionEvent, RawEvent

WRAP_MS = 1 << 32  # X time is a 32-bit millisecond counter


def _keysym_names() -> dict[int, str]:
    from Xlib import XK

    XK.load_keysym_group("xkb")  # ISO_Left_Tab and friends
    XK.load_keysym_group("xf86")
    names: dict[int, str] = {}
    for attr, value in vars(XK).items():
        if attr.startswith("XK_") and isinstance(value, int):
            names.setdefault(value, attr[3:])
    return names


_NAMES: dict[int, str] | None = None


def keysym_symbol(keysym: int) -> str | None:
    """A keysym as events.py names it: the character it types, else its X name."""
    global _NAMES
    if keysym == 0:
        return None
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)  # Latin-1 keysyms are their code points
    if 0x01000100 <= keysym <= 0x0110FFFF:
        return chr(keysym - 0x01000000)  # the Unicode keysym range
    if _NAMES is None:
        _NAMES = _keysym_names()
    return _NAMES.get(keysym)


class ServerClock:
    """X server time (ms) -> time.monotonic() seconds on this machine."""

    def __init__(self, conn):
        from Xlib import X, Xatom

        root = conn.screen().root
        window = root.create_window(-10, -10, 1, 1, 0, 0, window_class=X.InputOnly,
                                    event_mask=X.PropertyChangeMask)
        atom = conn.intern_atom("_KIMICUA_CLOCK")
        try:
            before = time.monotonic()
            window.change_property(atom, Xatom.STRING, 8, b"t")
            conn.flush()
            while True:
                event = conn.next_event()
                if event.type == X.PropertyNotify:
                    break
            after = time.monotonic()
        finally:
            window.destroy()
            conn.flush()
        self.server_ms = int(event.time)
        self.local_s = (before + after) / 2

    def local(self, server_ms: int) -> float:
        """The monotonic time of an X timestamp (wrapping of the 32-bit counter handled)."""
        delta = (server_ms - self.server_ms) % WRAP_MS
        if delta > WRAP_MS // 2:
            delta -= WRAP_MS  # before the calibration
        return self.local_s + delta / 1000.0


class InputCapture:
    """Calls ``on_event`` (in its own thread) with every key, button and motion event
    of ``display``, in order; coordinates divided by ``scale`` (logical px)."""

    def __init__(self, display: Display, on_event: Callable[[RawEvent], None], scale: float = 1.0):
        from Xlib import X
        from Xlib.display import Display as XDisplay

        self.name, self.on_event, self.scale = display.name, on_event, scale
        self.error: str | None = None  # why the capture stopped early
        self._ctl = self._data = None
        try:
            with display.environ():  # python-xlib reads XAUTHORITY when it connects
                self._ctl = XDisplay(display.name)
                self._data = XDisplay(display.name)
        except Exception as err:
            self._close()
            raise EnvError(f"cannot record input on display {display.name}: {err}") from None
        if not self._ctl.has_extension("RECORD"):
            self._close()
            raise EnvError(f"display {display.name} has no RECORD extension (Xvfb: +extension RECORD)")
        self.clock = ServerClock(self._ctl)
        from Xlib.ext import record

        self._context = self._ctl.record_create_context(0, [record.AllClients], [{
            "core_requests": (0, 0), "core_replies": (0, 0),
            "ext_requests": (0, 0, 0, 0), "ext_replies": (0, 0, 0, 0),
            "delivered_events": (0, 0), "device_events": (X.KeyPress, X.MotionNotify),
            "errors": (0, 0), "client_started": False, "client_died": False}])
        self._ctl.sync()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def start(self) -> None:
        """Start receiving; returns once the server records."""
        self._thread = threading.Thread(target=self._run, name=f"xrecord{self.name}", daemon=True)
        self._thread.start()
        self._started.wait(5.0)
        if self.error is not None:
            raise EnvError(self.error)

    def _run(self) -> None:
        try:
            self._data.record_enable_context(self._context, self._receive)
        except Exception as err:  # the server went away: said by stop() and the recorder
            self.error = f"input recording on display {self.name} stopped: {type(err).__name__}: {err}"
        finally:
            self._started.set()

    def _receive(self, reply) -> None:
        from Xlib.ext import record
        from Xlib.protocol import rq

        if reply.category == record.StartOfData:
            self._started.set()
            return
        if reply.category != record.FromServer or reply.client_swapped or not reply.data:
            return
        data = reply.data
        while len(data) >= 32:
            event, data = rq.EventField(None).parse_binary_value(data, self._data.display, None, None)
            raw = self._translate(event)
            if raw is not None:
                self.on_event(raw)

    def _translate(self, event) -> RawEvent | None:
        from Xlib import X

        kind = event.type & 0x7F
        if kind in (X.KeyPress, X.KeyRelease):
            self._follow_keymap()
            code = event.detail
            sym = keysym_symbol(self._ctl.keycode_to_keysym(code, 0))
            shifted = keysym_symbol(self._ctl.keycode_to_keysym(code, 1))
            return KeyEvent(kind == X.KeyPress, sym, shifted, int(event.time))
        x, y = event.root_x / self.scale, event.root_y / self.scale
        if kind in (X.ButtonPress, X.ButtonRelease):
            return ButtonEvent(kind == X.ButtonPress, event.detail, x, y, int(event.time))
        if kind == X.MotionNotify:
            return MotionEvent(x, y, int(event.time))
        return None

    def _follow_keymap(self) -> None:
        """Take in keymap changes (MappingNotify, sent to every client) before naming a key."""
        from Xlib import X

        while self._ctl.pending_events():
            event = self._ctl.next_event()
            if event.type == X.MappingNotify:
                self._ctl.refresh_keyboard_mapping(event)

    def stop(self) -> None:
        """Stop receiving (every event the server recorded so far is delivered first)."""
        if self._thread is not None:
            try:
                self._ctl.record_disable_context(self._context)
                self._ctl.flush()
            except Exception:
                pass  # the server is gone: the data connection is closed too
            self._thread.join(5.0)
            self._thread = None
        self._close()

    def _close(self) -> None:
        for conn in (self._ctl, self._data):
            if conn is None:
                continue
            try:
                conn.close()
            except Exception:
                pass  # already closed, or the server is gone
