"""Raw input events -> Actions of our action space, as a person's input reads.

Pure: the X RECORD capture (``xrecord``) hands events over in order and this folds
them, so every rule here is tested on synthetic streams.

- Characters typed without ctrl/alt/super (shift and caps lock allowed) merge into
  one Type until anything else happens; Enter, Tab and the other named keys are Keys.
- A key pressed while ctrl, alt or super (or shift, for a named key) is held is a
  Hotkey of the held modifiers, in the order they went down, and the key; a modifier
  pressed and released alone is a Key.
- Press, move and release of a button further than DRAG_PX apart is a Drag; else a
  Click at the press, and the next click of that button within DOUBLE_MS and
  DOUBLE_PX of it raises its count (double, triple click).
- Wheel buttons 4-7 are Scrolls (4 up: dy +1, 5 down: dy -1, 6 left, 7 right, one
  unit per notch, as pyautogui counts); notches in a row, one way, at one spot merge.
- A click, drag or scroll with modifiers held is KeyDown for each, the pointer
  action, then KeyUp for each as it is released (a shift-click, a ctrl-click).
- A pointer action begins where the pointer set off towards it: its first event is
  the first motion since the last key or button went down, so its frame is the
  screen before the pointer moved (a hover effect on the way is part of the action,
  as moving there is part of a Click(x, y)).

Key events name the symbol the key gives without and with shift (``xrecord`` looks
them up in the display's keymap): a printable character as itself, any other key by
its X keysym name ("Return", "Shift_L", "F5"). Coordinates are screen logical pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kimicua.env.actions import Action, Click, Drag, Hotkey, Key, KeyDown, KeyUp, Scroll, Type
from kimicua.env.keys import UnknownKey, normalise_key

DRAG_PX = 5.0  # a release this far from its press is a drag (a hand shakes by a few px)
DOUBLE_MS = 500  # the usual double-click time of GTK, Qt and Chromium
DOUBLE_PX = 4.0

# X keysym names of the modifiers, as our modifier names.
MODIFIER_SYMS = {
    "Shift_L": "shift", "Shift_R": "shift", "Control_L": "ctrl", "Control_R": "ctrl",
    "Alt_L": "alt", "Alt_R": "alt", "Meta_L": "alt", "Meta_R": "alt",
    "Super_L": "super", "Super_R": "super", "Hyper_L": "super", "Hyper_R": "super",
}
# Other X keysym names the key table does not know by an alias.
_NAMED_SYMS = {
    "ISO_Left_Tab": "tab", "KP_Enter": "enter", "KP_Tab": "tab", "KP_Space": "space",
    "KP_Home": "home", "KP_End": "end", "KP_Up": "up", "KP_Down": "down", "KP_Left": "left",
    "KP_Right": "right", "KP_Prior": "pageup", "KP_Page_Up": "pageup", "KP_Next": "pagedown",
    "KP_Page_Down": "pagedown", "KP_Insert": "insert", "KP_Delete": "delete",
    "Num_Lock": "numlock", "Scroll_Lock": "scrolllock", "Caps_Lock": "capslock",
    "Print": "printscreen", "Sys_Req": "printscreen", "Menu": "menu",
    "XF86AudioRaiseVolume": "volumeup", "XF86AudioLowerVolume": "volumedown",
    "XF86AudioMute": "volumemute",
}
_KEYPAD_CHARS = {f"KP_{d}": d for d in "0123456789"} | {
    "KP_Add": "+", "KP_Subtract": "-", "KP_Multiply": "*", "KP_Divide": "/",
    "KP_Decimal": ".", "KP_Separator": ",", "KP_Equal": "=",
}
_SCROLLS = {4: (0, 1), 5: (0, -1), 6: (-1, 0), 7: (1, 0)}  # button -> (dx, dy)
_BUTTONS = {1: "left", 2: "middle", 3: "right"}


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A key went down (or up): ``sym`` without shift, ``shifted`` with it."""

    down: bool
    sym: str | None
    shifted: str | None
    time_ms: int
    tag: Any = None  # what the recorder pairs with the event (the frame before it)


@dataclass(frozen=True, slots=True)
class ButtonEvent:
    down: bool
    button: int
    x: float
    y: float
    time_ms: int
    tag: Any = None


@dataclass(frozen=True, slots=True)
class MotionEvent:
    x: float
    y: float
    time_ms: int
    tag: Any = None


RawEvent = KeyEvent | ButtonEvent | MotionEvent


@dataclass(frozen=True, slots=True)
class Recorded:
    """One action and when it happened: the X times (ms) of its first and last event,
    and the tag of its first event."""

    action: Action
    start_ms: int
    end_ms: int
    tag: Any = None


def char_of(sym: str | None) -> str | None:
    """The character a key symbol types, or None for a named key."""
    if sym is None:
        return None
    if len(sym) == 1:
        return sym if sym.isprintable() else None
    return _KEYPAD_CHARS.get(sym)


def key_name(sym: str) -> str | None:
    """Our key name for a named X keysym ("Return" -> "enter"), or None if unknown."""
    if sym in _NAMED_SYMS:
        return _NAMED_SYMS[sym]
    try:
        return normalise_key(sym)
    except UnknownKey:
        return None


@dataclass
class _Press:
    """A button held down: where and when it went down, and when and on which frame
    the action began (the pointer's approach)."""

    button: int
    x: float
    y: float
    time_ms: int
    start_ms: int
    tag: Any


@dataclass
class _Pending:
    """The action still open to merging: typed text, a click or a scroll."""

    kind: str  # "type" | "click" | "scroll"
    start_ms: int
    end_ms: int
    tag: Any
    text: str = ""
    button: str = "left"
    count: int = 1
    x: float = 0.0
    y: float = 0.0
    dx: int = 0
    dy: int = 0

    def action(self) -> Action:
        match self.kind:
            case "type":
                return Type(text=self.text)
            case "click":
                return Click(x=self.x, y=self.y, button=self.button, count=self.count)
        return Scroll(x=self.x, y=self.y, dx=self.dx, dy=self.dy)


@dataclass
class Folder:
    """Folds raw events, fed in order, into Recorded actions.

    ``feed`` returns the actions an event closed; ``finish`` closes what is open.
    ``ignored`` counts events that make no action (unknown keys, buttons 8+)."""

    out: list[Recorded] = field(default_factory=list)
    ignored: int = 0
    _mods: dict[str, bool] = field(default_factory=dict)  # held modifier -> used since it went down
    _announced: list[str] = field(default_factory=list)  # modifiers a KeyDown was recorded for
    _caps: bool = False
    _press: _Press | None = None
    _pending: _Pending | None = None
    _approach: tuple[int, Any] | None = None  # (time, tag) of the pointer's first move since the last press

    def feed(self, event: RawEvent) -> list[Recorded]:
        start = len(self.out)
        match event:
            case KeyEvent(down=True):
                self._key_down(event)
            case KeyEvent(down=False):
                self._key_up(event)
            case ButtonEvent(down=True):
                self._button_down(event)
            case ButtonEvent(down=False):
                self._button_up(event)
            case MotionEvent() if self._press is None and self._approach is None:
                self._approach = (event.time_ms, event.tag)
        return self.out[start:]

    def finish(self) -> list[Recorded]:
        """Close what is still open (typed text, a click); modifiers still held are let go."""
        start = len(self.out)
        self._flush()
        for mod in self._announced:
            self._emit(KeyUp(key=mod), self.out[-1].end_ms if self.out else 0, None)
        self._announced.clear()
        return self.out[start:]

    # --- keys ------------------------------------------------------------------------

    def _key_down(self, e: KeyEvent) -> None:
        mod = MODIFIER_SYMS.get(e.sym or "")
        if mod is not None:
            self._mods.setdefault(mod, False)
            return
        self._approach = None
        for held in self._mods:
            self._mods[held] = True
        chord = [m for m in self._mods if m != "shift"]
        char = char_of(e.sym)
        if char is not None and not chord:
            shifted = char_of(e.shifted)
            if "shift" in self._mods and shifted is not None:
                char = shifted
            if self._caps and char.isalpha():
                char = char.swapcase()
            self._type(char, e)
            return
        name = char.lower() if char is not None else key_name(e.sym or "")
        if name is None:
            self.ignored += 1
            return
        if name == "capslock":
            self._caps = not self._caps
        held = [m for m in self._mods if m not in self._announced]
        self._flush()
        if held:
            self._emit(Hotkey(keys=(*held, name)), e.time_ms, e.tag)
        else:
            self._emit(Key(key=name), e.time_ms, e.tag)

    def _key_up(self, e: KeyEvent) -> None:
        mod = MODIFIER_SYMS.get(e.sym or "")
        if mod is None or mod not in self._mods:
            return
        used = self._mods.pop(mod)
        if mod in self._announced:
            self._flush()
            self._announced.remove(mod)
            self._emit(KeyUp(key=mod), e.time_ms, e.tag)
        elif not used:
            self._flush()
            self._emit(Key(key=mod), e.time_ms, e.tag)

    def _type(self, char: str, e: KeyEvent) -> None:
        p = self._pending
        if p is not None and p.kind == "type":
            p.text += char
            p.end_ms = e.time_ms
            return
        self._flush()
        self._pending = _Pending("type", e.time_ms, e.time_ms, e.tag, text=char)

    # --- buttons ---------------------------------------------------------------------

    def _announce_mods(self, start_ms: int, tag: Any) -> None:
        """KeyDown for each modifier held for a pointer action that has none yet."""
        for mod in self._mods:
            self._mods[mod] = True
            if mod not in self._announced:
                self._flush()
                self._announced.append(mod)
                self._emit(KeyDown(key=mod), start_ms, tag)

    def _began(self, e: ButtonEvent) -> tuple[int, Any]:
        """When and on which frame the pointer action pressing here began (see above)."""
        began, self._approach = self._approach or (e.time_ms, e.tag), None
        return began

    def _button_down(self, e: ButtonEvent) -> None:
        if e.button in _SCROLLS:
            self._scroll(e)
        elif e.button in _BUTTONS and self._press is None:
            self._close_stale_click(e)
            if self._pending is not None and self._pending.kind != "click":
                self._flush()
            start_ms, tag = self._began(e)
            self._announce_mods(start_ms, tag)
            self._press = _Press(e.button, e.x, e.y, e.time_ms, start_ms, tag)
        elif e.button not in _BUTTONS:
            self.ignored += 1

    def _button_up(self, e: ButtonEvent) -> None:
        press = self._press
        if press is None or e.button != press.button:
            return
        self._press = None
        button = _BUTTONS[press.button]
        if _far(press.x, press.y, e.x, e.y, DRAG_PX):
            self._flush()
            self._emit(Drag(start_x=press.x, start_y=press.y, x=e.x, y=e.y, button=button),
                       press.start_ms, press.tag, e.time_ms)
            return
        p = self._pending
        if (p is not None and p.kind == "click" and p.button == button and p.count < 3
                and press.time_ms - p.end_ms <= DOUBLE_MS and not _far(p.x, p.y, press.x, press.y, DOUBLE_PX)):
            p.count += 1
            p.end_ms = e.time_ms
            return
        self._flush()
        self._pending = _Pending("click", press.start_ms, e.time_ms, press.tag, button=button,
                                 x=press.x, y=press.y)

    def _close_stale_click(self, e: ButtonEvent) -> None:
        p = self._pending
        if p is not None and p.kind == "click" and e.time_ms - p.end_ms > DOUBLE_MS:
            self._flush()

    def _scroll(self, e: ButtonEvent) -> None:
        dx, dy = _SCROLLS[e.button]
        p = self._pending
        if (p is not None and p.kind == "scroll" and not _far(p.x, p.y, e.x, e.y, DOUBLE_PX)
                and (dx, dy) == (_sign(p.dx), _sign(p.dy)) and set(self._mods) <= set(self._announced)):
            p.dx, p.dy, p.end_ms = p.dx + dx, p.dy + dy, e.time_ms
            self._approach = None
            return
        self._flush()
        start_ms, tag = self._began(e)
        self._announce_mods(start_ms, tag)
        self._pending = _Pending("scroll", start_ms, e.time_ms, tag, x=e.x, y=e.y, dx=dx, dy=dy)

    # --- output ----------------------------------------------------------------------

    def _flush(self) -> None:
        p, self._pending = self._pending, None
        if p is not None:
            self.out.append(Recorded(p.action(), p.start_ms, p.end_ms, p.tag))

    def _emit(self, action: Action, start_ms: int, tag: Any, end_ms: int | None = None) -> None:
        self.out.append(Recorded(action, start_ms, start_ms if end_ms is None else end_ms, tag))


def _far(x0: float, y0: float, x1: float, y1: float, limit: float) -> bool:
    return (x1 - x0) ** 2 + (y1 - y0) ** 2 > limit ** 2


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def fold(events: list[RawEvent]) -> list[Recorded]:
    """Every action a finished stream of events makes."""
    folder = Folder()
    for event in events:
        folder.feed(event)
    folder.finish()
    return folder.out
