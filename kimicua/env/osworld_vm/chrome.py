"""The VM's Google Chrome over CDP, as OSWorld's setup and getters reach it.

OSWorld's VM runs ``google-chrome --remote-debugging-port=1337`` and relays the VM's
port 9222 to it with socat; setup steps connect to http://VM:9222 with Playwright's
``connect_over_cdp`` and start both programs through /setup/launch when nothing
answers there. The tab in front is the first page target of DevTools' /json/list
(sorted by last activation).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from kimicua.env import chromium
from kimicua.env.core import EnvError

CHROME_COMMAND = ["google-chrome", "--remote-debugging-port=1337"]
RELAY_COMMAND = ["socat", "tcp-listen:9222,fork", "tcp:localhost:1337"]
START_TIMEOUT_S = 30.0


class VmChrome:
    """A CDP connection to the Chrome that answers at ``host:port``; ``launcher`` starts
    Chrome and its relay on the VM (a VmClient's ``launch``) when none answers."""

    def __init__(self, host: str, port: int, launcher):
        self.endpoint = f"http://{host}:{port}"
        self._launch = launcher
        self._pw = chromium.acquire_playwright()
        self.browser: Any = None
        try:
            self.browser = self._connect()
        except BaseException:
            self.close()
            raise

    def _try(self) -> Any:
        return self._pw.chromium.connect_over_cdp(self.endpoint, timeout=5000)

    def _connect(self) -> Any:
        try:
            return self._try()
        except Exception:
            pass  # no Chrome yet: start it, as OSWorld's chrome_open_tabs does
        self._launch(CHROME_COMMAND)
        self._launch(RELAY_COMMAND)
        deadline, last = time.monotonic() + START_TIMEOUT_S, None
        while time.monotonic() < deadline:
            try:
                return self._try()
            except Exception as err:
                last = err
                time.sleep(0.5)
        why = str(last).strip().splitlines()[0] if last and str(last).strip() else "no answer"
        raise EnvError(f"the VM's Chrome does not answer on {self.endpoint} ({why})")

    def alive(self) -> bool:
        return self.browser is not None and self.browser.is_connected()

    @property
    def context(self) -> Any:
        if not self.browser.contexts:
            raise EnvError("the VM's Chrome has no window")
        return self.browser.contexts[0]

    def _front_targets(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.endpoint}/json/list", timeout=5) as reply:
            return [t for t in json.load(reply) if t.get("type") == "page"
                    and not urlsplit(t.get("url", "")).netloc.endswith(".top-chrome")]

    def front_url(self) -> str | None:
        targets = self._front_targets()
        return targets[0]["url"] if targets else None

    @property
    def page(self) -> Any:
        """The Playwright page of the tab in front (the last page when unsure)."""
        pages = self.context.pages
        if not pages:
            return self.context.new_page()
        front = self.front_url()
        same = [p for p in pages if p.url == front]
        return same[0] if len(same) == 1 else pages[-1]

    def goto(self, url: str) -> None:
        self.page.goto(url, timeout=chromium.NAV_TIMEOUT_MS, wait_until="load")

    def open_tabs(self, urls: list[str]) -> None:
        chromium.open_tabs(self.context, urls)

    def close(self) -> None:
        """Disconnect (the VM's Chrome keeps running, as OSWorld leaves it)."""
        if self.browser is not None:
            try:
                self.browser.close()
            except Exception:
                pass  # already disconnected
            self.browser = None
        if self._pw is not None:
            chromium.release_playwright()
            self._pw = None
