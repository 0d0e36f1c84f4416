"""The one key table: canonical key names, their aliases, and each backend's name.

Canonical names are lower-case words (``ctrl``, ``enter``, ``pageup``, ``f5``) or a
single printable character (``a``, ``A``, ``<``). Every parser normalises the model's
key names here; every controller maps canonical names to its own backend here.
"""

from __future__ import annotations

import string

MODIFIERS = frozenset({"ctrl", "alt", "shift", "super"})

_NAMED = frozenset(
    {
        *MODIFIERS,
        "enter", "tab", "space", "backspace", "delete", "escape", "insert",
        "home", "end", "pageup", "pagedown", "up", "down", "left", "right",
        "capslock", "numlock", "scrolllock", "printscreen", "pause", "menu",
        "volumeup", "volumedown", "volumemute",
        *(f"f{i}" for i in range(1, 25)),
    }
)

# Printable characters that can be pressed on their own (pyautogui's single keys).
_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation)

KEYS: frozenset[str] = _NAMED | _CHARS

ALIASES: dict[str, str] = {
    "control": "ctrl", "ctl": "ctrl", "ctrlleft": "ctrl", "ctrlright": "ctrl",
    "lctrl": "ctrl", "rctrl": "ctrl", "control_l": "ctrl", "control_r": "ctrl",
    "altleft": "alt", "altright": "alt", "option": "alt", "optionleft": "alt",
    "optionright": "alt", "alt_l": "alt", "alt_r": "alt", "lalt": "alt",
    "shiftleft": "shift", "shiftright": "shift", "shift_l": "shift", "shift_r": "shift",
    "win": "super", "winleft": "super", "winright": "super", "windows": "super",
    "cmd": "super", "command": "super", "meta": "super", "super_l": "super",
    "super_r": "super",
    "return": "enter", "kp_enter": "enter", "esc": "escape", "del": "delete",
    "back": "backspace", "bksp": "backspace", "ins": "insert",
    "pgup": "pageup", "page_up": "pageup", "prior": "pageup",
    "pgdn": "pagedown", "page_down": "pagedown", "next": "pagedown",
    "arrowup": "up", "arrowdown": "down", "arrowleft": "left", "arrowright": "right",
    "prtsc": "printscreen", "prtscr": "printscreen", "print": "printscreen",
    "prntscrn": "printscreen", "apps": "menu", "caps_lock": "capslock",
    "spacebar": "space", " ": "space", "\n": "enter", "\t": "tab",
}


class UnknownKey(ValueError):
    """A key name that is not in the key table."""


def normalise_key(name: str) -> str:
    """Return the canonical name of ``name`` or raise UnknownKey."""
    if len(name) == 1 and name in KEYS:
        return name
    if name in ALIASES:
        return ALIASES[name]
    low = name.strip().lower().replace("-", "").replace(" ", "")
    low = ALIASES.get(low, low)
    if low in _NAMED:
        return low
    raise UnknownKey(f"unknown key {name!r}")


# pyautogui (and OSWorld's computer_13) names for canonical keys that differ.
_PYAUTOGUI = {"super": "win", "escape": "esc"}


def to_pyautogui(key: str) -> str:
    """pyautogui's name for a canonical key."""
    return _PYAUTOGUI.get(key, key)


_XDOTOOL = {
    "ctrl": "ctrl", "alt": "alt", "shift": "shift", "super": "super",
    "enter": "Return", "tab": "Tab", "space": "space", "backspace": "BackSpace",
    "delete": "Delete", "escape": "Escape", "insert": "Insert", "home": "Home",
    "end": "End", "pageup": "Prior", "pagedown": "Next", "up": "Up", "down": "Down",
    "left": "Left", "right": "Right", "capslock": "Caps_Lock", "numlock": "Num_Lock",
    "scrolllock": "Scroll_Lock", "printscreen": "Print", "pause": "Pause",
    "menu": "Menu", "volumeup": "XF86AudioRaiseVolume",
    "volumedown": "XF86AudioLowerVolume", "volumemute": "XF86AudioMute",
    **{f"f{i}": f"F{i}" for i in range(1, 25)},
}

# X keysym names of punctuation, which xdotool needs spelled out.
_XDOTOOL_CHARS = {
    "!": "exclam", '"': "quotedbl", "#": "numbersign", "$": "dollar", "%": "percent",
    "&": "ampersand", "'": "apostrophe", "(": "parenleft", ")": "parenright",
    "*": "asterisk", "+": "plus", ",": "comma", "-": "minus", ".": "period",
    "/": "slash", ":": "colon", ";": "semicolon", "<": "less", "=": "equal",
    ">": "greater", "?": "question", "@": "at", "[": "bracketleft",
    "\\": "backslash", "]": "bracketright", "^": "asciicircum", "_": "underscore",
    "`": "grave", "{": "braceleft", "|": "bar", "}": "braceright", "~": "asciitilde",
}


def to_xdotool(key: str) -> str:
    """xdotool keysym for a canonical key."""
    return _XDOTOOL.get(key) or _XDOTOOL_CHARS.get(key, key)


_PLAYWRIGHT = {
    "ctrl": "Control", "alt": "Alt", "shift": "Shift", "super": "Meta",
    "enter": "Enter", "tab": "Tab", "space": "Space", "backspace": "Backspace",
    "delete": "Delete", "escape": "Escape", "insert": "Insert", "home": "Home",
    "end": "End", "pageup": "PageUp", "pagedown": "PageDown", "up": "ArrowUp",
    "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight",
    "capslock": "CapsLock", "numlock": "NumLock", "scrolllock": "ScrollLock",
    "printscreen": "PrintScreen", "pause": "Pause", "menu": "ContextMenu",
    "volumeup": "AudioVolumeUp", "volumedown": "AudioVolumeDown",
    "volumemute": "AudioVolumeMute",
    **{f"f{i}": f"F{i}" for i in range(1, 25)},
}


def to_playwright(key: str) -> str:
    """Playwright key name for a canonical key."""
    return _PLAYWRIGHT.get(key, key)
