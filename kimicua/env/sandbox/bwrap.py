"""The bubblewrap command line of a sandbox, and whether bubblewrap can run here.

Inside: the host's filesystem read-only; /root, /home, /run and /var/tmp empty; the
episode's home writable at /home/user (OSWorld's VM user, uid 1000); a private /tmp
with the X socket bound in; secrets (/etc/shadow, ssh host keys) hidden; own user,
PID, IPC and UTS namespaces, and an own network namespace (loopback only) unless the
network is allowed; killed when its parent dies.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kimicua.env.core import EnvError

HOME = "/home/user"
RUNTIME = "/run/kimicua"  # the shared runtime dir: control socket, relays, Xauthority
UID = GID = 1000
HIDDEN_DIRS = ("/root", "/home", "/run", "/var/tmp")
SECRET_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers")
SECRET_DIRS = ("/etc/ssh", "/etc/sudoers.d")
PASSED_ENV = ("LANG", "LANGUAGE", "TZ", "TERM")


class SandboxUnavailable(EnvError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True)
class Layout:
    """The host directories a sandbox is made of."""

    home: Path  # -> /home/user
    tmp: Path  # -> /tmp
    runtime: Path  # -> /run/kimicua
    display: str | None = None  # ":N": its socket is bound into /tmp/.X11-unix
    network: bool = False
    chromium_etc: Path | None = None  # -> /etc/chromium (managed URL policy)
    same_path: tuple[Path, ...] = ()  # extra host dirs bound read-write at their own path


def bwrap_binary() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable("the desktop sandbox needs bubblewrap, which is not installed "
                                 "(Debian: apt-get install bubblewrap); or run with --no-sandbox")
    return path


@functools.lru_cache(maxsize=1)
def check_available() -> None:
    """Raise SandboxUnavailable (one line, naming --no-sandbox) unless bwrap works here."""
    out = subprocess.run([bwrap_binary(), "--ro-bind", "/", "/", "--unshare-user", "--unshare-pid",
                          "--unshare-net", "--dev", "/dev", "--proc", "/proc", "--", "true"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        why = (out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1]
        raise SandboxUnavailable(f"bubblewrap cannot create a sandbox here ({why}); user namespaces "
                                 "may be disabled. Run with --no-sandbox to go without one (trusted "
                                 "models or a VM only)")


def _python_binds() -> list[str]:
    """Read-only binds for what the sandbox runs from the host that the private mounts would
    cover: the interpreter's prefixes (pyenv under /root; a venv, as named and resolved, in a
    hidden dir or /tmp) and, when this checkout itself sits under /tmp, the checkout (its
    apps and scripts). A checkout under /root or /home stays hidden: it may hold secrets.
    They come after the /tmp and home mounts, which would otherwise cover them."""
    under = (*HIDDEN_DIRS, "/tmp")
    paths = {os.path.realpath(sys.base_prefix), os.path.dirname(os.path.realpath(sys.executable)),
             os.path.abspath(sys.prefix), os.path.realpath(sys.prefix)}
    checkout = str(Path(__file__).resolve().parents[3])
    if checkout == "/tmp" or checkout.startswith("/tmp/"):
        paths.add(checkout)
    args = []
    for path in sorted(paths):
        if os.path.isdir(path) and any(path == d or path.startswith(d + "/") for d in under):
            args += ["--ro-bind", path, path]
    return args


def python_argv() -> list[str]:
    """The interpreter, isolated (-I) and without site-packages (-S): the supervisor
    needs the standard library only."""
    return [os.path.realpath(sys.executable), "-I", "-S"]


def write_identity(runtime: Path) -> None:
    """passwd/group files that name uid 1000 ``user`` with home /home/user."""
    def entries(path: str, ours: str, field: int) -> str:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            lines = []
        keep = [ln for ln in lines if ln.split(":")[0] != "user"
                and (ln.split(":")[field:field + 1] or [""])[0] != str(UID)]
        return "\n".join([*keep, ours]) + "\n"

    (runtime / "passwd").write_text(entries("/etc/passwd", f"user:x:{UID}:{GID}:user:{HOME}:/bin/bash", 2))
    (runtime / "group").write_text(entries("/etc/group", f"user:x:{GID}:", 2))


def bwrap_argv(layout: Layout) -> list[str]:
    """bwrap's arguments up to (and including) ``--``."""
    args = [bwrap_binary(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for d in HIDDEN_DIRS:
        if os.path.isdir(d):
            args += ["--tmpfs", d]
    args += ["--bind", str(layout.tmp), "/tmp", "--bind", str(layout.home), HOME,
             "--bind", str(layout.runtime), RUNTIME]
    args += _python_binds()
    for f in SECRET_FILES:
        if os.path.exists(f):
            args += ["--ro-bind", "/dev/null", f]
    for d in SECRET_DIRS:
        if os.path.isdir(d):
            args += ["--tmpfs", d]
    args += ["--ro-bind", str(layout.runtime / "passwd"), "/etc/passwd",
             "--ro-bind", str(layout.runtime / "group"), "/etc/group"]
    if layout.chromium_etc is not None and os.path.isdir("/etc/chromium"):
        args += ["--ro-bind", str(layout.chromium_etc), "/etc/chromium"]
    if layout.display is not None:
        number = layout.display.lstrip(":").split(".")[0]
        x_socket = f"/tmp/.X11-unix/X{number}"
        if os.path.exists(x_socket):
            args += ["--bind", x_socket, x_socket]
    for path in layout.same_path:
        args += ["--bind", str(path), str(path)]
    args += ["--unshare-user", "--uid", str(UID), "--gid", str(GID), "--unshare-pid",
             # The host's own name: a window manager marks a client of another host in
             # its title ("Terminal (sandbox)"), which the model would see.
             "--unshare-ipc", "--unshare-uts", "--hostname", socket.gethostname(), "--die-with-parent",
             "--new-session"]
    if not layout.network:
        args.append("--unshare-net")
    args += ["--clearenv", "--chdir", HOME]
    env = {"HOME": HOME, "USER": "user", "LOGNAME": "user", "SHELL": "/bin/bash", "TMPDIR": "/tmp",
           "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
           "XDG_RUNTIME_DIR": f"{RUNTIME}/xdg", "XDG_SESSION_TYPE": "x11"}
    if layout.display is not None:
        env.update(DISPLAY=layout.display, XAUTHORITY=f"{RUNTIME}/Xauthority")
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    env.update({k: v for k, v in os.environ.items() if k.startswith("LC_")})
    for k, v in env.items():
        args += ["--setenv", k, v]
    return [*args, "--"]
