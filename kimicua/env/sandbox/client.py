"""The host's side of a sandbox: start it, ask its supervisor, relay ports.

``Sandbox`` offers what ``Processes`` offers (run, launch, kill_all, pids), so an env
runs its apps through either one, plus the two relays a closed network needs:
``expose`` (the sandbox reaches a host loopback port, e.g. the task's page server)
and ``forward`` (the host reaches a port inside, e.g. Chromium's DevTools).
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import socket
import subprocess
import threading
import time
import weakref
from pathlib import Path

from kimicua.env import lifetime
from kimicua.env.core import CommandResult, EnvError
from kimicua.env.sandbox.bwrap import RUNTIME, Layout, SandboxUnavailable, bwrap_argv, python_argv, write_identity
from kimicua.env.sandbox.supervisor import pump, read_line

SUPERVISOR_SOURCE = Path(__file__).with_name("supervisor.py")
START_TIMEOUT_S = 10.0


def prepare_runtime(layout: Layout, xauthority: str | None) -> None:
    """Fill the runtime dir: the supervisor script, identity files, the X cookie."""
    runtime = layout.runtime
    for stale in runtime.glob("*.sock"):  # a previous sandbox's sockets
        stale.unlink()
    (runtime / "xdg").mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(SUPERVISOR_SOURCE, runtime / "supervisor.py")
    write_identity(runtime)
    if xauthority and os.path.exists(xauthority):
        _wildcard_cookies(Path(xauthority), runtime / "Xauthority")


def _wildcard_cookies(src: Path, dst: Path) -> None:
    """Copy X cookies as FamilyWild entries: the sandbox has a hostname of its own,
    and a cookie bound to the host's name would not be found there."""
    listed = subprocess.run(["xauth", "-f", str(src), "nlist"], capture_output=True, text=True, timeout=10)
    lines = ["ffff" + line[4:] for line in listed.stdout.splitlines() if len(line) > 4]
    dst.unlink(missing_ok=True)
    subprocess.run(["xauth", "-f", str(dst), "nmerge", "-"], input="\n".join(lines) + "\n", text=True,
                   capture_output=True, timeout=10, check=True)


def supervisor_argv(*extra: str) -> list[str]:
    return [*python_argv(), f"{RUNTIME}/supervisor.py", "--runtime", RUNTIME, *extra]


def _close_listeners(listeners: list[socket.socket]) -> None:
    for lst in listeners:
        try:
            lst.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        lst.close()
    listeners.clear()


def _stop(proc: subprocess.Popen, listeners: list[socket.socket]) -> None:
    _close_listeners(listeners)
    if proc.poll() is None:
        proc.kill()  # bwrap's child dies with it (--die-with-parent), and the namespace with that
        proc.wait()


class SandboxControl:
    """A running sandbox's supervisor, reached through the layout's runtime dir: for a
    sandbox someone else started (Playwright starts the browser env's) or our own."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self._listeners: list[socket.socket] = []
        self._exposed: set[int] = set()
        self._forwarded: dict[int, int] = {}

    def alive(self) -> bool:
        try:
            with self._connect():
                return True
        except (OSError, EnvError):
            return False

    def close(self) -> None:
        """Stop relaying (the sandbox itself ends with whoever started it)."""
        _close_listeners(self._listeners)

    def _connect(self) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(str(self.layout.runtime / "control.sock"))
        except OSError as err:
            conn.close()
            raise EnvError(f"the sandbox's supervisor is not there ({err.strerror})") from None
        return conn

    def request(self, op: str, wait: float | None = 30.0, **fields) -> dict:
        """One request to the supervisor; EnvError with its message when it fails."""
        with self._connect() as conn:
            conn.settimeout(wait)
            conn.sendall(json.dumps({"op": op, **fields}).encode() + b"\n")
            try:
                reply = json.loads(read_line(conn, limit=64 << 20))
            except (ConnectionError, socket.timeout, ValueError) as err:
                raise EnvError(f"the sandbox did not answer {op}: {err}") from None
        if not reply.get("ok"):
            raise EnvError(f"in the sandbox: {reply.get('error')}")
        return reply

    # --- what Processes offers -----------------------------------------------------------

    def run(self, command: list[str] | str, *, shell: bool = False, timeout: float = 30.0) -> CommandResult:
        reply = self.request("run", wait=timeout + 10, command=_command(command, shell), shell=shell,
                             timeout=timeout)
        return CommandResult(reply["returncode"], reply["stdout"], reply["stderr"])

    def launch(self, command: list[str] | str, *, shell: bool = False) -> int:
        return self.request("launch", command=_command(command, shell), shell=shell)["pid"]

    def kill(self, pid: int, grace: float = 2.0) -> None:
        """End one launched process and its group."""
        if self.alive():
            self.request("kill", wait=grace + 10, pid=pid, grace=grace)

    @property
    def pids(self) -> list[int]:
        return self.request("pids")["pids"]

    def kill_all(self, grace: float = 2.0) -> None:
        if self.alive():
            self.request("kill_all", wait=grace + 10, grace=grace)

    # --- relays ----------------------------------------------------------------------------

    def expose(self, port: int) -> None:
        """Make the host's 127.0.0.1:``port`` reachable inside at the same address."""
        if self.layout.network or port in self._exposed:
            return  # a shared network namespace reaches it already
        path = self.layout.runtime / f"out-{port}.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(64)
        self._listeners.append(listener)
        _serve(listener, lambda: socket.create_connection(("127.0.0.1", port), timeout=10))
        self.request("expose", port=port)
        self._exposed.add(port)

    def forward(self, port: int) -> int:
        """A host loopback port whose connections reach 127.0.0.1:``port`` inside."""
        if self.layout.network:
            return port
        if port not in self._forwarded:
            listener = socket.create_server(("127.0.0.1", 0))
            self._listeners.append(listener)
            _serve(listener, lambda: self._tunnel(port))
            self._forwarded[port] = listener.getsockname()[1]
        return self._forwarded[port]

    def _tunnel(self, port: int) -> socket.socket:
        conn = self._connect()
        conn.sendall(json.dumps({"op": "connect", "port": port}).encode() + b"\n")
        reply = json.loads(read_line(conn))
        if not reply.get("ok"):
            conn.close()
            raise OSError(reply.get("error"))
        return conn



class Sandbox(SandboxControl):
    """A bubblewrap sandbox we start, with its supervisor (see ``bwrap`` for what is inside)."""

    def __init__(self, layout: Layout, *, xauthority: str | None = None):
        super().__init__(layout)
        prepare_runtime(layout, xauthority)
        read_fd, write_fd = os.pipe()
        err_path = layout.runtime / "bwrap.log"
        started = time.perf_counter()
        try:
            with open(err_path, "wb") as err:
                self._proc = lifetime.popen(
                    [*bwrap_argv(layout), *supervisor_argv("--ready-fd", str(write_fd))],
                    pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=err, start_new_session=True)
        except OSError as err:
            os.close(read_fd)
            os.close(write_fd)
            raise SandboxUnavailable(f"cannot start bubblewrap: {err}") from None
        os.close(write_fd)
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._listeners)
        try:
            self._wait_ready(read_fd, err_path)
        except BaseException:
            self._finalizer()
            raise
        finally:
            os.close(read_fd)
        self.start_s = time.perf_counter() - started

    def _wait_ready(self, fd: int, err_path: Path) -> None:
        ready, _, _ = select.select([fd], [], [], START_TIMEOUT_S)
        if ready and os.read(fd, 16).startswith(b"ready"):
            return
        self._proc.poll()
        lines = err_path.read_text(errors="replace").strip().splitlines()
        why = lines[-1] if lines else ("timed out" if self._proc.returncode is None else
                                       f"exit code {self._proc.returncode}")
        raise SandboxUnavailable(f"the sandbox did not start ({why}); run with --no-sandbox to go "
                                 "without one (trusted models or a VM only)")

    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        """bwrap's pid on the host: every process of the sandbox runs below it."""
        return self._proc.pid

    def close(self) -> None:
        """Kill the sandbox and everything in it (idempotent)."""
        self._finalizer()

    def _connect(self) -> socket.socket:
        if not self.alive():
            raise EnvError(f"the sandbox has exited (code {self._proc.returncode})")
        return super()._connect()


def _serve(listener: socket.socket, open_target) -> None:
    """Accept on ``listener`` in a thread; relay each connection to ``open_target()``."""

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                target = open_target()
                target.settimeout(None)
            except OSError:
                conn.close()
                continue
            threading.Thread(target=pump, args=(conn, target), daemon=True).start()

    threading.Thread(target=accept, name="kimicua-relay", daemon=True).start()


def _command(command: list[str] | str, shell: bool) -> list[str] | str:
    if shell:
        return command if isinstance(command, str) else shlex.join(command)
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
