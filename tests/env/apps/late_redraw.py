"""A window that redraws late: on a click or key press it works for DELAY seconds (as a
slow app would, its event loop busy), then fills itself with the next colour.
With DELAY "animate" it changes colour every 10 ms forever instead (never quiet).

    python late_redraw.py TITLE DELAY
"""

from __future__ import annotations

import sys
import time
import tkinter

COLOURS = ("#cc3333", "#3333cc")


def main() -> None:
    title, delay = sys.argv[1], sys.argv[2]
    root = tkinter.Tk()
    root.title(title)
    root.geometry("400x300")
    root.configure(background=COLOURS[0])
    shown = [0]

    def next_colour(_event=None) -> None:
        shown[0] ^= 1
        root.configure(background=COLOURS[shown[0]])

    def slow(_event) -> None:
        end = time.monotonic() + float(delay)
        while time.monotonic() < end:
            pass  # busy: what a slow app does with its input
        next_colour()

    def animate() -> None:
        next_colour()
        root.after(10, animate)

    if delay == "animate":
        animate()
    else:
        root.bind("<Button-1>", slow)
        root.bind("<Key>", slow)
    root.mainloop()


if __name__ == "__main__":
    main()
