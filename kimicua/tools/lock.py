"""One run per results directory at a time.

Seen: two runs into one results directory raced (one moved the other's unfinished
episodes aside mid-write). A run holds an exclusive ``flock`` on ``<results>/.lock``
for its whole life; the kernel drops it when the process ends, even by ``kill -9``, so
a stale lock never blocks the next run.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class ResultsBusy(ValueError):
    """Another live run holds the results directory (one line naming its pid)."""


class ResultsLock:
    def __init__(self, results: Path):
        self.path = Path(results) / ".lock"
        self._made = not self.path.parent.exists()  # a run that never starts leaves no folder
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ResultsBusy(f"{results} is in use by another run (pid {holder}); wait for it to "
                              "finish or choose another --results") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self, *, discard: bool = False) -> None:
        """Let go; ``discard`` also removes the results folder if this lock made it and
        nothing else was written there (a run that failed before its first task)."""
        if self._fd is None:
            return
        if discard and self._made and [p.name for p in self.path.parent.iterdir()] == [".lock"]:
            self.path.unlink()
            self.path.parent.rmdir()
        os.close(self._fd)  # closing drops the flock
        self._fd = None
