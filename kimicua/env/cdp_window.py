"""What a Chromium window reached over CDP offers task setup and evaluators, wherever it
runs (a desktop display, the OSWorld VM): the tab in front by DevTools' /json/list,
navigation, opening tabs, and disconnecting.
"""

from __future__ import annotations

import json
import urllib.request
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlsplit

from kimicua.env import chromium


class CdpWindow(ABC):
    """A Playwright CDP connection (``browser``) to the Chromium whose DevTools HTTP
    server answers at ``endpoint``; subclasses connect, and say which page is in front."""

    endpoint: str  # http://host:port of DevTools
    browser: Any
    _pw: Any  # the process's Playwright, acquired by the subclass

    @property
    @abstractmethod
    def context(self) -> Any:
        """The Playwright context of the visible window."""

    @property
    @abstractmethod
    def page(self) -> Any:
        """The Playwright page of the tab in front."""

    def alive(self) -> bool:
        return self.browser is not None and self.browser.is_connected()

    def _front_targets(self) -> list[dict]:
        """Page targets, the tab in front first.

        DevTools' /json/list sorts targets by last activation, so its first page is the
        tab the user sees, however it was switched (mouse, ctrl+tab, a link). Pages'
        visibilityState cannot tell: under CDP every tab reports "visible". The
        browser's own WebUI (the omnibox popup, chrome://*.top-chrome) lists as pages
        too, and is skipped: it is part of the window, not a tab."""
        with urllib.request.urlopen(f"{self.endpoint}/json/list", timeout=5) as reply:
            return [t for t in json.load(reply) if t.get("type") == "page"
                    and not urlsplit(t.get("url", "")).netloc.endswith(".top-chrome")]

    def front_url(self) -> str | None:
        targets = self._front_targets()
        return targets[0]["url"] if targets else None

    def goto(self, url: str) -> None:
        self.page.goto(url, timeout=chromium.NAV_TIMEOUT_MS, wait_until="load")

    def open_tabs(self, urls: list[str]) -> None:
        chromium.open_tabs(self.context, urls)

    def close(self) -> None:
        """Disconnect, then ``_stop`` what else the window holds (idempotent)."""
        if self.browser is not None:
            try:
                self.browser.close()
            except Exception:
                pass  # already disconnected
            self.browser = None
        self._stop()
        if self._pw is not None:
            chromium.release_playwright()
            self._pw = None

    def _stop(self) -> None:
        """What closing does between disconnecting and releasing Playwright: nothing here."""
