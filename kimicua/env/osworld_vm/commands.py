"""The commands an Action becomes on an OSWorld VM: ``python -c`` programs for /execute.

OSWorld's harness sends every input as ``["python", "-c", "import pyautogui; import
time; pyautogui.FAILSAFE = False; <call>"]``. Here each call is built from a typed
Action's fields: the function name is a constant of this module, numbers are ints or
floats written with ``repr``, strings (buttons, key names, text) are Python literals
written with ``repr``. Model text is never pasted into source: a string the model typed
reaches the VM as one string literal, and ``literal`` refuses any other type.

Text is typed by keysym (``TYPE_PROGRAM``), not with ``pyautogui.write``: pyautogui types
'<' as '>' on the usual keymaps and cannot type characters outside ASCII. The program
uses python-xlib, which pyautogui itself needs on X, so every VM that runs OSWorld's
pyautogui commands can run it.
"""

from __future__ import annotations

from kimicua.env.keysym_typer import keysym_of

PYTHON = "python"  # the interpreter name OSWorld's harness runs on the VM
PREFIX = "import pyautogui; import time; pyautogui.FAILSAFE = False; "


def literal(value: bool | int | float | str | None) -> str:
    """A Python literal for ``value``: the only way values enter generated source."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(value)
    raise TypeError(f"no literal for a {type(value).__name__}")


def call(function: str, *args: bool | int | float | str | None, **kwargs: bool | int | float | str | None) -> str:
    """``pyautogui.<function>(args..., key=value...)``; ``function`` is one of ours."""
    if not function.isidentifier():
        raise ValueError(f"not a function name: {function!r}")
    parts = [literal(a) for a in args] + [f"{k}={literal(v)}" for k, v in kwargs.items()]
    return f"pyautogui.{function}({', '.join(parts)})"


def pyautogui_command(*calls: str) -> list[str]:
    """OSWorld's /execute command for ``calls`` (made by ``call``), run in order."""
    return [PYTHON, "-c", PREFIX + "; ".join(calls)]


# Runs on the VM: type text (or tap one named key) by keysym through XTest. Characters the keymap has are
# pressed on their own keycode (with shift for the shifted symbol); the others are put
# on a keycode with no symbols for the time of the typing, and the keymap is restored
# before the program ends, so no VM is left with a changed keyboard.
_TYPER = r'''
import time
from Xlib import X, XK, display
from Xlib.ext import xtest

XK.load_keysym_group("xf86")


def keysym(ch):
    if ch in "\n\r":
        return XK.XK_Return
    if ch == "\t":
        return XK.XK_Tab
    if ch == "\b":
        return XK.XK_BackSpace
    if ch == "\x1b":
        return XK.XK_Escape
    return ord(ch) if ord(ch) <= 0xFF else 0x01000000 | ord(ch)


def type_text(text):
    type_syms([keysym(ch) for ch in text.replace("\r\n", "\n")])


def tap(name):
    # python-xlib spells X's XF86AudioMute as XF86_AudioMute
    sym = XK.string_to_keysym(name) or XK.string_to_keysym(name.replace("XF86", "XF86_", 1))
    if not sym:
        raise SystemExit("no keysym named %r" % name)
    type_syms([sym])


def type_syms(syms):
    d = display.Display()
    first = d.display.info.min_keycode
    rows = d.get_keyboard_mapping(first, d.display.info.max_keycode - first + 1)
    width = len(rows[0])
    found, spare = {}, []
    for i, row in enumerate(rows):
        if not any(row):
            spare.append(first + i)
            continue
        for level in (0, 1):
            if level < width and row[level] and row[level] not in found:
                found[row[level]] = (first + i, level == 1)
    shift = d.keysym_to_keycode(XK.XK_Shift_L)
    borrowed = []
    try:
        for sym in syms:
            if sym not in found:
                if not spare:
                    raise SystemExit("no spare keycode for keysym 0x%x" % sym)
                if len(borrowed) == len(spare):
                    time.sleep(0.2)  # let every client read the old symbol first
                    code = borrowed.pop(0)
                    found = {s: v for s, v in found.items() if v[0] != code}
                else:
                    code = spare[len(borrowed)]
                d.change_keyboard_mapping(code, [(sym,) * width])
                d.sync()
                borrowed.append(code)
                found[sym] = (code, False)
            code, shifted = found[sym]
            if shifted:
                xtest.fake_input(d, X.KeyPress, shift)
            xtest.fake_input(d, X.KeyPress, code)
            xtest.fake_input(d, X.KeyRelease, code)
            if shifted:
                xtest.fake_input(d, X.KeyRelease, shift)
            d.sync()
    finally:
        if borrowed:
            time.sleep(0.2)
            for code in borrowed:
                d.change_keyboard_mapping(code, [(0,) * width])
            d.sync()
        d.close()
'''


def tap_command(keysym_name: str) -> list[str]:
    """The /execute command that presses and releases the key of an X keysym (a name
    like ``Menu`` or ``XF86AudioMute``), mapping it for the moment if the VM has no key for it."""
    if not keysym_name.replace("_", "").isalnum():
        raise ValueError(f"not a keysym name: {keysym_name!r}")
    return [PYTHON, "-c", _TYPER + f"\ntap({literal(keysym_name)})\n"]


def type_command(text: str) -> list[str]:
    """The /execute command that types ``text`` exactly; ValueError (before anything is
    sent) for a control character no key produces."""
    for char in text.replace("\r\n", "\n"):
        keysym_of(char)  # the same refusal as the desktop's typer
    return [PYTHON, "-c", _TYPER + f"\ntype_text({literal(text)})\n"]
