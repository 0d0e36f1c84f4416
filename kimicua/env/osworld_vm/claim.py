"""One VM per worker: a process claims the first of a run's VM URLs no other process holds.

A claim is an exclusive ``flock`` on a file named after the URL in the machine's temp
folder; the kernel drops it when the process ends (even by ``kill -9``), so a Ray
worker that dies frees its VM for the worker that replaces it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from kimicua.env.core import EnvError
from kimicua.env.osworld_vm.client import normalise_url


def _lock_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "kimicua-vm-claims"
    folder.mkdir(exist_ok=True)
    return folder


class VmClaim:
    """This process's hold on one VM URL (released by ``release`` or by exiting)."""

    def __init__(self, url: str, fd: int):
        self.url, self._fd = url, fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def claim_vm(urls: list[str] | tuple[str, ...]) -> VmClaim:
    """The first of ``urls`` that no other process has claimed; EnvError when all are."""
    for url in urls:
        url = normalise_url(url)
        name = hashlib.sha1(url.encode()).hexdigest()[:16] + ".lock"
        fd = os.open(_lock_dir() / name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {url}\n".encode(), 0)
        return VmClaim(url, fd)
    raise EnvError(f"every VM given with --vm ({len(urls)}) is in use by another worker or run; "
                   "give one VM per worker")
