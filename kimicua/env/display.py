"""X displays: a private Xvfb (with its own cookie and window manager) or the user's own.

A private display is stopped on ``stop()``, when garbage collected and at interpreter
exit, and Xvfb and its window manager die with the process that started them
(``lifetime.popen``), so neither a crashed test run nor ``kill -9`` leaves them behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path

from kimicua.env import lifetime
from kimicua.env.core import EnvError
from kimicua.env.geometry import Size

START_TIMEOUT_S = 10.0
_ENVIRON_LOCK = threading.RLock()


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise EnvError(f"{binary} not found on PATH; install it (Debian: apt-get install {binary})")
    return path


def _terminate(procs: list[subprocess.Popen], tmpdir: str | None) -> None:
    """Stop processes (window manager first, Xvfb last) and remove the temp dir.

    A plain function so weakref.finalize holds no reference to the Display."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)


class Display:
    """One X display: its name, the environment to reach it, and (if private) its Xvfb."""

    def __init__(self, name: str, size: Size, env: dict[str, str], *, private: bool,
                 xvfb: subprocess.Popen | None = None, wm: subprocess.Popen | None = None,
                 tmpdir: str | None = None):
        self.name = name
        self.size = size
        self.env = env  # DISPLAY, XAUTHORITY, XDG_SESSION_TYPE for child processes
        self.private = private
        self._xvfb = xvfb
        self._wm = wm
        procs = [p for p in (wm, xvfb) if p is not None]
        # finalize runs at stop(), at garbage collection and (atexit=True) at exit.
        self._finalizer = weakref.finalize(self, _terminate, procs, tmpdir)

    @classmethod
    def start(cls, size: Size = Size(1920, 1080), *, window_manager: bool = True) -> Display:
        """Start a private Xvfb at ``size`` on a free display number."""
        xvfb_bin = _need("Xvfb")
        xauth = _need("xauth")
        tmpdir = str(lifetime.tempdir("x"))
        auth = Path(tmpdir) / "Xauthority"
        cookie = secrets.token_hex(16)
        # The server loads every cookie in its -auth file whatever display it names, so
        # a placeholder entry authorises the server before its number is known.
        subprocess.run([xauth, "-q", "-f", str(auth), "add", ":65000", ".", cookie], check=True,
                       stderr=subprocess.DEVNULL)  # "file does not exist" on creation
        read_fd, write_fd = os.pipe()
        log_path = Path(tmpdir) / "Xvfb.log"
        started: list[subprocess.Popen] = []
        try:
            with open(log_path, "wb") as log:
                # -displayfd lets Xvfb pick a free display itself: no race with other servers.
                # -noreset: no server reset (and cookie reload) when the last client leaves.
                xvfb = lifetime.popen(
                    [xvfb_bin, "-displayfd", str(write_fd), "-screen", "0",
                     f"{size.width}x{size.height}x24", "-nolisten", "tcp", "-auth", str(auth),
                     "-noreset"],
                    pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=log,
                    start_new_session=True,
                )
            started.append(xvfb)
            os.close(write_fd)
            write_fd = -1
            name = f":{_read_display_number(read_fd, xvfb, log_path)}"
            subprocess.run([xauth, "-q", "-f", str(auth), "add", name, ".", cookie], check=True)
            env = {"DISPLAY": name, "XAUTHORITY": str(auth), "XDG_SESSION_TYPE": "x11"}
            wm = None
            if window_manager and shutil.which("openbox"):
                wm = lifetime.popen(["openbox", "--sm-disable"], env={**os.environ, **env},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
                started.insert(0, wm)
            display = cls(name, size, env, private=True, xvfb=xvfb, wm=wm, tmpdir=tmpdir)
            if wm is not None:
                display._wait_for_wm()
            return display
        except BaseException:
            if write_fd >= 0:
                os.close(write_fd)
            _terminate(started, tmpdir)  # nothing half-started outlives a failed start
            raise
        finally:
            os.close(read_fd)

    @classmethod
    def attach(cls, name: str) -> Display:
        """The user's own display (``":0"``): never stopped by us."""
        env = {"DISPLAY": name, "XDG_SESSION_TYPE": "x11"}
        xauthority = os.environ.get("XAUTHORITY") or str(Path.home() / ".Xauthority")
        if Path(xauthority).exists():
            env["XAUTHORITY"] = xauthority
        out = subprocess.run([_need("xdpyinfo")], env={**os.environ, **env}, capture_output=True,
                             text=True, timeout=10)
        if out.returncode != 0:
            raise EnvError(f"cannot open display {name}: {out.stderr.strip() or out.returncode}")
        dims = next(line.split()[1] for line in out.stdout.splitlines() if "dimensions:" in line)
        return cls(name, Size.parse(dims), env, private=False)

    def _wait_for_wm(self) -> None:
        # The WM is ready once it has set _NET_SUPPORTING_WM_CHECK and _NET_CLIENT_LIST
        # (openbox sets the list a moment after the check): windows launched before
        # would not be managed, and wmctrl cannot list windows without the list.
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self.check()
            out = subprocess.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK", "_NET_CLIENT_LIST"],
                                 env=self.child_env(), capture_output=True, text=True)
            if "not found" not in out.stdout and "window id" in out.stdout:
                return
            time.sleep(0.02)
        raise EnvError(f"window manager did not start on display {self.name}")

    def child_env(self) -> dict[str, str]:
        """os.environ with this display's variables, for child processes."""
        return {**os.environ, **self.env}

    @contextmanager
    def environ(self):
        """This display's variables in os.environ for the duration of the block.

        In-process X clients (mss's xcb, python-xlib, pyautogui) read DISPLAY and
        XAUTHORITY from os.environ when they connect; afterwards the old values return
        so several displays can coexist in one process."""
        with _ENVIRON_LOCK:
            saved = {k: os.environ.get(k) for k in self.env}
            os.environ.update(self.env)
            try:
                yield
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    def alive(self) -> bool:
        return self._xvfb is None or self._xvfb.poll() is None

    def check(self) -> None:
        """Raise EnvError if the private Xvfb has died."""
        if self._xvfb is not None and self._xvfb.poll() is not None:
            raise EnvError(f"Xvfb on display {self.name} exited (code {self._xvfb.returncode})")

    @property
    def pid(self) -> int | None:
        return None if self._xvfb is None else self._xvfb.pid

    def stop(self) -> None:
        """Stop a private display (idempotent); a no-op for the user's display."""
        self._finalizer()

    def __repr__(self) -> str:
        return f"Display({self.name!r}, {self.size}, private={self.private})"


def _read_display_number(fd: int, xvfb: subprocess.Popen, log: Path) -> int:
    """Read the number Xvfb writes to -displayfd once it accepts connections."""
    deadline = time.monotonic() + START_TIMEOUT_S
    data = b""
    os.set_blocking(fd, False)
    while not data.endswith(b"\n"):
        if xvfb.poll() is not None:
            err = log.read_text(errors="replace").strip().splitlines()
            raise EnvError(f"Xvfb failed to start: {err[-1] if err else xvfb.returncode}")
        if time.monotonic() > deadline:
            raise EnvError("Xvfb did not report a display number in time")
        try:
            data += os.read(fd, 64)
        except BlockingIOError:
            time.sleep(0.005)
    return int(data.strip())
