"""A real Chromium window on a desktop display, reached over CDP for task setup.

It is what OSWorld does with ``--remote-debugging-port=9222``: the agent sees and
drives the window with the mouse and keyboard; setup and evaluators use Playwright's
``connect_over_cdp`` to open tabs, read the URL and run JavaScript.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import weakref
from typing import Any

from kimicua.env import chromium
from kimicua.env.core import EnvError
from kimicua.env.display import Display
from kimicua.env.geometry import Size

CONNECT_TIMEOUT_S = 20.0


class DesktopBrowser:
    """Chromium on ``display`` with a DevTools port, a temp profile and a CDP connection."""

    def __init__(self, display: Display, screen: Size, scale: float = 1.0):
        self.display = display
        binary = chromium.find_chromium()
        self._profile = tempfile.mkdtemp(prefix="kimicua-chromium-")
        # Port 0: Chromium picks a free port and writes it to DevToolsActivePort in the
        # profile, so no other process can take the port between choosing and binding.
        self.proc = subprocess.Popen(
            [binary, *chromium.CHROMIUM_ARGS,
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={self._profile}", "--window-position=0,0",
             f"--window-size={screen.width},{screen.height}",
             f"--force-device-scale-factor={scale:g}", "about:blank"],
            env=display.child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self._finalizer = weakref.finalize(self, _stop, self.proc, self._profile)
        self._pw = chromium.acquire_playwright()
        self.browser = None
        self._ids: dict[Any, str] = {}  # page -> DevTools target id
        self.port = 0
        try:
            self.browser = self._connect()
        except Exception:
            self.close()
            raise

    def _connect(self) -> Any:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvError(f"Chromium exited (code {self.proc.returncode}) on display {self.display.name}")
            try:
                self.port = self.port or _read_port(self._profile)
                return self._pw.chromium.connect_over_cdp(f"http://127.0.0.1:{self.port}", timeout=5000)
            except Exception as err:  # the port is not written or not listening yet
                last = err
                time.sleep(0.1)
        raise EnvError(f"cannot connect to Chromium's DevTools on port {self.port}: {last}")

    def alive(self) -> bool:
        return self.proc.poll() is None and self.browser is not None and self.browser.is_connected()

    @property
    def context(self) -> Any:
        return self.browser.contexts[0]  # the default (persistent) context: the visible window

    def _front_targets(self) -> list[dict]:
        """Page targets, the tab in front first.

        DevTools' /json/list sorts targets by last activation, so its first page is the
        tab the user sees, however it was switched (mouse, ctrl+tab, a link). Pages'
        visibilityState cannot tell: under CDP every tab reports "visible"."""
        url = f"http://127.0.0.1:{self.port}/json/list"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return [t for t in json.load(reply) if t.get("type") == "page"]

    def front_url(self) -> str | None:
        targets = self._front_targets()
        return targets[0]["url"] if targets else None

    def _target_id(self, page: Any) -> str:
        if page not in self._ids:
            session = self.context.new_cdp_session(page)
            try:
                self._ids[page] = session.send("Target.getTargetInfo")["targetInfo"]["targetId"]
            finally:
                session.detach()
        return self._ids[page]

    @property
    def page(self) -> Any:
        """The Playwright page of the tab in front."""
        pages = self.context.pages
        if not pages:
            return self.context.new_page()
        self._ids = {p: i for p, i in self._ids.items() if p in pages}  # forget closed tabs
        by_id = {self._target_id(p): p for p in pages}
        for target in self._front_targets():
            if target["id"] in by_id:
                return by_id[target["id"]]
        return pages[-1]

    def goto(self, url: str) -> None:
        self.page.goto(url, timeout=chromium.NAV_TIMEOUT_MS, wait_until="load")

    def open_tabs(self, urls: list[str]) -> None:
        chromium.open_tabs(self.context, urls)

    def close(self) -> None:
        """Disconnect, end the Chromium process group, remove the profile (idempotent)."""
        if self.browser is not None:
            try:
                self.browser.close()
            except Exception:
                pass  # already disconnected
            self.browser = None
        self._finalizer()
        if self._pw is not None:
            chromium.release_playwright()
            self._pw = None


def _read_port(profile: str) -> int:
    """The DevTools port from the profile's DevToolsActivePort (OSError until written)."""
    with open(os.path.join(profile, "DevToolsActivePort")) as f:
        first = f.readline().strip()
    if not first.isdigit():
        raise OSError("DevToolsActivePort is not complete yet")
    return int(first)


def _stop(proc: subprocess.Popen, profile: str) -> None:
    """End Chromium's process group and remove its profile; a plain function so the
    finalizer (at close, collection or exit) holds no reference to the browser."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    shutil.rmtree(profile, ignore_errors=True)
