"""Windows on the VM: wmctrl (which OSWorld's server itself uses) and the focused one
from the root window's _NET_ACTIVE_WINDOW, read in one /execute round trip."""

from __future__ import annotations

from kimicua.env.core import Window

MARK = "--kimicua-windows--"
# python-xlib, present wherever pyautogui runs on X.
_ACTIVE = ("from Xlib import display; d = display.Display(); r = d.screen().root; "
           "p = r.get_full_property(d.intern_atom('_NET_ACTIVE_WINDOW'), 0); "
           "print(p.value[0] if p is not None and len(p.value) else 0)")
LIST_COMMAND = f"wmctrl -lG && echo {MARK} && wmctrl -lGx && echo {MARK}; python -c \"{_ACTIVE}\""


def parse(output: str) -> tuple[list[Window], int | None]:
    """The windows (oldest first) and the focused window's id from LIST_COMMAND's output.

    ``-lG`` lines: id desktop x y w h host title (the title is the rest, spaces kept);
    ``-lGx`` puts the class before the host, and a class may hold spaces, so the class
    is what stands in front of that window's "host title"."""
    sections = (output.split(MARK) + ["", ""])[:3]
    plain = {}
    for line in sections[0].splitlines():
        parts = line.split(None, 7)
        if len(parts) >= 7 and parts[0].startswith("0x"):
            plain[parts[0]] = (parts[2:6], " ".join(parts[6:8]))
    windows = []
    for line in sections[1].splitlines():
        parts = line.split(None, 6)
        if len(parts) < 7 or parts[0] not in plain:
            continue  # a window that appeared between the two listings
        (x, y, w, h), host_title = plain[parts[0]]
        rest = parts[6]
        wm_class = rest[: len(rest) - len(host_title)].strip() if rest.endswith(host_title) else rest
        title = host_title.split(None, 1)[1] if " " in host_title else ""
        windows.append(Window(id=int(parts[0], 16), name=title, wm_class=wm_class, x=float(x),
                              y=float(y), width=float(w), height=float(h)))
    active = sections[2].strip().splitlines()
    wid = int(active[-1]) if active and active[-1].strip().isdigit() else 0
    return windows, (wid or None)


def title_matches(window: Window, name: str, *, strict: bool, by_class: bool) -> bool:
    """wmctrl's own matching, as /setup/activate_window applies it: a case-insensitive
    substring of the title (or WM_CLASS with ``by_class``); ``strict``: equal, case kept."""
    text = window.wm_class if by_class else window.name
    if strict:
        return text == name or (by_class and name in text.rsplit(".", 1))
    return name.lower() in text.lower()
