"""Whether an env's own processes are still working: some process is running or waits
for a CPU (state R in /proc).

The screen can change only if someone runs: an app handling the input, or the X
server drawing what it was sent. When nothing has drawn yet after an action and all of
them sleep, the action changed nothing; when one of them runs, its redraw may still
come (a slow app, or one starved of CPU by other work on the machine). Only each
process's main thread is read, where toolkit apps (Xt, GTK, Qt, Tk) draw; Chromium's
frames come from other threads, and the envs wait for those with a page round trip.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable


def _state(pid: int) -> str | None:
    """The process's one-letter state, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ")".
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3].decode()


def _children(pid: int) -> list[int]:
    """Children of every thread of ``pid`` (a child belongs to the thread that forked it)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found  # gone
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(c) for c in f.read().split())
        except OSError:
            continue  # the thread ended, or a kernel without the children file
    return found


def descendants(roots: Iterable[int]) -> list[int]:
    """``roots`` and every process below them."""
    seen: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo.extend(_children(pid))
    return seen


def running(pids: Iterable[int]) -> bool:
    """Whether any of ``pids`` is running or runnable."""
    return any(_state(pid) == "R" for pid in pids if pid != os.getpid())


def busy_check(roots: Callable[[], Iterable[int]]) -> Callable[[], bool]:
    """A check whether the process trees under ``roots()`` (read anew each time) work."""
    return lambda: running(descendants(roots()))
