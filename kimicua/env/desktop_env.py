"""DesktopEnv: an X display (a private Xvfb by default) driven like a person would.

Everything an episode starts on the desktop (setup's programs, the terminal, the
editor, the desktop's Chromium) runs in a bubblewrap sandbox that ``reset`` makes
anew for each episode (``sandbox.Sandbox``); with ``sandbox=False`` they run on the
host with the episode's home as HOME. After an action a step waits until the screen
shows it (``settle``: X damage, the desktop Chromium's next frame, apps still running).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from kimicua.env import windows as wins
from kimicua.env.busy import Busy
from kimicua.env.capture import ScreenCapture
from kimicua.env.chromium import element_box
from kimicua.env.chromium import evaluate as chromium_evaluate
from kimicua.env.core import CommandResult, ControlledEnv, EnvError, Window
from kimicua.env.damage import DamageWatch
from kimicua.env.desktop import DesktopController
from kimicua.env.desktop_browser import DesktopBrowser
from kimicua.env.display import Display
from kimicua.env.focus import Focus
from kimicua.env.geometry import Size
from kimicua.env.guard import Guard
from kimicua.env.observation import Observation
from kimicua.env.page_frame import PageFrames
from kimicua.env.processes import Processes, Runner
from kimicua.env.sandbox import Layout, Sandbox, check_available
from kimicua.env.sandbox.policy_files import chromium_etc
from kimicua.env.settle import FRAME_CLOCK_FIRST_S, FixedSettle, ScreenSettle, Settler
from kimicua.env.workspace import Workspace

SETTLE_S = 0.05  # the fixed pause used where the display cannot report damage
LOST_PATIENCE_S = 1.0  # how long a lost X connection may take to show as an exited Xvfb
CHROMIUM_CLASSES = ("Chromium", "Google-chrome")  # WM_CLASS of the desktop's browser windows


CHROME_USER_DATA = ".config/google-chrome"  # under the home, as Google Chrome on OSWorld's VM

class DesktopEnv(ControlledEnv):
    """A desktop on ``display`` (``":0"`` = the user's own, used only when asked) or on a
    private Xvfb of ``size`` x ``scale`` physical pixels.

    With ``scale`` != 1 the Xvfb screen has physical size and actions stay logical;
    Chromium launched here renders at that device scale factor. After an action the
    step waits until the screen shows it (``settle``); ``settle_s`` makes it a fixed
    pause instead."""

    kind = "desktop"

    def __init__(self, size: Size = Size(1920, 1080), scale: float = 1.0,
                 display: str | None = None, *, settle_s: float | None = None, sandbox: bool = True,
                 network: bool = False, guard: Guard | None = None):
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        if sandbox:
            check_available()  # one line naming --no-sandbox, before anything starts
        self.scale = scale
        self.network = network
        self._episode_network = network
        if display is None:
            physical = Size(round(size.width * scale), round(size.height * scale))
            self.display = Display.start(physical)
        else:
            self.display = Display.attach(display)
            size = Size(round(self.display.size.width / scale), round(self.display.size.height / scale))
        self.screen = size
        self._closed = False
        self._capture: ScreenCapture | None = None
        self._watch: DamageWatch | None = None
        self._focus: Focus | None = None
        try:
            self._capture = ScreenCapture(self.display)
            self._controller = DesktopController(self.display, size, scale)
            self._settler = self._make_settler(settle_s)
        except Exception:
            for part in (self._focus, self._watch, self._capture):
                if part is not None:
                    part.close()
            self.display.stop()
            raise
        self._controller.guard = guard or Guard()
        self.workspace = Workspace(sandboxed=sandbox)
        self._allow_own_files(self._controller.guard)
        self._sandbox: Sandbox | None = None
        self._host = Processes({**self.display.child_env(), "HOME": str(self.workspace.home)},
                               cwd=self.workspace.home)
        self._browser: DesktopBrowser | None = None
        self._frames = PageFrames()
        self.sandbox_start_s: float | None = None  # the last sandbox's start cost

    def _make_settler(self, settle_s: float | None) -> Settler:
        """Damage-driven settling, or a fixed pause when asked for one or the display
        cannot report damage (a user's display without the extension)."""
        if settle_s is not None:
            return FixedSettle(settle_s)
        try:
            self._watch = DamageWatch(self.display)
        except EnvError:
            return FixedSettle(SETTLE_S)
        self._focus = Focus(self.display)
        return ScreenSettle(self._watch, barrier=self._before_watching, busy=Busy(self._app_pids))

    def _app_pids(self) -> list[int]:
        """Where the screen's changes come from: the X server and the episode's apps."""
        pids = [] if self.display.pid is None else [self.display.pid]
        if self._sandbox is not None:
            pids.append(self._sandbox.pid)
        return pids + self._host.pids

    def _before_watching(self) -> float | None:
        """The settle's barrier: the desktop Chromium's next animation frame, if one is
        open; then how long to wait for a first drawing, longer when the focused app
        paints on a frame clock (focus.py) and is not that Chromium."""
        framed = self._browser is not None and self._browser.alive()
        if framed:
            try:
                self._frames.wait(self._browser.context, self._browser.page)
            except Exception:
                framed = False  # closing, or between documents: the damage watch still sees it
        focused = self._focus.window()
        if focused is None or not focused[0] or (framed and focused[1] in CHROMIUM_CLASSES):
            return None
        return FRAME_CLOCK_FIRST_S

    @property
    def _runner(self) -> Runner:
        """Where apps run: this episode's sandbox (started on first use), or the host."""
        if not self.sandboxed:
            return self._host
        if self._sandbox is None or not self._sandbox.alive():
            self._start_sandbox()
        return self._sandbox

    def _start_sandbox(self) -> None:
        self._stop_sandbox()
        ws = self.workspace
        layout = Layout(home=ws.home, tmp=ws.tmp, runtime=ws.runtime, display=self.display.name,
                        network=self._episode_network,
                        chromium_etc=chromium_etc(ws.runtime, self.guard.urls))
        self._sandbox = Sandbox(layout, xauthority=self.display.env.get("XAUTHORITY"))
        self.sandbox_start_s = self._sandbox.start_s

    def _stop_sandbox(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    # --- Gymnasium -----------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Observation, dict]:
        """End the episode's apps (and their windows) and the CDP browser, empty the home
        and /tmp, and start a fresh sandbox with the env's network setting."""
        self._check()
        self._close_browser()
        self._stop_sandbox()  # kills everything inside
        self._host.kill_all()
        self.workspace.clear()
        self._episode_network = self.network
        if self.sandboxed:
            self._start_sandbox()
        # Release anything a previous episode left pressed, e.g. a MouseDown without MouseUp.
        self._settler.arm()
        self._controller.release_all()
        self._settler.wait()
        return self.observe(), {"display": self.display.name, "sandbox_start_s": self.sandbox_start_s}

    def observe(self) -> Observation:
        self._check()
        try:
            frame = self._capture.grab()
        except EnvError:
            self._check()
            raise
        return Observation(screenshot=frame.rgb, screen=self.screen, scale=self.scale,
                           timestamp=frame.timestamp, url=self._url_or_none())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_browser()
        self._stop_sandbox()
        self._host.kill_all(grace=1.0)
        self._controller.close()
        self._capture.close()
        for part in (self._focus, self._watch):
            if part is not None:
                part.close()
        self.display.stop()
        self.workspace.close()

    def _check(self) -> None:
        if self._closed:
            raise EnvError("the desktop env is closed")
        self.display.check()

    def _check_lost(self) -> None:
        # The X server closes its connections before its process is gone.
        deadline = time.monotonic() + LOST_PATIENCE_S
        while self.display.pid is not None and self.display.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        self._check()

    # --- world access --------------------------------------------------------------

    def run(self, command: list[str] | str, *, shell: bool = False, timeout: float = 30.0) -> CommandResult:
        self._check()
        return self._runner.run(command, shell=shell, timeout=timeout)

    def launch(self, command: list[str] | str, *, shell: bool = False) -> int:
        self._check()
        return self._runner.launch(command, shell=shell)

    def expose_port(self, port: int) -> None:
        self._check()
        self._runner.expose(port)

    def enable_network(self) -> None:
        """Restart this episode's sandbox with the network (what setup started so far
        ends: call it before the task's setup steps)."""
        if self._episode_network:
            return
        self._episode_network = True
        if self.sandboxed:
            self._close_browser()
            self._start_sandbox()

    def windows(self) -> list[Window]:
        self._check()
        return wins.list_windows(self.display.child_env(), self.scale)

    def active_window(self) -> Window | None:
        self._check()
        return wins.active_window(self.display.child_env(), self.scale)

    def activate_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> bool:
        for window in reversed(self.windows()):  # topmost first
            if wins.matches(window, name, strict=strict, by_class=by_class):
                return wins.activate(self.display.child_env(), window)
        return False

    def wait_for_window(self, name: str, timeout: float = 10.0) -> Window:
        return wins.wait_for(self.windows, name, timeout, f"window named like {name!r} on display {self.display.name}")

    # --- browser (a CDP-attached Chromium on this display) -------------------------

    def browser(self) -> DesktopBrowser:
        """The desktop's Chromium, started (and attached to Navigate) on first use."""
        self._check()
        if self._browser is not None and not self._browser.alive():
            self._close_browser()
        if self._browser is None:
            # Chrome's own place in the episode's home, where OSWorld's tasks prepare its
            # Preferences and read its Bookmarks and History; it lasts the episode, so
            # a browser restarted by the task (pkill chrome, then launch) keeps it.
            profile = f"{self.home}/{CHROME_USER_DATA}"
            self._browser = DesktopBrowser(self._runner, self.screen, self.scale, profile,
                                           self.host_path(profile, write=True), self.guard.urls)
            self._controller.navigator = self._browser
        return self._browser

    def _close_browser(self) -> None:
        self._frames.clear()
        if self._browser is not None:
            self._controller.navigator = None
            self._browser.close()
            self._browser = None

    def _refused_navigations(self) -> list[str]:
        if self._browser is None or not self._browser.alive():
            return []
        return self._browser.watch.take()

    def _url_or_none(self) -> str | None:
        if self._browser is None or not self._browser.alive():
            return None
        try:
            return self._browser.front_url()
        except Exception:
            return None  # the browser closing during the read; the next observation says so

    def open_tabs(self, urls: list[str]) -> None:
        self.browser().open_tabs(urls)

    def page_url(self) -> str | None:
        return None if self._browser is None else self._url_or_none()

    def _in_page(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(front page)``; EnvError if the desktop's Chromium is gone or going."""
        self._check()
        if self._browser is None:
            raise EnvError("no browser is open in the desktop env; call open_tabs first")
        gone = EnvError("the desktop's Chromium is no longer running (closed or crashed)")
        if not self._browser.alive():
            raise gone
        try:
            return fn(self._browser.page)
        except Exception as err:
            # A closing browser answers with "Target ... has been closed" (or refuses the
            # DevTools connection) before its process is gone.
            closed = type(err).__name__ == "TargetClosedError" or isinstance(err, OSError)
            if closed or not self._browser.alive():
                raise gone from None
            raise

    def evaluate(self, expression: str) -> Any:
        return self._in_page(lambda page: chromium_evaluate(page, expression))

    def element_box(self, selector: str) -> tuple[float, float, float, float] | None:
        return self._in_page(lambda page: element_box(page, selector, on_screen=True))
