"""Type exact text on an X display by keysym, through XTest.

Each character becomes its X keysym; a keycode that produces it (with shift if it is
the shifted symbol) is pressed. Characters the keymap lacks (unicode) get a spare
keycode mapped to them. Unlike ``xdotool type``, which maps a keycode, presses it and
maps it back at once (so an app that looks the keycode up late sees the old symbol
and types the wrong character under load), mappings here stay in place: a keycode is
only reused after a pause, once every client has long caught up.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from Xlib import X, XK
from Xlib.ext import xtest

NO_SYMBOL = 0
REUSE_PAUSE_S = 0.2  # before remapping a keycode that was pressed for another symbol
SAME_KEY_GAP_S = 0.002  # two X server milliseconds between presses of one key


def keysym_of(char: str) -> int:
    """The X keysym that types ``char`` (Latin-1 keysyms are the code points)."""
    if char in "\n\r":
        return XK.XK_Return
    if char == "\t":
        return XK.XK_Tab
    if char == "\b":
        return XK.XK_BackSpace
    if char == "\x1b":
        return XK.XK_Escape
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0:
        # Other control characters have no key; typing a keysym for them would send
        # an app something no keyboard can.
        raise ValueError(f"cannot type control character U+{code:04X}")
    if code <= 0xFF:
        return code
    return 0x01000000 | code  # the Unicode keysym range


class KeysymTyper:
    """Types text on one Xlib display connection."""

    def __init__(self, xdisplay):
        self.d = xdisplay
        self._shift = xdisplay.keysym_to_keycode(XK.XK_Shift_L)
        self._load_map()
        self._spare_used: OrderedDict[int, float] = OrderedDict()  # keycode -> last press
        self._last_code, self._last_time = 0, 0.0  # the key tapped last, and when

    def _load_map(self) -> None:
        first = self.d.display.info.min_keycode
        count = self.d.display.info.max_keycode - first + 1
        rows = self.d.get_keyboard_mapping(first, count)
        self._per_code = len(rows[0]) if rows else 2
        # keysym -> (keycode, needs shift) for the plain and shifted symbols.
        self._lookup: dict[int, tuple[int, bool]] = {}
        self._spare: list[int] = []
        for offset, syms in enumerate(rows):
            code = first + offset
            if all(s == NO_SYMBOL for s in syms):
                self._spare.append(code)
                continue
            for index, shifted in ((0, False), (1, True)):
                sym = syms[index] if index < len(syms) else NO_SYMBOL
                if sym != NO_SYMBOL and sym not in self._lookup:
                    self._lookup[sym] = (code, shifted)
        if not self._spare:
            raise RuntimeError("no spare keycode to map unicode characters to")

    def _code_for(self, sym: int) -> tuple[int, bool]:
        found = self._lookup.get(sym)
        if found is not None:
            return found
        if len(self._spare_used) < len(self._spare):
            code = next(c for c in self._spare if c not in self._spare_used)
        else:
            code, last = next(iter(self._spare_used.items()))  # least recently used
            wait = REUSE_PAUSE_S - (time.monotonic() - last)
            if wait > 0:
                time.sleep(wait)
            for s, (c, _) in list(self._lookup.items()):
                if c == code:
                    del self._lookup[s]
        self.d.change_keyboard_mapping(code, [(sym,) * self._per_code])
        self.d.sync()
        self._lookup[sym] = (code, False)
        self._spare_used[code] = time.monotonic()
        return code, False

    def _tap(self, code: int, shifted: bool) -> None:
        # LibreOffice takes a key pressed in the same X server millisecond as its previous
        # release for auto-repeat and drops it ("food" arrived as "fod", "4400" as "400"):
        # the same keycode waits until the server's clock has moved on since that release.
        if code == self._last_code:
            wait = SAME_KEY_GAP_S - (time.monotonic() - self._last_time)
            if wait > 0:
                time.sleep(wait)
        if shifted:
            xtest.fake_input(self.d, X.KeyPress, self._shift)
        xtest.fake_input(self.d, X.KeyPress, code)
        xtest.fake_input(self.d, X.KeyRelease, code)
        if shifted:
            xtest.fake_input(self.d, X.KeyRelease, self._shift)
        self.d.sync()  # the server has processed the release: its time is behind us now
        self._last_code, self._last_time = code, time.monotonic()
        if code in self._spare_used:
            self._spare_used[code] = time.monotonic()
            self._spare_used.move_to_end(code)

    def type(self, text: str, delay_s: float = 0.0) -> None:
        """Type ``text`` exactly (a "\\r\\n" pair is one Return); ValueError, before
        any key is pressed, for a control character no key produces."""
        syms = [keysym_of(char) for char in text.replace("\r\n", "\n")]
        for sym in syms:
            self._tap(*self._code_for(sym))
            if delay_s:
                time.sleep(delay_s)
