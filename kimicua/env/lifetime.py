"""Nothing an env starts outlives the process that started it.

Every child (Xvfb, the window manager, the sandbox, unsandboxed apps) is started with
``PR_SET_PDEATHSIG(SIGKILL)``, so a runner killed with ``kill -9`` takes them along.
The kernel sends that signal when the *thread* that forked the child ends, not the
process, so all children are forked from one daemon thread that lives as long as
the process (a Textual or Ray worker thread that starts an env may end long before).

Temp dirs are named ``kimicua-<kind>-<pid>-<random>``; ``tempdir`` removes, once per
process, those whose owner pid is gone (what a killed run leaves behind).
"""

from __future__ import annotations

import ctypes
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl  # looked up now: after fork only async-signal-safe work is done


def _die_with(parent: int) -> None:
    """preexec_fn: SIGKILL this child when its parent thread ends."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class _Spawner:
    """One long-lived daemon thread that forks every child."""

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _run(self) -> None:
        while True:
            future, args, kwargs = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(subprocess.Popen(*args, **kwargs))
            except BaseException as err:  # handed to the caller, who raises it
                future.set_exception(err)

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen:
        with self._lock:
            # After a fork (a Ray worker, multiprocessing) the thread is gone: start anew.
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, name="kimicua-spawner", daemon=True)
                self._thread.start()
        kwargs["preexec_fn"] = lambda parent=os.getpid(): _die_with(parent)
        future: Future = Future()
        self._jobs.put((future, args, kwargs))
        return future.result()


_SPAWNER = _Spawner()


def popen(*args: Any, **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen`` whose child is killed when this process dies."""
    return _SPAWNER.popen(*args, **kwargs)


# --- temp dirs ------------------------------------------------------------------------

_OWNED = re.compile(r"^kimicua-[a-z]+-(\d+)-")
_swept = False
_sweep_lock = threading.Lock()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_stale(root: str | Path | None = None) -> list[Path]:
    """Remove temp dirs (ours, by name) whose owner process is gone; the removed ones."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _OWNED.match(entry.name)
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def tempdir(kind: str) -> Path:
    """A new private temp dir ``kimicua-<kind>-<pid>-...``, swept up after a crash."""
    global _swept
    with _sweep_lock:
        if not _swept:
            _swept = True
            sweep_stale()
    return Path(tempfile.mkdtemp(prefix=f"kimicua-{kind}-{os.getpid()}-"))
