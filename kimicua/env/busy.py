"""Whether an env's own processes are still working: a thread that draws is running or
waits for a CPU (state R in /proc).

The screen can change only if someone runs: an app handling the input, Chromium
compositing a frame, or the X server drawing what it was sent. When nothing has drawn
yet after an action and all of them sleep, the action changed nothing; when one of
them runs, its drawing may still come (a slow app, or one starved of CPU by other work
on the machine: under load, 8 of 60 Chromium frames reached X 9-23 ms after the page's
frame round trip, each time with Chromium's VizCompositorThread runnable).

What is read: each process's main thread (where toolkit apps, Xt, GTK, Qt, Tk, draw),
but of Chromium's processes only the threads that put frames on the screen: their main
threads do much besides (after a page load they were runnable in 276 of 285 looks, and
held steps that changed nothing ~100 ms), and the page's frame round trip covers them.
Walking the process tree to list
them costs ~0.3 ms for a few apps but a few ms once Chromium's 100-odd threads are in
it, so the list is kept and walked again when the roots change, or once the time
since the last walk is REFRESH_RATIO times what that walk took (an app launched
since is seen within ~0.1 s even with Chromium open, at once without).
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterable

FRAME_THREADS = ("Compositor", "VizCompositorTh")  # a renderer's and the GPU process's
RASTER_THREADS = "ThreadPoolForeg"  # a renderer's workers: raster tiles, decode images
CHROMIUM = ("chromium", "chrome")  # its processes' names
REFRESH_RATIO = 20  # the walk takes at most 1/20 of the time


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None  # ended meanwhile


def _state(stat: bytes) -> bytes:
    # "pid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ")".
    end = stat.rfind(b")")
    return stat[end + 2:end + 3]


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def descendants(roots: Iterable[int]) -> list[int]:
    """``roots`` and every process below them (a child is listed under the thread that
    forked it, so every thread's children are read)."""
    seen: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        for tid in _tasks(pid):
            children = _read(f"/proc/{pid}/task/{tid}/children")
            todo.extend(int(c) for c in (children or b"").split())
    return seen


def _comm(path: str) -> str:
    return (_read(path) or b"").strip().decode(errors="replace")


def drawing_threads(pids: Iterable[int]) -> list[str]:
    """The stat files of the threads that draw: main threads; of Chromium's processes the
    FRAME_THREADS, and a renderer's (one with a compositor) raster workers, whose tiles
    a scrolled page shows only in a later frame."""
    paths = []
    for pid in pids:
        if _comm(f"/proc/{pid}/comm") not in CHROMIUM:
            paths.append(f"/proc/{pid}/stat")
            continue
        names = {tid: _comm(f"/proc/{pid}/task/{tid}/comm") for tid in _tasks(pid)}
        drawing = FRAME_THREADS + ((RASTER_THREADS,) if "Compositor" in names.values() else ())
        paths += [f"/proc/{pid}/task/{tid}/stat" for tid, name in names.items() if name in drawing]
    return paths


def running(stat_paths: Iterable[str]) -> bool:
    """Whether any of these threads is running or runnable."""
    return any(_state(stat) == b"R" for stat in map(_read, stat_paths) if stat is not None)


class Busy:
    """Callable: whether a drawing thread below ``roots()`` is running (a settle's ``busy``)."""

    def __init__(self, roots: Callable[[], Iterable[int]]):
        self._roots = roots
        self._seen: list[int] = []
        self._paths: list[str] = []
        self._at = float("-inf")
        self._walk_s = 0.0

    def __call__(self) -> bool:
        roots = [pid for pid in self._roots() if pid != os.getpid()]
        now = time.monotonic()
        if roots != self._seen or now - self._at > self._walk_s * REFRESH_RATIO:
            self._paths = drawing_threads(descendants(roots))
            self._seen, self._at, self._walk_s = roots, now, time.monotonic() - now
        return running(self._paths)
