"""OsworldVmEnv: one of OSWorld's official VMs, driven through the server inside it.

The agent's actions become OSWorld's pyautogui commands (controller.py); setup steps
and getters reach the VM through the same Env methods as on the local desktop: files
in and out over /file and /setup/upload, commands over /execute, programs over
/setup/launch, windows with wmctrl, and the VM's Chrome over CDP on its port 9222.

A VM the user started (``url``) is used as it is: nothing reverts it between episodes,
so give each worker a VM of its own. A ``provider`` (the docker one) owns its VM: it
starts it, gives every episode after the first a fresh one (OSWorld reverts to the
snapshot the same way), and stops it on close.
"""

from __future__ import annotations

import posixpath
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from kimicua.env.chromium import decode_png, element_box
from kimicua.env.chromium import evaluate as chromium_evaluate
from kimicua.env.core import CommandResult, ControlledEnv, EnvError, Window
from kimicua.env.guard import Guard
from kimicua.env.observation import Observation
from kimicua.env.osworld_vm import windows as vm_windows
from kimicua.env.osworld_vm.chrome import VmChrome
from kimicua.env.osworld_vm.client import SERVER_EXEC_TIMEOUT_S, VmClient, VmError
from kimicua.env.osworld_vm.controller import VmController
from kimicua.env.settle import FixedSettle
from kimicua.env.windows import wait_for

SETTLE_S = 1.0  # after an action, before the screenshot (OSWorld's harness pauses 2 s)
ACTIVATE_PATIENCE_S = 2.0
DEFAULT_HOME = "/home/user"  # OSWorld's VM user
CHROME_PORT = 9222
_HOME_COMMAND = ["python", "-c", "import os; print(os.path.expanduser('~'))"]


class VmProvider(Protocol):
    """Something that owns a VM: starts it, replaces it with a fresh one, stops it."""

    chrome_port: int

    def start(self) -> str:
        """Start the VM and wait until its server answers; the server's URL."""

    def revert(self) -> str:
        """A fresh VM in place of the running one; the server's URL."""

    def stop(self) -> None:
        """Stop and remove the VM (idempotent)."""


class OsworldVmEnv(ControlledEnv):
    """The VM whose server answers at ``url`` (``http://HOST:5000``), or the one
    ``provider`` starts. ``chrome_port`` is where the VM's Chrome DevTools answer on
    the same host (9222, or what the provider mapped it to)."""

    kind = "osworld-vm"

    def __init__(self, url: str | None = None, *, provider: VmProvider | None = None,
                 guard: Guard | None = None, settle_s: float = SETTLE_S, chrome_port: int | None = None,
                 timeout: float = 60.0):
        if (url is None) == (provider is None):
            raise ValueError("an OSWorld VM env needs either a server URL or a provider")
        self._provider = provider
        self._closed = False
        self._chrome: VmChrome | None = None
        self._timeout = timeout
        self._guard = guard or Guard()
        self._settler = FixedSettle(settle_s)
        self._fresh = True  # the VM as it was started: the first reset keeps it
        try:
            if provider is not None:
                url, chrome_port = provider.start(), provider.chrome_port
            self._chrome_port = chrome_port or CHROME_PORT
            self._attach(url)
        except BaseException:
            if provider is not None:
                provider.stop()
            raise

    def _attach(self, url: str) -> None:
        """Connect to the server at ``url``: screen size, scale, the user's home."""
        self.client = VmClient(url, timeout=self._timeout)
        try:
            self.screen = self.client.screen_size()
            shot = decode_png(self.client.screenshot())
        except VmError as err:
            raise EnvError(f"cannot use the OSWorld VM at {self.client.url}: {err}") from None
        self.scale = shot.shape[1] / self.screen.width
        home = self.client.execute(_HOME_COMMAND, timeout=30)
        text = home.stdout.strip()
        self._home = text if home.returncode == 0 and text.startswith("/") else DEFAULT_HOME
        self._controller = VmController(self.client, self.screen)
        self._controller.guard = self._guard

    @property
    def url(self) -> str:
        return self.client.url

    # --- Gymnasium -----------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Observation, dict]:
        """Disconnect from the VM's Chrome and release held keys and buttons; with a
        provider, every reset after the first replaces the VM with a fresh one."""
        self._check()
        self._close_chrome()
        if self._provider is not None and not self._fresh:
            self._attach(self._provider.revert())
        self._fresh = False
        self._controller.release_all()
        return self.observe(), {"vm": self.client.url}

    def observe(self) -> Observation:
        self._check()
        stamp = time.time()
        rgb = decode_png(self.client.screenshot())
        return Observation(screenshot=rgb, screen=self.screen, scale=self.scale, timestamp=stamp,
                           url=self.page_url())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_chrome()
        if self._provider is not None:
            self._provider.stop()

    def _check(self) -> None:
        if self._closed:
            raise EnvError("the OSWorld VM env is closed")
        if self.client.lost:
            raise EnvError(self.client.lost)

    # --- commands and windows ------------------------------------------------------

    def run(self, command: list[str] | str, *, shell: bool = False, timeout: float = 30.0) -> CommandResult:
        self._check()
        return self.client.execute(command, shell=shell, timeout=min(timeout, SERVER_EXEC_TIMEOUT_S))

    def launch(self, command: list[str] | str, *, shell: bool = False) -> int:
        """Start a program on the VM (/setup/launch). The server reports no pid: 0."""
        self._check()
        self.client.launch(command, shell=shell)
        return 0

    def windows(self) -> list[Window]:
        self._check()
        return self._listing()[0]

    def active_window(self) -> Window | None:
        self._check()
        found, active = self._listing()
        return next((w for w in found if w.id == active), None)

    def _listing(self) -> tuple[list[Window], int | None]:
        out = self.client.execute(vm_windows.LIST_COMMAND, shell=True, timeout=30)
        if out.stdout.count(vm_windows.MARK) < 2:
            why = out.stderr.strip().splitlines()
            raise EnvError(f"cannot list the VM's windows with wmctrl: {why[-1] if why else out.returncode}")
        return vm_windows.parse(out.stdout)

    def activate_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> bool:
        """/setup/activate_window (wmctrl -a), then True once a matching window has focus."""
        match = dict(strict=strict, by_class=by_class)
        if not any(vm_windows.title_matches(w, name, **match) for w in self.windows()):
            return False
        self.client.activate_window(name, **match)
        deadline = time.monotonic() + ACTIVATE_PATIENCE_S
        while True:
            active = self.active_window()
            if active is not None and vm_windows.title_matches(active, name, **match):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def wait_for_window(self, name: str, timeout: float = 10.0) -> Window:
        return wait_for(self.windows, name, timeout, f"window named like {name!r} on the VM at {self.client.url}",
                        poll_s=0.2)  # each look is a request to the VM

    # What the VM's server offers beyond the Env contract (OSWorld's setup and getters).

    def open_file(self, path: str) -> None:
        """Open ``path`` with its default app and wait for a window named after it."""
        self.client.open_file(self._app_path(path))

    def close_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> None:
        self.client.close_window(name, strict=strict, by_class=by_class)

    def accessibility_tree(self) -> str:
        return self.client.accessibility_tree()

    def terminal_output(self) -> str | None:
        return self.client.terminal_output()

    def start_recording(self) -> None:
        """Start the VM's screen recording (ffmpeg on the VM)."""
        self.client.start_recording()

    def end_recording(self, dest: Path) -> None:
        """Stop the recording and save the MP4 at ``dest``."""
        data = self.client.end_recording()
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    # --- the VM's Chrome -----------------------------------------------------------

    def chrome(self, *, start: bool = True) -> VmChrome | None:
        """The CDP connection to the VM's Chrome; ``start`` launches Chrome (and its
        relay) when none answers, else None is returned then."""
        self._check()
        if self._chrome is not None and not self._chrome.alive():
            self._close_chrome()
        if self._chrome is None:
            launcher = self.client.launch if start else _no_launch
            try:
                self._chrome = VmChrome(self.client.host, self._chrome_port, launcher)
            except _NotRunning:
                return None
            self._controller.navigator = self._chrome
        return self._chrome

    def _close_chrome(self) -> None:
        if self._chrome is not None:
            self._controller.navigator = None
            self._chrome.close()
            self._chrome = None

    def open_tabs(self, urls: list[str]) -> None:
        self.chrome().open_tabs(urls)

    def page_url(self) -> str | None:
        if self._chrome is None:
            return None
        try:
            return self._chrome.front_url()
        except Exception:
            return None  # Chrome closing during the read; the next observation says so

    def _in_page(self, fn: Callable[[Any], Any]) -> Any:
        chrome = self.chrome(start=False)
        if chrome is None:
            raise EnvError("no Chrome with DevTools runs on the VM; open it with open_tabs first")
        return fn(chrome.page)

    def evaluate(self, expression: str) -> Any:
        return self._in_page(lambda page: chromium_evaluate(page, expression))

    def element_box(self, selector: str) -> tuple[float, float, float, float] | None:
        return self._in_page(lambda page: element_box(page, selector, on_screen=True))

    # --- files and network ---------------------------------------------------------

    @property
    def home(self) -> str:
        return self._home

    def _app_path(self, path: str | Path) -> str:
        """``path`` as the VM sees it: ``~`` is the user's home, relative is under it."""
        text = str(path)
        if text == "~" or text.startswith("~/"):
            text = self._home + text[1:]
        return posixpath.normpath(posixpath.join(self._home, text))

    def host_path(self, path: str | Path, *, write: bool = False) -> Path:
        raise EnvError(f"{path} is on the VM, not on this machine: copy it with get_file/put_file")

    def get_file(self, path: str, dest: Path) -> bool:
        self._check()
        try:
            data = self.client.get_file(self._app_path(path))
        except VmError:
            if self.client.lost:
                raise
            return False  # the server could not send it: a folder, or unreadable
        if data is None:
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return True

    def put_file(self, source: Path, path: str) -> None:
        self._check()
        target = self._app_path(path)
        if not any(target == d or target.startswith(d + "/") for d in (self._home, "/tmp")):
            raise EnvError(f"{target} is outside the VM user's home ({self._home}) and /tmp")
        self.client.upload(target, Path(source).read_bytes())

    def list_dir(self, path: str) -> list[str] | None:
        self._check()
        tree = self.client.list_directory(self._app_path(path))
        if not isinstance(tree, dict) or "children" not in tree:
            return None
        return sorted(str(child.get("name")) for child in tree["children"])

    def expose_port(self, port: int) -> None:
        """Nothing to do: a VM has no way to this machine's loopback, so pages a task
        serves here are read by host-side getters (cloud_file) only."""

    def enable_network(self) -> None:
        """Nothing to do: the VM has its own network."""


class _NotRunning(Exception):
    pass


def _no_launch(command: list[str]) -> None:
    raise _NotRunning()
