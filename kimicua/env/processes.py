"""Commands on a display: run to completion, or launch in the background and track.

Launched processes get their own session (process group) so reset() can end them
and everything they spawned, which also closes their windows. What is still running
when the Processes object is collected, or at interpreter exit, is ended too, and a
killed runner takes them along (``lifetime.popen``).

``Processes`` runs on the host; ``sandbox.Sandbox`` offers the same methods (the
``Runner`` protocol) inside bubblewrap, so an env uses either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import weakref
from typing import Protocol

from kimicua.env import lifetime
from kimicua.env.core import CommandResult, EnvError


class Runner(Protocol):
    """Where an env's apps run: the host (Processes) or a sandbox."""

    def run(self, command: list[str] | str, *, shell: bool = False, timeout: float = 30.0) -> CommandResult: ...

    def launch(self, command: list[str] | str, *, shell: bool = False) -> int: ...

    def kill(self, pid: int, grace: float = 2.0) -> None: ...

    def kill_all(self, grace: float = 2.0) -> None: ...

    def forward(self, port: int) -> int:
        """The host port that reaches the runner's loopback ``port``."""
        ...

    def expose(self, port: int) -> None:
        """Make the host's loopback ``port`` reachable from the runner's apps."""
        ...


class Processes:
    """Runs commands with a fixed environment and remembers what it launched."""

    def __init__(self, env: dict[str, str], cwd: str | os.PathLike | None = None):
        self.env, self.cwd = env, cwd
        self._launched: list[subprocess.Popen] = []
        # The finalizer holds the list, not self; kill_all empties it in place.
        self._finalizer = weakref.finalize(self, _end_all, self._launched, 1.0)

    def run(self, command: list[str] | str, *, shell: bool = False, timeout: float = 30.0) -> CommandResult:
        """Run to completion; a timeout or missing program is a CommandResult, not an exception."""
        try:
            out = subprocess.run(command, shell=shell, env=self.env, capture_output=True,
                                 timeout=timeout, stdin=subprocess.DEVNULL, start_new_session=True,
                                 cwd=self.cwd)
        except subprocess.TimeoutExpired as err:
            return CommandResult(124, _text(err.stdout), _text(err.stderr) + f"timed out after {timeout:g}s")
        except OSError as err:
            return CommandResult(127, "", str(err))
        return CommandResult(out.returncode, _text(out.stdout), _text(out.stderr))

    def launch(self, command: list[str] | str, *, shell: bool = False) -> int:
        """Start in the background; its pid. EnvError if the program cannot be started."""
        try:
            proc = lifetime.popen(command, shell=shell, env=self.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True, cwd=self.cwd)
        except OSError as err:
            raise EnvError(f"cannot launch {command!r}: {err}") from None
        self._launched.append(proc)
        return proc.pid

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._launched if p.poll() is None]

    def kill(self, pid: int, grace: float = 2.0) -> None:
        """End one launched process group."""
        procs = [p for p in self._launched if p.pid == pid]
        for proc in procs:
            self._launched.remove(proc)
        _end_all(procs, grace)

    def forward(self, port: int) -> int:
        return port  # the host's own loopback

    def expose(self, port: int) -> None:
        pass

    def kill_all(self, grace: float = 2.0) -> None:
        """End every launched process group: SIGTERM, then SIGKILL after ``grace`` s."""
        _end_all(self._launched, grace)


def _end_all(launched: list[subprocess.Popen], grace: float) -> None:
    procs = list(launched)
    launched.clear()
    for proc in procs:
        _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # The leader may be gone while its children live on: kill the group anyway.
        _signal_group(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
