"""Episodes per minute on the built-in suite with its scripted solutions: 1 worker (the
runner in this process, as --workers 1 runs), and 2 and 4 Ray workers (each with its
own sandboxed desktop and browser; Ray's start is counted, as a user pays it).

Peer: the same suite played one episode after another with OSWorld's fixed waits, as
its harness does: 60 s after each reset and 20 s before each evaluation. Those are
plain sleeps, so the peer is our sequential time plus 80 s per episode (waiting them
out would take 40 minutes and measure nothing else). Everything shares this
machine's cores, so a figure per core is printed beside each.

    .venv/bin/python benchmarks/parallel.py [--workers 1 2 4] [--suite all] [--rollouts 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from kimicua.env.geometry import Size
from kimicua.tasks.suites import resolve
from kimicua.tools.runner import Runner, RunOptions

OSWORLD_WAIT_S = 60.0 + 20.0  # after reset, before evaluation (OSWorld's run loop)


def play(tasks, workers: int, rollouts: int, results: Path) -> tuple[float, int, int]:
    """(seconds, episodes, solved), Ray's start included for workers > 1 (a user pays it)."""
    opts = RunOptions(model="scripted", results=results, screen=Size(1920, 1080), max_steps=40,
                      rollouts=rollouts, workers=workers, resume=False)
    t = time.perf_counter()
    with Runner(opts) as runner:
        records = runner.run(tasks)
    elapsed = time.perf_counter() - t
    return elapsed, len(records), sum(r.score == 1.0 for r in records)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--suite", default="all")
    ap.add_argument("--rollouts", type=int, default=1)
    args = ap.parse_args()
    tasks = resolve(args.suite).tasks
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="kimicua-parallel-") as tmp:
        base, n, solved = play(tasks, 1, args.rollouts, Path(tmp) / "sequential")
        peer = base + OSWORLD_WAIT_S * n
        print(f"{n} episodes of '{args.suite}' on {cores} cores; every run solves them all: {solved}/{n}")
        print(f"peer, sequential with OSWorld's fixed waits: {n / peer * 60:7.2f} episodes/min")
        print(f"1 worker (this process):                     {n / base * 60:7.2f} episodes/min "
              f"({peer / base:5.1f}x the peer, {n / base * 60 / cores:.2f} per core)")
        for workers in (w for w in args.workers if w > 1):
            label = f"{workers} Ray workers"
            seconds, n, solved = play(tasks, workers, args.rollouts, Path(tmp) / f"w{workers}")
            rate = n / seconds * 60
            print(f"{label:<45}{rate:7.2f} episodes/min ({peer / seconds:5.1f}x the peer, "
                  f"{base / seconds:4.2f}x sequential, {rate / cores:.2f} per core; solved {solved}/{n})")


if __name__ == "__main__":
    main()
