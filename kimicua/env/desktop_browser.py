"""A real Chromium window on a desktop display, reached over CDP for task setup.

It is what OSWorld does with ``--remote-debugging-port=9222``: the agent sees and
drives the window with the mouse and keyboard; setup and evaluators use Playwright's
``connect_over_cdp`` to open tabs, read the URL and run JavaScript.

Chromium runs where the env's other apps run (its ``Runner``: the sandbox, or the
host); the DevTools port is reached through the runner's ``forward``, since a sandbox
without network has a loopback of its own.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from kimicua.env import chromium
from kimicua.env.cdp_window import CdpWindow
from kimicua.env.core import EnvError
from kimicua.env.geometry import Size
from kimicua.env.guard import UrlPolicy
from kimicua.env.navigation import NavigationWatch
from kimicua.env.processes import Runner

CONNECT_TIMEOUT_S = 20.0


class DesktopBrowser(CdpWindow):
    """Chromium started by ``runner`` with a DevTools port, its profile (``profile`` as the
    runner's apps see it, ``profile_host`` on this machine; kept, so a restarted Chromium
    finds it) and a CDP connection."""

    def __init__(self, runner: Runner, screen: Size, scale: float, profile: str, profile_host: Path,
                 policy: UrlPolicy = UrlPolicy()):
        self.runner = runner
        self._profile_host = profile_host
        profile_host.mkdir(parents=True, exist_ok=True)
        # What an earlier Chromium of this profile left: its port, and its lock (a pid of
        # another sandbox, which this one would take for a live Chromium).
        for stale in ("DevToolsActivePort", "SingletonLock", "SingletonSocket", "SingletonCookie"):
            (profile_host / stale).unlink(missing_ok=True)
        # Port 0: Chromium picks a free port and writes it to DevToolsActivePort in the
        # profile, so no other process can take the port between choosing and binding.
        self.pid = runner.launch(
            [chromium.find_chromium(), *chromium.CHROMIUM_ARGS,
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={profile}", "--window-position=0,0",
             f"--window-size={screen.width},{screen.height}",
             f"--force-device-scale-factor={scale:g}", "about:blank"])
        self._pw = chromium.acquire_playwright()
        self.browser = None
        self._ids: dict[Any, str] = {}  # page -> DevTools target id
        self.port = 0  # the host's port for DevTools (the runner forwards it)
        try:
            self.browser = self._connect()
            self.watch = NavigationWatch(self.context, policy)
        except Exception:
            self.close()
            raise

    def _connect(self) -> Any:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.pid not in self.runner.pids:
                raise EnvError("Chromium exited while starting")
            try:
                inner, path = _read_port(self._profile_host)
                self.port = self.runner.forward(inner)
                # The ws URL directly: /json/version would name the port inside the sandbox.
                return self._pw.chromium.connect_over_cdp(f"ws://127.0.0.1:{self.port}{path}", timeout=5000)
            except Exception as err:  # the port is not written or not listening yet
                last = err
                time.sleep(0.1)
        raise EnvError(f"cannot connect to Chromium's DevTools: {last}")

    @property
    def context(self) -> Any:
        return self.browser.contexts[0]  # the default (persistent) context: the visible window

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"  # the runner's forward of the DevTools port

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

    def _stop(self) -> None:
        """End the Chromium process group (close disconnects first)."""
        if self.pid is not None:
            try:
                self.runner.kill(self.pid, grace=5.0)
            except EnvError:
                pass  # the sandbox is gone, and Chromium with it
            self.pid = None


def _read_port(profile: Path) -> tuple[int, str]:
    """The DevTools port and browser path from the profile's DevToolsActivePort
    (OSError until it is written whole)."""
    with open(os.path.join(profile, "DevToolsActivePort")) as f:
        port, path = (f.read().splitlines() + ["", ""])[:2]
    if not port.strip().isdigit() or not path.startswith("/devtools/browser/"):
        raise OSError("DevToolsActivePort is not complete yet")
    return int(port), path.strip()
