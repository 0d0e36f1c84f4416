"""Navigations the URL policy refuses, however they were started.

A typed Navigate action is checked by the controller's guard before it runs. A URL
typed into the address bar, a link or a script navigates inside Chromium: the
sandboxed Chromium refuses it itself (the URL policy is its enterprise policy: the tab
commits an error page, chrome-error://, whose history entry keeps the refused URL); an
unsandboxed one is caught when the page commits. Either way ``take`` names it and undoes
it (the tab goes back), so the env can report the step as failed.
"""

from __future__ import annotations

from typing import Any

from kimicua.env.guard import UrlPolicy

ERROR_PAGE = "chrome-error://"


class NavigationWatch:
    """Watches every page of a Playwright browser context."""

    def __init__(self, context: Any, policy: UrlPolicy):
        self.context, self.policy = context, policy
        self._committed: list[tuple[Any, str]] = []  # (page, url) of main-frame commits
        for page in context.pages:
            self.watch(page)
        context.on("page", self.watch)

    def watch(self, page: Any) -> None:
        page.on("framenavigated", lambda frame: self._navigated(page, frame))

    def _navigated(self, page: Any, frame: Any) -> None:
        if frame is page.main_frame and (frame.url.startswith(ERROR_PAGE) or self.policy.refusal(frame.url)):
            self._committed.append((page, frame.url))

    def take(self) -> list[str]:
        """The refusals since the last call; each refused tab is taken back first.

        Called between actions (never from an event handler: the sync API cannot be
        re-entered there). Playwright's sync API delivers events only while one of its
        calls runs, so a short wait lets pending ones arrive first."""
        if self.context.pages:
            self.context.pages[0].wait_for_timeout(1)
        committed, self._committed = self._committed, []
        refused = []
        for page, url in committed:
            if page.is_closed():
                continue
            if url.startswith(ERROR_PAGE):
                url = self._attempted(page)
            why = self.policy.refusal(url) if url else None
            if why:
                refused.append(why)
                _undo(page, self.policy)
        return refused

    def _attempted(self, page: Any) -> str | None:
        """The URL an error page stands for: its history entry keeps it."""
        try:
            session = self.context.new_cdp_session(page)
            try:
                history = session.send("Page.getNavigationHistory")
            finally:
                session.detach()
            return history["entries"][history["currentIndex"]]["url"]
        except Exception:
            return None  # the tab went away meanwhile


def _undo(page: Any, policy: UrlPolicy) -> None:
    if page.is_closed():
        return
    try:
        page.go_back(timeout=5000)
    except Exception:
        pass  # no history: fall through to a blank page
    url = page.url
    if url.startswith("chrome-error://") or policy.refusal(url):
        try:
            page.goto("about:blank", timeout=5000)
        except Exception:
            pass  # the tab is closing; nothing left to show
