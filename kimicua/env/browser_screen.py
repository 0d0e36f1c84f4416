"""The browser env's own screen: Chromium shown on a private Xvfb exactly the size of its
viewport, read with a screen grab instead of a CDP screenshot.

A CDP screenshot has Chromium encode the frame as PNG and us decode it (50-58 ms at
1920x1080); the same frame grabbed from the X screen costs ~3 ms (benchmarks/step.py).
Each browser window is placed so its viewport covers the screen exactly, its tab strip
and toolbar above the top edge: no window manager runs on this display to pull it back.
The page itself is never emulated (the context has no viewport of Playwright's), so
what Chromium paints is what the page measures; Chromium runs at the env's scale
(``--force-device-scale-factor``), which gives physical pixels.

A grab shows what Chromium presented, so after doing something to a page the env waits
for the page's next animation frame (``page_frame``), the frame that paints what was
done, and then for the X server's damage to go quiet (``settle.ScreenSettle``).
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np

from kimicua.env.capture import ScreenCapture
from kimicua.env.core import EnvError
from kimicua.env.damage import DamageWatch
from kimicua.env.display import Display
from kimicua.env.geometry import Size
from kimicua.env.page_frame import GEOMETRY_JS, PageFrames

# What Playwright gives headless Chromium, so a shown page looks and behaves the same:
# no scrollbars, no sound, a mouse (hover, fine pointer) rather than a touch screen; and
# no animated wheel scrolling, so the frame after a scroll shows where it went.
HEADED_ARGS = ("--ozone-platform=x11", "--hide-scrollbars", "--mute-audio",
               "--blink-settings=primaryHoverType=2,availableHoverTypes=2,"
               "primaryPointerType=4,availablePointerTypes=4")


# Chromium keeps a browser window at least this wide (CSS px): a narrower screen could
# not be the viewport, and such envs take CDP screenshots.
MIN_WIDTH = 500


def available(size: Size) -> bool:
    """Whether this machine can show Chromium on a private X screen of ``size``."""
    return size.width >= MIN_WIDTH and all(shutil.which(tool) for tool in ("Xvfb", "xauth"))


# Chromium's own parts of a window in CSS px: the frame it draws at the sides (none
# without a window manager) and, on top, the frame, tab strip and toolbar (Chromium 156).
# New windows open where the launch switches say (window_args); opens_over_it
# corrects these for another version, and a popup is placed where it opened.
CHROME = (0, 87)


def _chrome(geometry: list) -> tuple[int, int]:
    """(side, top) of the window whose page reported ``geometry``."""
    _, _, outer_w, outer_h, inner_w, inner_h = geometry
    side = (outer_w - inner_w) / 2
    return round(side), round(outer_h - inner_h - side)


class PageScreen:
    """A private X screen of ``size`` x ``scale`` physical px for Chromium's windows."""

    def __init__(self, size: Size, scale: float, frames: PageFrames):
        self.size, self.frames = size, frames
        self.chrome = CHROME
        self.shown: Any = None  # the page in front on the screen
        self.display = Display.start(Size(round(size.width * scale), round(size.height * scale)),
                                     window_manager=False)
        self.capture: ScreenCapture | None = None
        self.watch: DamageWatch | None = None
        try:
            self.capture = ScreenCapture(self.display)
            self.watch = DamageWatch(self.display)
        except BaseException:
            self.close()
            raise

    def window_args(self) -> list[str]:
        """Chromium switches that open every new window with its viewport on the screen."""
        side, top = self.chrome
        return [f"--window-position={-side},{-top}",
                f"--window-size={self.size.width + 2 * side},{self.size.height + top + side}"]

    def opens_over_it(self, browser: Any) -> bool:
        """Whether ``browser`` opens a new context's window over the screen; if not, learn
        Chromium's real insets (``window_args`` gives them to the next launch)."""
        context = browser.new_context(no_viewport=True)
        try:
            geometry = context.new_page().evaluate(GEOMETRY_JS)
        finally:
            context.close()
        if self._fits(geometry):
            return True
        self.chrome = _chrome(geometry)
        return False

    def show(self, context: Any, page: Any) -> bool:
        """Bring ``page`` to the front with its viewport over the screen, and wait for its
        next animation frame (a settle's barrier); whether it was not in front before."""
        moved = new = page is not self.shown
        if new:
            page.bring_to_front()  # its tab, and its window above the others
            self.shown = None
            self.place(context, page)
            self.shown = page
        if not self.frame(context, page):
            moved = self.place(context, page)  # the page moved its window, or drew no frame
        if moved:  # a new or resized window shows Chromium's background until redrawn
            self.frame(context, page)
            self.frame(context, page)
        return new

    def grab(self) -> np.ndarray:
        return self.capture.grab().rgb

    def frame(self, context: Any, page: Any) -> bool:
        """Wait for ``page``'s next animation frame (``page_frame``); whether its viewport
        still covers the screen (False: it moved, or the page drew no frame in time)."""
        return self._fits(self.frames.wait(context, page))

    def place(self, context: Any, page: Any) -> bool:
        """Move and size the window of ``page`` so its viewport covers the screen (EnvError
        if Chromium will not have it so); whether it had to be moved."""
        geometry = self.frames.evaluate(context, page, GEOMETRY_JS)
        if self._fits(geometry):
            return False
        side, top = _chrome(geometry)
        cdp = self.frames.session(context, page)
        window = cdp.send("Browser.getWindowForTarget")["windowId"]
        bounds = {"left": -side, "top": -top, "windowState": "normal",
                  "width": self.size.width + 2 * side, "height": self.size.height + top + side}
        cdp.send("Browser.setWindowBounds", {"windowId": window, "bounds": bounds})
        got = self.frames.evaluate(context, page, GEOMETRY_JS)
        if not self._fits(got):
            raise EnvError(f"cannot fit the browser window to the {self.size} screen: its viewport "
                           f"is at ({got[0]}, {got[1]}) sized {got[4]}x{got[5]} after moving it")
        return True

    def _fits(self, geometry: list | None) -> bool:
        if geometry is None:
            return False
        x, y, _, _, inner_w, inner_h = geometry
        side, top = _chrome(geometry)
        return (inner_w, inner_h) == (self.size.width, self.size.height) and (x + side, y + top) == (0, 0)

    def close(self) -> None:
        for part in (self.watch, self.capture):
            if part is not None:
                part.close()
        self.display.stop()
