"""BrowserEnv: Debian Chromium through Playwright; the screen is the page's viewport.

Each reset opens a fresh browser context (a new, empty profile) with one blank page.
Tabs stand in for windows, so OSWorld's window steps have a meaning here too.

The frames come from a private X screen exactly the size of the viewport, where
Chromium shows the page (``browser_screen``): a grab costs ~3 ms where a CDP
screenshot costs 50+. Without Xvfb, or with ``capture="cdp"``, Chromium runs
headless and the frames are CDP screenshots.

Chromium runs in a bubblewrap sandbox by default (Playwright launches a wrapper
script as its executable, see ``sandbox.wrapper``): no network but the task's page
server, the URL policy as Chromium's own policy, the env's workspace as its home.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from kimicua.env import browser_screen, chromium
from kimicua.env.browser import BrowserController
from kimicua.env.browser_screen import PageScreen
from kimicua.env.busy import Busy
from kimicua.env.core import CommandResult, ControlledEnv, EnvError, Window
from kimicua.env.display import Display
from kimicua.env.geometry import Size
from kimicua.env.guard import Guard
from kimicua.env.navigation import NavigationWatch
from kimicua.env.observation import Observation
from kimicua.env.page_frame import PageFrames
from kimicua.env.processes import Processes, Runner
from kimicua.env.sandbox import Layout, check_available
from kimicua.env.sandbox.client import SandboxControl
from kimicua.env.sandbox.policy_files import chromium_etc
from kimicua.env.sandbox.wrapper import write_wrapper
from kimicua.env.settle import SHOWN_FIRST_S, FixedSettle, ScreenSettle
from kimicua.env.windows import matches, wait_for
from kimicua.env.workspace import Workspace

WM_CLASS = "chromium.Chromium"
SCREENSHOT_PATIENCE_S = 5.0  # a page between renderers cannot be captured for a moment
LOAD_WAIT_MS = 5_000  # a document a step started loading, before its frame is grabbed
CAPTURES = ("auto", "screen", "cdp")


class BrowserEnv(ControlledEnv):
    """Chromium with a ``size`` viewport at device scale ``scale``.

    ``capture``: "screen" shows Chromium on a private X screen and grabs it, "cdp"
    takes CDP screenshots of headless Chromium (or of one shown on ``display`` with
    ``headless=False``, or on a private Xvfb with a window manager); "auto" is "screen"
    where Xvfb is installed and no ``display`` is given. On the screen, a step waits
    for the page's next frame and the screen's damage to go quiet (``settle``);
    ``settle_s`` makes it a fixed pause instead."""

    kind = "browser"

    def __init__(self, size: Size = Size(1920, 1080), scale: float = 1.0,
                 display: str | None = None, *, headless: bool = True,
                 settle_s: float | None = None, capture: str = "auto", sandbox: bool = True,
                 network: bool = False, guard: Guard | None = None):
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        if capture not in CAPTURES:
            raise ValueError(f"capture must be one of {', '.join(CAPTURES)}, got {capture!r}")
        if capture == "screen" and (display is not None or size.width < browser_screen.MIN_WIDTH):
            raise ValueError(f"capture='screen' needs a screen of the env's own at least "
                             f"{browser_screen.MIN_WIDTH} px wide, not {display or size}")
        if sandbox:
            check_available()  # one line naming --no-sandbox, before anything starts
        self.screen, self.scale = size, scale
        self.headless, self.network = headless, network
        self.workspace = Workspace(sandboxed=sandbox)
        self._guard = guard or Guard()
        self._allow_own_files(self._guard)
        self._control: SandboxControl | None = None
        self._closed = False
        self._frames = PageFrames()
        self._screen: PageScreen | None = None
        self.display: Display | None = None
        if capture == "screen" or (capture == "auto" and display is None and browser_screen.available(size)):
            self._screen = PageScreen(size, scale, self._frames)
            self.display = self._screen.display
            self._settler = ScreenSettle(self._screen.watch, barrier=self._next_frame,
                                         busy=Busy(self._drawing_pids))
        elif not headless:
            self.display = Display.attach(display) if display else Display.start(size)
        if settle_s is not None or self._screen is None:
            # A CDP screenshot waits for a fresh frame itself: no pause unless asked.
            self._settler = FixedSettle(settle_s or 0.0, self._next_frame if self._screen else None)
        host_env = self.display.child_env() if self.display else dict(os.environ)
        self._host = Processes({**host_env, "HOME": str(self.workspace.home)}, cwd=self.workspace.home)
        # An unknown switch Chromium ignores, so browser_pid can find this very process.
        self._marker = f"--kimicua-instance={uuid.uuid4().hex}"
        self._pw = chromium.acquire_playwright()
        self._crashed: str | None = None
        self._context: Any = None
        self._page: Any = None
        self._dirty = True  # something may have changed the page since the last settle
        self._watch: NavigationWatch | None = None
        self._browser: Any = None
        self._start_browser(network)
        try:
            if self._screen is not None and not self._screen.opens_over_it(self._browser):
                self._restart_browser(self._episode_network)  # with the insets it learnt
        except Exception:
            self.close()
            raise
        self._controller = BrowserController(self._active_page, size)
        self._controller.guard = self._guard

    def _start_browser(self, network: bool) -> None:
        try:
            self._browser = self._launch(network)
        except Exception as err:
            self._release()
            raise EnvError(f"cannot launch Chromium: {str(err).splitlines()[0]}") from None
        self._crashed = None
        self._browser.on("disconnected", lambda _: self._mark_crashed("the browser disconnected"))
        self._episode_network = network
        self._browser_root = self.browser_pid if self._screen is not None else None

    def _drawing_pids(self) -> list[int]:
        """What draws on the screen: Chromium (with its children) and the X server."""
        return [pid for pid in (self._browser_root, self.display.pid) if pid is not None]

    def _launch(self, network: bool) -> Any:
        """Start Chromium: the one place that says how (binary, switches, environment).

        Headless, it gets only what it needs of our environment (no DISPLAY or other
        desktop session variables); shown, it gets the display's. Sandboxed, Playwright
        starts it through the wrapper, and its downloads land in a folder bound in at
        the same path."""
        args = [*chromium.launch_args(self.scale), self._marker]
        if self._screen is not None:  # only what headless would get, and the env's own screen
            env = {**chromium.headless_env(os.environ), **self.display.env}
            args += [*browser_screen.HEADED_ARGS, *self._screen.window_args()]
        else:
            env = self.display.child_env() if self.display else chromium.headless_env(os.environ)
        binary, downloads = chromium.find_chromium(), self.workspace.root / "downloads"
        downloads.mkdir(exist_ok=True)
        if self.sandboxed:
            ws = self.workspace
            layout = Layout(home=ws.home, tmp=ws.tmp, runtime=ws.runtime, network=network,
                            display=self.display.name if self.display else None,
                            chromium_etc=chromium_etc(ws.runtime, self._guard.urls), same_path=(downloads,))
            xauthority = self.display.env.get("XAUTHORITY") if self.display else None
            binary = str(write_wrapper(layout, [binary], xauthority=xauthority, name="chromium"))
            self._control = SandboxControl(layout)
        return self._pw.chromium.launch(
            executable_path=binary, headless=self.display is None, env=env,
            downloads_path=downloads, args=args)

    @property
    def _runner(self) -> Runner:
        """Where setup's programs run: the browser's sandbox, or the host."""
        return self._control if self._control is not None else self._host

    # --- pages ---------------------------------------------------------------------

    def _mark_crashed(self, why: str) -> None:
        if not self._closed:
            self._crashed = why

    @property
    def page(self) -> Any:
        """The active tab: the newest one opened, or the last still open. The next
        observe waits for what is done to it to show."""
        self._dirty = True
        return self._active_page()

    def _active_page(self) -> Any:
        if self._context is None:
            raise EnvError("the browser env has no page; call reset() first")
        if self._page is None or self._page.is_closed():
            pages = self._context.pages
            self._page = pages[-1] if pages else self._context.new_page()
        return self._page

    def _on_page(self, page: Any) -> None:
        # A popup or target=_blank tab becomes the active page, as it would on screen.
        page.on("crash", lambda _: self._mark_crashed("the page crashed"))
        self._page = page

    @property
    def browser_pid(self) -> int | None:
        """The Chromium browser process, or None (``chromium.browser_process``)."""
        return chromium.browser_process(self._marker)

    # --- Gymnasium -----------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Observation, dict]:
        """A new context (fresh profile: no cookies, storage, history) with one blank page,
        an empty home, and the env's own network setting."""
        self._check()
        self._runner.kill_all()
        self._guard.keys.release_all()
        self.workspace.clear(tmp=False)  # the running Chromium keeps its files in /tmp
        if self._episode_network != self.network:
            self._restart_browser(self.network)
        self._new_context()
        return self.observe(), {"browser": self._browser.version}

    def _restart_browser(self, network: bool) -> None:
        self._close_context()
        try:
            self._browser.close()
        except Exception:
            pass  # already gone
        if self._control is not None:
            self._control.close()
        self._start_browser(network)

    def _close_context(self) -> None:
        if self._context is not None:
            try:
                self._context.close()
            except Exception:
                self._check()
                raise
        self._context = None
        self._frames.clear()
        self._page = None
        if self._screen is not None:
            self._screen.shown = None

    def _new_context(self) -> None:
        self._close_context()
        if self._screen is not None:
            # The window's viewport is the screen (PageScreen.place): nothing to emulate.
            self._context = self._browser.new_context(no_viewport=True)
        else:
            self._context = self._browser.new_context(
                viewport={"width": self.screen.width, "height": self.screen.height},
                device_scale_factor=self.scale)
        self._context.on("page", self._on_page)
        self._context.new_page()
        self._watch = NavigationWatch(self._context, self._guard.urls)
        self._dirty = True

    def _refused_navigations(self) -> list[str]:
        return self._watch.take() if self._watch is not None else []

    def observe(self) -> Observation:
        """What the page shows now; on the screen, after waiting for anything done to
        it outside a step (setup, evaluate, a tab switch) to show."""
        self._check()
        if self._screen is not None and (self._dirty or self._active_page() is not self._screen.shown):
            self._settler.arm()
            self._settler.wait()
        page = self._active_page()
        if self._screen is not None:
            return Observation(screenshot=self._screen.grab(), screen=self.screen, scale=self.scale,
                               timestamp=time.time(), url=page.url)
        deadline = time.monotonic() + SCREENSHOT_PATIENCE_S
        while True:
            try:
                rgb = self._capture(page)
                break
            except Exception as err:
                self._check()
                # Right after a navigation that swaps the renderer (an error page, another
                # site) the page may have no frame to capture for a moment: try again.
                self._frames.forget(page)
                if time.monotonic() > deadline:
                    raise EnvError(f"browser screenshot failed: {str(err).splitlines()[0]}") from None
                time.sleep(0.05)
        return Observation(screenshot=rgb, screen=self.screen, scale=self.scale,
                           timestamp=time.time(), url=page.url)

    def _capture(self, page: Any):
        """CDP capture (fast path); Playwright's screenshot if the session is detached."""
        try:
            return chromium.capture_page(self._frames.session(self._context, page),
                                         self.screen.width, self.screen.height, self.scale)
        except Exception:
            self._frames.forget(page)
            return chromium.decode_png(page.screenshot(timeout=SCREENSHOT_PATIENCE_S * 1000))

    def _next_frame(self) -> float | None:
        """The settle's barrier on the screen (``PageScreen.show``); a page just shown is
        waited for longer."""
        self._dirty = False
        try:
            page = self._active_page()
            shown = self._screen.show(self._context, page)
            if self._frames.navigating(self._context, page):  # a link or a form: wait for the new document
                try:
                    page.wait_for_load_state("load", timeout=LOAD_WAIT_MS)
                except Exception:
                    pass  # slow or stopped: the damage watch still sees what it draws
                shown = self._screen.show(self._context, page) or shown
            return SHOWN_FIRST_S if shown else None
        except EnvError:
            raise
        except Exception:
            # Closed meanwhile, or between documents twice over: the damage watch still
            # sees what it draws, and a dead browser is noticed here.
            self._check()
            return None

    def _check(self) -> None:
        if self._closed:
            raise EnvError("the browser env is closed")
        if self._crashed is None and not self._browser.is_connected():
            self._crashed = "the browser disconnected"
        if self._crashed is not None:
            raise EnvError(f"Chromium died: {self._crashed}")
        if self.display is not None:
            self.display.check()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._runner.kill_all(grace=1.0)
        try:
            self._browser.close()
        except Exception:
            pass  # already dead: nothing to close
        self._release()

    def _release(self) -> None:
        if self._control is not None:
            self._control.close()
        self._host.kill_all(grace=1.0)
        self.workspace.close()
        if self._pw is not None:
            chromium.release_playwright()
            self._pw = None
        if self._screen is not None:
            self._screen.close()
        elif self.display is not None:
            self.display.stop()

    # --- world access --------------------------------------------------------------

    def run(self, command: list[str] | str, *, shell: bool = False, timeout: float = 30.0) -> CommandResult:
        return self._runner.run(command, shell=shell, timeout=timeout)

    def launch(self, command: list[str] | str, *, shell: bool = False) -> int:
        return self._runner.launch(command, shell=shell)

    def windows(self) -> list[Window]:
        """One window per tab (id = 1-based tab index), each covering the viewport."""
        self._check()
        w, h = self.screen.width, self.screen.height
        return [Window(id=i, name=p.title(), wm_class=WM_CLASS, x=0, y=0, width=w, height=h)
                for i, p in enumerate(self._context.pages, start=1)]

    def active_window(self) -> Window | None:
        index = self._context.pages.index(self._active_page()) + 1
        return next((w for w in self.windows() if w.id == index), None)

    def activate_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> bool:
        for window in reversed(self.windows()):
            if matches(window, name, strict=strict, by_class=by_class):
                self._page = self._context.pages[window.id - 1]
                self._page.bring_to_front()
                return True
        return False

    def wait_for_window(self, name: str, timeout: float = 10.0) -> Window:
        return wait_for(self.windows, name, timeout, f"tab titled like {name!r}")

    def open_tabs(self, urls: list[str]) -> None:
        self._check()
        page = chromium.open_tabs(self._context, urls)
        if page is not None:
            self._page = page

    def page_url(self) -> str | None:
        self._check()
        return self._active_page().url

    def evaluate(self, expression: str) -> Any:
        self._check()
        return chromium.evaluate(self.page, expression)

    def element_box(self, selector: str) -> tuple[float, float, float, float] | None:
        self._check()
        # The viewport is the whole screen here, so viewport CSS px are screen logical px.
        return chromium.element_box(self._active_page(), selector, on_screen=False)

    # --- the episode's files and network -------------------------------------------------

    def expose_port(self, port: int) -> None:
        self._check()
        self._runner.expose(port)

    def enable_network(self) -> None:
        """Relaunch the sandboxed Chromium with the network, for the rest of this episode
        (with a fresh context: call it before the task's setup steps)."""
        if self._episode_network or not self.sandboxed:
            return
        self._restart_browser(True)
        self._new_context()
