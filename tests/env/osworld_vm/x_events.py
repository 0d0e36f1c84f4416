"""Runs on the (loopback) VM: a screen-sized window that appends every pointer and key
event it receives to the file named by argv[1], one JSON object a line.

python-xlib only (what pyautogui needs on X): ``python x_events.py ~/events.jsonl``.
"""

import json
import sys

from Xlib import X, display

NAMES = {X.ButtonPress: "press", X.ButtonRelease: "release", X.MotionNotify: "motion",
         X.KeyPress: "key", X.KeyRelease: "keyup"}


def main(path: str) -> None:
    d = display.Display()
    screen = d.screen()
    mask = (X.ButtonPressMask | X.ButtonReleaseMask | X.PointerMotionMask | X.KeyPressMask
            | X.KeyReleaseMask | X.ExposureMask)
    window = screen.root.create_window(0, 0, screen.width_in_pixels, screen.height_in_pixels, 0,
                                       screen.root_depth, X.InputOutput, X.CopyFromParent,
                                       background_pixel=screen.white_pixel, event_mask=mask)
    window.set_wm_name("kimicua-events")
    window.map()
    d.flush()
    with open(path, "a", buffering=1) as out:
        while True:
            event = d.next_event()
            if event.type == X.MappingNotify:  # a key mapped for the moment (the VM's typer)
                d.refresh_keyboard_mapping(event)
                continue
            kind = NAMES.get(event.type)
            if kind is None:
                continue
            record = {"type": kind, "x": event.root_x, "y": event.root_y, "state": event.state}
            if kind in ("press", "release"):
                record["button"] = event.detail
            elif kind in ("key", "keyup"):
                record["keysym"] = d.keycode_to_keysym(event.detail, 0)
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
