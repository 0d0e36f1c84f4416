"""The sandbox's supervisor: runs inside bubblewrap and starts everything there.

It is run as a script by the sandbox's own Python (``python -I -S supervisor.py``), so
it uses the standard library only and imports nothing of the package. The host talks
to it over a Unix socket in the shared runtime dir (``control.sock``): one JSON line
per request, one JSON line per reply.

Requests:
- ``run``: a command to completion -> returncode, stdout, stderr
- ``launch``: a command in the background (its own session) -> pid
- ``kill``: end one launched process group
- ``kill_all``: end everything in the sandbox but the supervisor
- ``pids``: the live launched pids
- ``expose``: listen on 127.0.0.1:port here and relay each connection to the host's
  ``out-<port>.sock`` (the host relays it on to its own 127.0.0.1:port): how a task's
  loopback page server stays reachable while the network is off
- ``connect``: relay this very connection to 127.0.0.1:port here (the host reaches a
  DevTools port inside the sandbox this way)

With ``--exec CMD...`` the supervisor also runs CMD as its main child, passing every
inherited file descriptor through (Playwright talks to Chromium over fds 3 and 4), and
exits with CMD's status.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

MAX_OUTPUT = 8 << 20  # bytes of stdout/stderr a `run` returns; more is cut


def pump(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways between two connected sockets until both sides end."""

    def one_way(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    back = threading.Thread(target=one_way, args=(b, a), daemon=True)
    back.start()
    one_way(a, b)
    back.join()
    a.close()
    b.close()


def read_line(conn: socket.socket, limit: int = 1 << 20) -> bytes:
    """One newline-terminated line, read a byte at a time so nothing after it is taken."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            raise ConnectionError("connection closed before the end of the line")
        data += chunk
        if len(data) > limit:
            raise ValueError("request too long")
    return bytes(data)


class Supervisor:
    def __init__(self, runtime: str):
        self.runtime = runtime
        self.launched: list[subprocess.Popen] = []
        self.lock = threading.Lock()

    # --- processes ------------------------------------------------------------------

    def _command(self, req: dict) -> tuple[object, bool]:
        command, shell = req["command"], bool(req.get("shell", False))
        if not shell and not (isinstance(command, list) and command):
            raise ValueError("command must be a non-empty list unless shell is set")
        return command, shell

    def run(self, req: dict) -> dict:
        command, shell = self._command(req)
        try:
            out = subprocess.run(command, shell=shell, capture_output=True, timeout=float(req.get("timeout", 30.0)),
                                 stdin=subprocess.DEVNULL, start_new_session=True, cwd=req.get("cwd"))
        except subprocess.TimeoutExpired as err:
            return {"returncode": 124, "stdout": _text(err.stdout),
                    "stderr": _text(err.stderr) + f"timed out after {float(req.get('timeout', 30.0)):g}s"}
        except OSError as err:
            return {"returncode": 127, "stdout": "", "stderr": str(err)}
        return {"returncode": out.returncode, "stdout": _text(out.stdout), "stderr": _text(out.stderr)}

    def launch(self, req: dict) -> dict:
        command, shell = self._command(req)
        proc = subprocess.Popen(command, shell=shell, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, cwd=req.get("cwd"))
        with self.lock:
            self.launched.append(proc)
        return {"pid": proc.pid}

    def kill(self, req: dict) -> dict:
        """End one launched process group: SIGTERM, then SIGKILL after ``grace`` s."""
        pid = int(req["pid"])
        with self.lock:
            proc = next((p for p in self.launched if p.pid == pid), None)
        if proc is None:
            raise ValueError(f"pid {pid} was not launched here")
        _signal_group(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=float(req.get("grace", 2.0)))
        except subprocess.TimeoutExpired:
            pass
        _signal_group(pid, signal.SIGKILL)
        proc.poll()
        return {}

    def pids(self, req: dict) -> dict:
        with self.lock:
            return {"pids": [p.pid for p in self.launched if p.poll() is None]}

    def kill_all(self, req: dict) -> dict:
        """SIGTERM, then SIGKILL after ``grace`` s, to every process of the sandbox but
        bubblewrap's init (pid 1), the supervisor and its main child: this PID namespace
        holds only the episode's processes, so what daemonised itself goes too."""
        keep = {1, os.getpid(), *_descendants(self.main)} if self.main else {1, os.getpid()}
        grace = float(req.get("grace", 2.0))
        victims = [pid for pid in _all_pids() if pid not in keep]
        for pid in victims:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_exists(p) for p in victims):
            self._reap()
            time.sleep(0.02)
        for pid in victims:
            _signal(pid, signal.SIGKILL)
        self._reap()
        with self.lock:
            self.launched = [p for p in self.launched if p.poll() is None]
        return {}

    main: int | None = None  # the --exec child, whose process tree kill_all spares

    def _reap(self) -> None:
        # Only our own Popens: a waitpid(-1) could reap the main child. Orphans
        # re-parent to bwrap's init (pid 1), which reaps them.
        with self.lock:
            for p in self.launched:
                p.poll()

    # --- relays -----------------------------------------------------------------------

    def expose(self, req: dict) -> dict:
        port = int(req["port"])
        target = os.path.join(self.runtime, f"out-{port}.sock")
        listener = socket.create_server(("127.0.0.1", port))

        def accept() -> None:
            while True:
                conn, _ = listener.accept()
                out = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    out.connect(target)
                except OSError:
                    conn.close()
                    out.close()
                    continue
                threading.Thread(target=pump, args=(conn, out), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return {}

    # --- the control socket -----------------------------------------------------------

    def handle(self, conn: socket.socket) -> None:
        try:
            req = json.loads(read_line(conn))
            op = req.get("op")
            if op == "connect":
                inner = socket.create_connection(("127.0.0.1", int(req["port"])), timeout=5)
                inner.settimeout(None)
                conn.sendall(b'{"ok": true}\n')
                pump(conn, inner)
                return
            handler = {"run": self.run, "launch": self.launch, "pids": self.pids, "kill": self.kill,
                       "kill_all": self.kill_all, "expose": self.expose,
                       "ping": lambda r: {"pid": os.getpid()}}.get(op)
            if handler is None:
                raise ValueError(f"unknown op {op!r}")
            reply = {"ok": True, **handler(req)}
        except Exception as err:  # every failure is an answer, never a dead supervisor
            reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        try:
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass
        conn.close()

    def serve(self, ready_fd: int | None) -> None:
        path = os.path.join(self.runtime, "control.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(64)
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()


def _text(data) -> str:
    if not data:
        return ""
    return data[:MAX_OUTPUT].decode(errors="replace")


def _all_pids() -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str]) -> int:
    runtime, ready_fd, command = None, None, None
    i = 0
    while i < len(argv):
        if argv[i] == "--runtime":
            runtime, i = argv[i + 1], i + 2
        elif argv[i] == "--ready-fd":
            ready_fd, i = int(argv[i + 1]), i + 2
        elif argv[i] == "--exec":
            command = argv[i + 1:]
            break
        else:
            print(f"supervisor: unknown argument {argv[i]!r}", file=sys.stderr)
            return 2
    if runtime is None:
        print("supervisor: --runtime is required", file=sys.stderr)
        return 2
    sup = Supervisor(runtime)
    if not command:
        sup.serve(ready_fd)
        return 0
    threading.Thread(target=sup.serve, args=(ready_fd,), daemon=True).start()
    child = subprocess.Popen(command, close_fds=False)  # fds 3 and 4 carry Playwright's pipe
    sup.main = child.pid
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: child.send_signal(s))
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
