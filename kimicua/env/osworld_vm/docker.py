"""OSWorld's docker provider: the user's qcow2 booted in OSWorld's published image.

As OSWorld's ``providers/docker`` does: ``happysixd/osworld-docker`` runs QEMU/KVM on
the disk image mounted read-only at /System.qcow2 (the VM's changes go to an overlay
inside the container, so a new container is a fresh VM), with the VM's server (5000),
Chrome DevTools (9222), the noVNC viewer (8006) and VLC's web interface (8080)
published on free host ports. Ports are chosen under a file lock shared by every
process on this machine, skipping ports that are bound or published by a container,
so parallel workers never collide. The provider waits until the VM's server answers
a screenshot, and stops (removes) the container on ``stop``.

Each container carries this process's pid as a label; starting a VM first removes
containers whose process is gone (what a killed run leaves behind).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kimicua.env.core import EnvError
from kimicua.env.osworld_vm.client import VmClient

IMAGE = "happysixd/osworld-docker"
VM_ENV = {"DISK_SIZE": "32G", "RAM_SIZE": "4G", "CPU_CORES": "4"}
READY_TIMEOUT_S = 600.0
LABEL = "kimicua.vm.pid"
LOCK_NAME = "kimicua-docker-ports.lock"
PORT_LIMIT = 65354


@dataclass(frozen=True, slots=True)
class VmPorts:
    """Host ports published for the VM's server, Chrome DevTools, noVNC and VLC."""

    server: int
    chrome: int
    vnc: int
    vlc: int

    def publish(self) -> list[str]:
        """``docker run -p`` arguments: host port -> the container's port."""
        pairs = ((self.server, 5000), (self.chrome, 9222), (self.vnc, 8006), (self.vlc, 8080))
        return [arg for host, inner in pairs for arg in ("-p", f"{host}:{inner}")]


def allocate_ports(is_free: Callable[[int], bool]) -> VmPorts:
    """The first free port from each of 5000, 9222, 8006 and 8080 upward, all distinct."""
    taken: set[int] = set()

    def first(start: int) -> int:
        for port in range(start, PORT_LIMIT):
            if port not in taken and is_free(port):
                taken.add(port)
                return port
        raise EnvError(f"no free port from {start} up for the VM")

    return VmPorts(server=first(5000), chrome=first(9222), vnc=first(8006), vlc=first(8080))


def port_bindable(port: int) -> bool:
    """True when nothing on this machine listens on ``port`` (any address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def published_ports(docker: str = "docker") -> set[int]:
    """Host ports that running containers publish (``docker ps``'s Ports column)."""
    out = subprocess.run([docker, "ps", "--format", "{{.Ports}}"], capture_output=True, text=True, timeout=30)
    return {int(p) for p in re.findall(r":(\d+)->", out.stdout)}


def missing_requirements(docker: str = "docker", kvm: str = "/dev/kvm") -> str | None:
    """What this machine lacks for the docker provider, or None."""
    binary = shutil.which(docker)
    if binary is None:
        return "docker is not installed"
    try:
        info = subprocess.run([binary, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"the docker engine does not answer ({err})"
    if info.returncode != 0 or not info.stdout.strip():
        lines = [ln for ln in (info.stderr or info.stdout).splitlines() if ln.strip()]
        return f"the docker engine does not answer ({lines[-1].strip() if lines else info.returncode})"
    if not os.path.exists(kvm):
        return f"{kvm} does not exist (KVM is off or not available in this machine)"
    if not os.access(kvm, os.R_OK | os.W_OK):
        return f"{kvm} is not readable and writable by this user (add it to the kvm group)"
    return None


def check_requirements(docker: str = "docker", kvm: str = "/dev/kvm") -> None:
    """EnvError, one line, unless docker and KVM are usable here."""
    why = missing_requirements(docker, kvm)
    if why is not None:
        raise EnvError(f"--provider docker needs docker and KVM on this machine: {why}")


def run_argv(image: Path, ports: VmPorts, *, name: str, docker: str = "docker", kvm: str = "/dev/kvm",
             owner: int | None = None) -> list[str]:
    """The ``docker run`` command of one VM (detached)."""
    env = [arg for k, v in VM_ENV.items() for arg in ("-e", f"{k}={v}")]
    return [docker, "run", "-d", "--name", name, "--label", f"{LABEL}={owner or os.getpid()}",
            "--cap-add", "NET_ADMIN", "--device", kvm, *env,
            "-v", f"{Path(image).resolve()}:/System.qcow2:ro", *ports.publish(), IMAGE]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(docker: str, container: str) -> None:
    subprocess.run([docker, "rm", "-f", "-v", container], capture_output=True, timeout=120)


def remove_orphans(docker: str = "docker") -> None:
    """Remove VMs whose owning process is gone."""
    out = subprocess.run([docker, "ps", "-a", "--filter", f"label={LABEL}", "--format",
                          f'{{{{.ID}}}} {{{{.Label "{LABEL}"}}}}'], capture_output=True, text=True, timeout=30)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            _remove(docker, parts[0])


class DockerVm:
    """One VM in OSWorld's docker image, from the user's ``image`` (a .qcow2 file)."""

    def __init__(self, image: str | Path, *, docker: str = "docker", kvm: str = "/dev/kvm",
                 ready_timeout: float = READY_TIMEOUT_S):
        self.image = Path(image).expanduser()
        if not self.image.is_file():
            raise EnvError(f"--vm-image {self.image}: no such file (OSWorld's Ubuntu.qcow2)")
        self.docker, self.kvm, self.ready_timeout = docker, kvm, ready_timeout
        self.container: str | None = None
        self.ports: VmPorts | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def chrome_port(self) -> int:
        return self.ports.chrome if self.ports else 9222

    @property
    def url(self) -> str:
        if self.ports is None:
            raise EnvError("the docker VM is not started")
        return f"http://127.0.0.1:{self.ports.server}"

    def start(self) -> str:
        """Start the container and wait for the VM's server; its URL."""
        check_requirements(self.docker, self.kvm)
        remove_orphans(self.docker)
        lock_path = Path(tempfile.gettempdir()) / LOCK_NAME
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # chosen and published before the next process looks
            used = published_ports(self.docker)
            self.ports = allocate_ports(lambda p: p not in used and port_bindable(p))
            name = f"kimicua-vm-{os.getpid()}-{self.ports.server}"
            out = subprocess.run(run_argv(self.image, self.ports, name=name, docker=self.docker, kvm=self.kvm),
                                 capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
            raise EnvError(f"docker run {IMAGE} failed: {lines[-1].strip() if lines else out.returncode}")
        self.container = out.stdout.strip()
        self._finalizer = weakref.finalize(self, _remove, self.docker, self.container)
        try:
            VmClient(self.url).wait_ready(self.ready_timeout)
        except EnvError:
            self.stop()
            raise
        return self.url

    def revert(self) -> str:
        """A fresh VM: the container (and its overlay) goes, a new one starts."""
        self.stop()
        return self.start()

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # removes the container once
            self._finalizer = None
        self.container = None
        self.ports = None
