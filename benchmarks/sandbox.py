"""What the episode sandbox costs: starting one per episode, and a command run in it.

Ours: a bubblewrap sandbox with its supervisor, from spawn to ready (what DesktopEnv
pays at every reset; goal < 50 ms), and a command run through it. Peer in the same
run: the same supervisor started as a plain process without bubblewrap, and the same
command run directly with subprocess: the ratios are what the isolation adds.
(OSWorld isolates by reverting a VM snapshot per task, about a minute; not measured.)

    .venv/bin/python benchmarks/sandbox.py [--reps 30]
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import time

from kimicua.env.sandbox import Layout, Sandbox, check_available
from kimicua.env.sandbox.bwrap import python_argv
from kimicua.env.sandbox.client import SUPERVISOR_SOURCE
from kimicua.env.workspace import Workspace


def plain_supervisor_start(runtime) -> float:
    """The supervisor as a plain process (no namespaces, no mounts), to ready."""
    for stale in runtime.glob("*.sock"):
        stale.unlink()
    read_fd, write_fd = os.pipe()
    t = time.perf_counter()
    proc = subprocess.Popen([*python_argv(), str(SUPERVISOR_SOURCE), "--runtime", str(runtime),
                             "--ready-fd", str(write_fd)], pass_fds=(write_fd,))
    os.close(write_fd)
    select.select([read_fd], [], [], 10)
    elapsed = time.perf_counter() - t
    os.close(read_fd)
    proc.kill()
    proc.wait()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    check_available()
    ws = Workspace(sandboxed=True)
    layout = Layout(home=ws.home, tmp=ws.tmp, runtime=ws.runtime)
    try:
        Sandbox(layout).close()  # warm the page cache: every episode after the first finds it warm
        starts, plain = [], []
        for _ in range(args.reps):  # alternated, so outside load hits both alike
            box = Sandbox(layout)
            starts.append(box.start_s)
            box.close()
            plain.append(plain_supervisor_start(ws.runtime))
        box = Sandbox(layout)
        inside, direct = [], []
        for _ in range(args.reps):
            t = time.perf_counter()
            box.run(["true"])
            inside.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run(["true"])
            direct.append(time.perf_counter() - t)
        box.close()
    finally:
        ws.close()
    ms = lambda v: statistics.median(v) * 1e3  # noqa: E731
    p90 = lambda v: sorted(v)[int(0.9 * (len(v) - 1))] * 1e3  # noqa: E731
    print(f"sandbox start per episode: median {ms(starts):.1f} ms (p90 {p90(starts):.1f}) | "
          f"plain supervisor {ms(plain):.1f} ms -> bubblewrap adds {ms(starts) / ms(plain):.2f}x; goal < 50 ms")
    print(f"command in the sandbox:    median {ms(inside):.2f} ms | subprocess.run directly "
          f"{ms(direct):.2f} ms -> {ms(inside) / ms(direct):.2f}x")


if __name__ == "__main__":
    main()
