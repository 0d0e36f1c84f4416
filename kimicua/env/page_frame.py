"""A page's next animation frame: when a grab of the screen can show what was done to it.

Chromium paints a change in the next frame it draws; requestAnimationFrame callbacks
run right before that frame paints. So once a requestAnimationFrame round trip
answers, the frame carrying everything done before the call is on its way to the
screen: after typing, it reached X 0.12 ms after the answer (median of 100; 90% within
0.16 ms; the one later came while a compositor thread still ran, which the settle
waits for). A round trip costs what is left of the frame interval: ~3 ms on an idle
page, 11-16 ms right after an input (which began a frame of its own) at 60 Hz.

The script runs in a world of our own (Page.createIsolatedWorld): the page's scripts
cannot replace requestAnimationFrame or setTimeout there, so no page keeps it from
answering. A hidden page draws no frames and answers at once; a page that draws no
frame in FRAME_WAIT_MS answers then.
"""

from __future__ import annotations

from typing import Any

WORLD = "kimicua-frame"
FRAME_WAIT_MS = 200

# Also answers the viewport's place and size in CSS px (browser_screen checks them).
GEOMETRY_JS = "[screenX, screenY, outerWidth, outerHeight, innerWidth, innerHeight]"
# Installed once per document in our world: the Navigation API's navigate event fires as a
# link, a form or a script starts loading another document, before it commits; the flag
# tells the settle that the next frame may still be the old document's.
_WATCH_NAVIGATION = """if (!globalThis.__kimicuaWatching) {
  globalThis.__kimicuaWatching = true;
  try { navigation.addEventListener("navigate", e => { if (!e.hashChange) globalThis.__kimicuaNav = true; }); }
  catch (e) {}
}"""
NAVIGATING_JS = "(() => { const started = globalThis.__kimicuaNav === true; globalThis.__kimicuaNav = false; return started; })()"
_FRAME_JS = _WATCH_NAVIGATION + f"""
new Promise(done => {{
  if (document.visibilityState !== "visible") done(null);
  requestAnimationFrame(() => done({GEOMETRY_JS}));
  setTimeout(() => done(null), {FRAME_WAIT_MS});
}})"""


class PageFrames:
    """CDP sessions and our worlds for the pages of Playwright browser contexts."""

    def __init__(self):
        self._sessions: dict[Any, Any] = {}  # page -> CDP session
        self._worlds: dict[Any, int] = {}  # page -> our world's execution context id

    def session(self, context: Any, page: Any) -> Any:
        """A CDP session attached to ``page`` (made once, kept until ``forget``)."""
        if page not in self._sessions:
            self._sessions[page] = context.new_cdp_session(page)
        return self._sessions[page]

    def wait(self, context: Any, page: Any) -> list | None:
        """Wait for ``page``'s next animation frame; the viewport geometry then (None for
        a page that drew no frame)."""
        return self.evaluate(context, page, _FRAME_JS)

    def navigating(self, context: Any, page: Any) -> bool:
        """Whether the page started loading another document since the last call (False
        once the new one has replaced it: our world went with the old document)."""
        return bool(self.evaluate(context, page, NAVIGATING_JS))

    def evaluate(self, context: Any, page: Any, expression: str) -> Any:
        """``expression``'s JSON value in our world of the page's main frame."""
        cdp = self.session(context, page)
        for attempt in range(2):
            try:
                if page not in self._worlds:
                    frame = cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
                    world = cdp.send("Page.createIsolatedWorld", {"frameId": frame, "worldName": WORLD})
                    self._worlds[page] = world["executionContextId"]
                reply = cdp.send("Runtime.evaluate", {
                    "expression": expression, "awaitPromise": True, "returnByValue": True,
                    "contextId": self._worlds[page]})
            except Exception:
                # A navigation took the world away with its document: make one in the new
                # document, once; a second failure is the caller's (a closed page).
                self._worlds.pop(page, None)
                if attempt:
                    raise
                continue
            if "exceptionDetails" in reply:  # our own script: cannot happen but on a broken page
                return None
            return reply["result"].get("value")
        return None

    def forget(self, page: Any) -> None:
        self._worlds.pop(page, None)
        cdp = self._sessions.pop(page, None)
        if cdp is not None:
            try:
                cdp.detach()
            except Exception:
                pass  # the page is gone, and its session with it

    def clear(self) -> None:
        """Forget every page (their context closed)."""
        self._worlds.clear()
        self._sessions.clear()
