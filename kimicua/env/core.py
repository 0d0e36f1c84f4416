"""The Env contract (Gymnasium semantics), the TimeLimit wrapper and make_env.

Rewards come from evaluators, so ``step`` always returns 0.0; Done/Fail terminate;
the step budget is TimeLimit, which truncates. Controller errors are values in
``info["result"]``; only a dead display or browser raises EnvError.
"""

from __future__ import annotations

import os
import shutil
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kimicua.env.actions import Action, is_terminal
from kimicua.env.controller import Controller
from kimicua.env.geometry import Size
from kimicua.env.observation import Observation
from kimicua.env.settle import FixedSettle, Settled, Settler

if TYPE_CHECKING:
    from kimicua.env.guard import Guard
    from kimicua.env.workspace import Workspace


class EnvError(RuntimeError):
    """The world is unusable (a crashed Xvfb or browser) or an operation is unsupported."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class Window:
    """A top-level window; geometry in screen logical pixels."""

    id: int
    name: str
    wm_class: str
    x: float
    y: float
    width: float
    height: float


StepResult = tuple[Observation, float, bool, bool, dict]


class Env(ABC):
    """A GUI world: observe a screen, act on it, and (for task setup) reach into it."""

    screen: Size
    scale: float
    kind: str

    @abstractmethod
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Observation, dict]:
        """A clean world and its first observation."""

    @abstractmethod
    def step(self, action: Action) -> StepResult:
        """Execute one action: (obs, 0.0, terminated, truncated=False, info)."""

    @abstractmethod
    def observe(self) -> Observation:
        """A fresh observation without acting."""

    @abstractmethod
    def close(self) -> None:
        """Release everything (idempotent)."""

    # World access for task setup and evaluators, never for the agent.
    @abstractmethod
    def run(self, command: list[str] | str, *, shell: bool = False, timeout: float = 30.0) -> CommandResult:
        """Run a command to completion with the env's DISPLAY/XAUTHORITY."""

    @abstractmethod
    def launch(self, command: list[str] | str, *, shell: bool = False) -> int:
        """Start a tracked background process; its pid. reset() ends it."""

    @abstractmethod
    def windows(self) -> list[Window]:
        """Top-level windows."""

    @abstractmethod
    def active_window(self) -> Window | None:
        """The focused window, if any."""

    @abstractmethod
    def activate_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> bool:
        """Focus the first window whose name (or class) contains (strict: equals) ``name``."""

    @abstractmethod
    def wait_for_window(self, name: str, timeout: float = 10.0) -> Window:
        """The first window whose name contains ``name``; EnvError on timeout."""

    @abstractmethod
    def open_tabs(self, urls: list[str]) -> None:
        """Open each URL in a new browser tab (the last one ends up active)."""

    @abstractmethod
    def page_url(self) -> str | None:
        """The active page's URL, or None without a browser."""

    @abstractmethod
    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the active page; a JSON-able result."""

    @abstractmethod
    def element_box(self, selector: str) -> tuple[float, float, float, float] | None:
        """(x, y, w, h) of the first element matching ``selector`` in screen logical px."""

    # The episode's files and network, for task setup and evaluators.
    @property
    @abstractmethod
    def home(self) -> str:
        """The episode's home as the env's apps see it (/home/user when sandboxed)."""

    @abstractmethod
    def host_path(self, path: str | Path, *, write: bool = False) -> Path:
        """Where an app's ``path`` lies on this machine (EnvError if apps cannot reach it)."""

    @abstractmethod
    def get_file(self, path: str, dest: Path) -> bool:
        """Copy the apps' file ``path`` to ``dest`` on this machine; False if it is missing
        (or the apps cannot see it). A VM env downloads it."""

    @abstractmethod
    def put_file(self, source: Path, path: str) -> None:
        """Copy this machine's ``source`` to the apps' ``path`` (parents made); EnvError
        outside the episode's home and /tmp. A VM env uploads it."""

    @abstractmethod
    def list_dir(self, path: str) -> list[str] | None:
        """The sorted entries of the apps' folder ``path``, or None if it is not one."""

    @abstractmethod
    def expose_port(self, port: int) -> None:
        """Let the env's apps reach this machine's 127.0.0.1:``port`` (a task's page server)."""

    @abstractmethod
    def enable_network(self) -> None:
        """Give the env's apps the network for the rest of this episode (a task asked)."""

    def __enter__(self) -> Env:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ControlledEnv(Env):
    """An Env whose actions go through a Controller: the step both envs share, and the
    workspace (home, tmp) both keep their episodes' files in."""

    _controller: Controller
    workspace: Workspace
    # Waits after an action until the screen shows it (settle.ScreenSettle), or not at all.
    _settler: Settler = FixedSettle(0.0)

    @abstractmethod
    def _check(self) -> None:
        """Raise EnvError when the world (X server, browser) is gone."""

    def _check_lost(self) -> None:
        """``_check`` once a connection to the world broke (its process may still be exiting)."""
        self._check()

    def _refused_navigations(self) -> list[str]:
        """Navigations the browser refused (URL policy) since the last call."""
        return []

    @property
    def guard(self) -> Guard:
        return self._controller.guard

    def _allow_own_files(self, guard: Guard) -> None:
        """The URL policy lets the browser open the episode's own files (its home)."""
        guard.urls = guard.urls.with_allowed(Path(self.workspace.app_home).as_uri() + "/")

    @property
    def sandboxed(self) -> bool:
        return self.workspace.sandboxed

    def step(self, action: Action) -> StepResult:
        """Execute, wait until the screen shows it (``info["settle"]`` says how that went),
        observe; a navigation the URL policy refused fails the step."""
        self._check()
        try:
            self._settler.arm()
            result = self._controller.execute(action)
            if not result.ok:
                self._check()  # a dead world shows up first as a failed action
            settled = self._settler.wait() if not is_terminal(action) else Settled(0.0, changed=False)
        except EnvError:
            self._check_lost()  # a dead display says so, rather than the watch that lost it
            raise
        t0 = time.perf_counter()
        obs = self.observe()
        capture_s = time.perf_counter() - t0
        refused = self._refused_navigations()
        if refused and result.ok:  # typed into the address bar, or a link: the browser said no
            result = replace(result, ok=False, error=refused[0])
            self._settler.wait()
            obs = self.observe()  # the page as it is after the refusal was undone
        info = {"result": result, "execute_s": result.duration_s, "settle_s": settled.waited_s,
                "settle": settled, "capture_s": capture_s}
        return obs, 0.0, is_terminal(action), False, info

    @property
    def home(self) -> str:
        return self.workspace.app_home

    def host_path(self, path: str | Path, *, write: bool = False) -> Path:
        return self.workspace.host_path(path, write=write)

    def get_file(self, path: str, dest: Path) -> bool:
        try:
            source = self.host_path(path)
        except EnvError:
            return False
        if not source.is_file():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        return True

    def put_file(self, source: Path, path: str) -> None:
        target = self.host_path(path, write=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def list_dir(self, path: str) -> list[str] | None:
        try:
            folder = self.host_path(path)
        except EnvError:
            return None
        return sorted(os.listdir(folder)) if folder.is_dir() else None


class TimeLimit(Env):
    """Truncate the episode once ``max_steps`` steps were taken (Gymnasium TimeLimit)."""

    def __init__(self, env: Env, max_steps: int):
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.env = env
        self.max_steps = max_steps
        self.elapsed = 0

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found on the wrapper: screen, scale, kind, ...
        return getattr(self.env, name)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Observation, dict]:
        self.elapsed = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Action) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.elapsed += 1
        if self.elapsed >= self.max_steps:
            truncated = True
        return obs, reward, terminated, truncated, info

    def observe(self) -> Observation:
        return self.env.observe()

    def close(self) -> None:
        self.env.close()

    def run(self, command, *, shell=False, timeout=30.0) -> CommandResult:
        return self.env.run(command, shell=shell, timeout=timeout)

    def launch(self, command, *, shell=False) -> int:
        return self.env.launch(command, shell=shell)

    def windows(self) -> list[Window]:
        return self.env.windows()

    def active_window(self) -> Window | None:
        return self.env.active_window()

    def activate_window(self, name, *, strict=False, by_class=False) -> bool:
        return self.env.activate_window(name, strict=strict, by_class=by_class)

    def wait_for_window(self, name, timeout=10.0) -> Window:
        return self.env.wait_for_window(name, timeout)

    def open_tabs(self, urls) -> None:
        self.env.open_tabs(urls)

    def page_url(self) -> str | None:
        return self.env.page_url()

    def evaluate(self, expression) -> Any:
        return self.env.evaluate(expression)

    def element_box(self, selector):
        return self.env.element_box(selector)

    @property
    def home(self) -> str:
        return self.env.home

    def host_path(self, path, *, write=False) -> Path:
        return self.env.host_path(path, write=write)

    def get_file(self, path, dest) -> bool:
        return self.env.get_file(path, dest)

    def put_file(self, source, path) -> None:
        self.env.put_file(source, path)

    def list_dir(self, path) -> list[str] | None:
        return self.env.list_dir(path)

    def expose_port(self, port) -> None:
        self.env.expose_port(port)

    def enable_network(self) -> None:
        self.env.enable_network()


MAX_SCREEN = 16384  # Chromium's largest surface; X allows 32767, no screen is that large


def check_screen(size: Size, scale: float = 1.0) -> None:
    """ValueError (one line) for a screen no env can show."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale:g}")
    w, h = round(size.width * scale), round(size.height * scale)
    if not (16 <= w <= MAX_SCREEN and 16 <= h <= MAX_SCREEN):
        raise ValueError(f"screen {size} at scale {scale:g} is {w}x{h} pixels; each side must be "
                         f"between 16 and {MAX_SCREEN}")


def make_env(kind: str = "desktop", *, size: Size = Size(1920, 1080), scale: float = 1.0,
             display: str | None = None, headless: bool = True, sandbox: bool = True,
             network: bool = False, guard: Guard | None = None, vm: Any = None) -> Env:
    """A desktop (private Xvfb, or ``display`` if given), browser (Chromium) or
    osworld-vm (one of OSWorld's VMs) env.

    ``headless=False`` shows the browser: on ``display`` if given, else on a private Xvfb.
    ``sandbox`` runs the env's apps in bubblewrap (``network`` gives them the network);
    ``guard`` holds the URL policy and the key denylist. ``vm`` is the osworld-vm's
    server URL (``http://HOST:5000``) or a provider that starts the VM (osworld_vm.DockerVm);
    the VM's screen is its own, so ``size``, ``scale`` and ``display`` do not apply.
    """
    if kind == "osworld-vm":
        from kimicua.env.osworld_vm import OsworldVmEnv

        if vm is None:
            raise ValueError("the osworld-vm env needs a VM: its server URL or a provider")
        if isinstance(vm, str):
            return OsworldVmEnv(vm, guard=guard)
        return OsworldVmEnv(provider=vm, guard=guard)
    options = {"sandbox": sandbox, "network": network, "guard": guard}
    if display is None or kind == "browser":
        check_screen(size, scale)
    match kind:
        case "desktop":
            from kimicua.env.desktop_env import DesktopEnv

            return DesktopEnv(size=size, scale=scale, display=display, **options)
        case "browser":
            from kimicua.env.browser_env import BrowserEnv

            return BrowserEnv(size=size, scale=scale, display=display, headless=headless, **options)
    raise ValueError(f"unknown env kind {kind!r}; expected 'desktop', 'browser' or 'osworld-vm'")
