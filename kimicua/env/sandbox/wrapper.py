"""A program that runs another inside a sandbox: what Playwright launches.

Playwright starts its browser itself (and talks to it over fds 3 and 4), so the
browser env hands it, as the executable, a small script that execs bubblewrap with
the supervisor around the real Chromium; the env then reaches the supervisor through
the runtime dir (``SandboxControl``).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from kimicua.env.sandbox.bwrap import Layout, bwrap_argv
from kimicua.env.sandbox.client import prepare_runtime, supervisor_argv


def write_wrapper(layout: Layout, command: list[str], *, xauthority: str | None = None,
                  name: str = "sandboxed") -> Path:
    """An executable ``runtime/<name>`` that runs ``command`` plus the arguments it is
    given inside the sandbox ``layout`` describes."""
    prepare_runtime(layout, xauthority)
    argv = [*bwrap_argv(layout), *supervisor_argv("--exec", *command)]
    path = layout.runtime / name
    path.write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
    os.chmod(path, 0o755)
    return path
