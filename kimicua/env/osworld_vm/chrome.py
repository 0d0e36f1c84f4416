"""The VM's Google Chrome over CDP, as OSWorld's setup and getters reach it.

OSWorld's VM runs ``google-chrome --remote-debugging-port=1337`` and relays the VM's
port 9222 to it with socat; setup steps connect to http://VM:9222 with Playwright's
``connect_over_cdp`` and start both programs through /setup/launch when nothing
answers there. The tab in front is the first page target of DevTools' /json/list
(sorted by last activation).
"""

from __future__ import annotations

import time
from typing import Any

from kimicua.env import chromium
from kimicua.env.cdp_window import CdpWindow
from kimicua.env.core import EnvError

CHROME_COMMAND = ["google-chrome", "--remote-debugging-port=1337"]
RELAY_COMMAND = ["socat", "tcp-listen:9222,fork", "tcp:localhost:1337"]
START_TIMEOUT_S = 30.0


class VmChrome(CdpWindow):
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

    @property
    def context(self) -> Any:
        if not self.browser.contexts:
            raise EnvError("the VM's Chrome has no window")
        return self.browser.contexts[0]

    @property
    def page(self) -> Any:
        """The Playwright page of the tab in front (the last page when unsure)."""
        pages = self.context.pages
        if not pages:
            return self.context.new_page()
        front = self.front_url()
        same = [p for p in pages if p.url == front]
        return same[0] if len(same) == 1 else pages[-1]

    # close() only disconnects: the VM's Chrome keeps running, as OSWorld leaves it.
