"""Looking at the host's processes from a test: is a pid alive, who runs with a marker."""

from __future__ import annotations

from pathlib import Path


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except OSError:
        return False


def processes_with(marker: str) -> list[int]:
    """Live pids whose command line has ``marker`` as one of its arguments."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in args and alive(int(proc.name)):
            found.append(int(proc.name))
    return found
