"""The docker provider without docker: port allocation, the ``docker run`` command line,
the one-line "needs docker and KVM" error, and DockerVm's whole life against a fake
``docker`` whose containers are loopback HTTP servers answering /screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kimicua.env import EnvError
from kimicua.env.osworld_vm import docker as dk

KIMICUA = [str(Path(sys.executable).parent / "kimicua")]

# A stand-in for the docker CLI: `run` starts `python -m http.server` on the port
# published for 5000 (serving a folder with a PNG named "screenshot"), `ps` lists the
# ports of what runs, `rm -f` stops it; every call is appended to calls.log.
FAKE_DOCKER = '''#!{python}
import json, os, signal, subprocess, sys
state = {state!r}
args = sys.argv[1:]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps(args) + "\\n")
db = os.path.join(state, "containers.json")
containers = json.load(open(db)) if os.path.exists(db) else {{}}
if args[0] == "info":
    if os.path.exists(os.path.join(state, "no-engine")):
        sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
    print("27.3.1")
elif args[0] == "ps" and "-a" in args:
    for cid, c in containers.items():
        print(cid, c["owner"])
elif args[0] == "ps":
    for c in containers.values():
        print(", ".join(f"0.0.0.0:{{h}}->{{i}}/tcp" for h, i in c["ports"]))
elif args[0] == "run":
    ports = [tuple(map(int, args[i + 1].split(":"))) for i, a in enumerate(args) if a == "-p"]
    server = next(h for h, i in ports if i == 5000)
    owner = next(a.split("=", 1)[1] for a in args if a.startswith("kimicua.vm.pid="))
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(server), "--bind", "127.0.0.1",
                             "--directory", os.path.join(state, "www")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    cid = "c%d" % len(containers)
    containers[cid] = {{"ports": ports, "pid": proc.pid, "owner": owner}}
    print(cid)
elif args[0] == "rm":
    c = containers.pop(args[-1], None)
    if c:
        os.kill(c["pid"], signal.SIGTERM)
json.dump(containers, open(db, "w"))
'''


@pytest.fixture
def fake_docker(tmp_path):
    state = tmp_path / "docker"
    (state / "www").mkdir(parents=True)
    (state / "www" / "screenshot").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    binary = state / "docker"
    binary.write_text(FAKE_DOCKER.format(python=sys.executable, state=str(state)))
    binary.chmod(0o755)
    kvm = tmp_path / "kvm"
    kvm.write_bytes(b"")
    image = tmp_path / "Ubuntu.qcow2"
    image.write_bytes(b"QFI\xfb")
    yield {"docker": str(binary), "kvm": str(kvm), "image": image, "state": state}
    for line in subprocess.run([str(binary), "ps", "-a"], capture_output=True, text=True).stdout.splitlines():
        subprocess.run([str(binary), "rm", "-f", "-v", line.split()[0]], capture_output=True)


def vars_of(ports: dk.VmPorts) -> tuple[int, ...]:
    return ports.server, ports.chrome, ports.vnc, ports.vlc


def calls(fake) -> list[list[str]]:
    import json

    return [json.loads(line) for line in (fake["state"] / "calls.log").read_text().splitlines()]


def test_ports_start_at_osworlds_and_skip_taken_ones():
    assert dk.allocate_ports(lambda p: True) == dk.VmPorts(server=5000, chrome=9222, vnc=8006, vlc=8080)
    taken = {5000, 5001, 9222, 8006, 8007, 8008, 8080}
    ports = dk.allocate_ports(lambda p: p not in taken)
    assert ports == dk.VmPorts(server=5002, chrome=9223, vnc=8009, vlc=8081)
    # Ranges that meet never hand one port out twice.
    crowded = dk.allocate_ports(lambda p: not 8006 <= p < 8080)
    assert len({crowded.server, crowded.chrome, crowded.vnc, crowded.vlc}) == 4 and crowded.vnc == 8080
    assert crowded.vlc == 8081
    with pytest.raises(EnvError, match="no free port"):
        dk.allocate_ports(lambda p: False)


def test_docker_run_is_osworlds_command_line(tmp_path):
    image = tmp_path / "Ubuntu.qcow2"
    argv = dk.run_argv(image, dk.VmPorts(5003, 9224, 8010, 8082), name="kimicua-vm-1-5003", owner=42)
    assert argv[:4] == ["docker", "run", "-d", "--name"] and argv[-1] == "happysixd/osworld-docker"
    pairs = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("-")}
    assert pairs["--cap-add"] == "NET_ADMIN" and pairs["--device"] == "/dev/kvm"
    assert pairs["-v"] == f"{image.resolve()}:/System.qcow2:ro" and pairs["--label"] == "kimicua.vm.pid=42"
    published = [argv[i + 1] for i, a in enumerate(argv) if a == "-p"]
    assert published == ["5003:5000", "9224:9222", "8010:8006", "8082:8080"]
    envs = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    assert envs == ["DISK_SIZE=32G", "RAM_SIZE=4G", "CPU_CORES=4"]


def test_missing_docker_or_kvm_is_one_line(fake_docker, tmp_path):
    need = "needs docker and KVM on this machine: "
    with pytest.raises(EnvError, match=f"^--provider docker {need}docker is not installed$"):
        dk.check_requirements(docker=str(tmp_path / "no-docker"), kvm=fake_docker["kvm"])
    (fake_docker["state"] / "no-engine").touch()
    with pytest.raises(EnvError, match=need + r"the docker engine does not answer \(Cannot connect"):
        dk.check_requirements(docker=fake_docker["docker"], kvm=fake_docker["kvm"])
    (fake_docker["state"] / "no-engine").unlink()
    with pytest.raises(EnvError, match=need + ".*no-kvm does not exist"):
        dk.check_requirements(docker=fake_docker["docker"], kvm=str(tmp_path / "no-kvm"))
    dk.check_requirements(docker=fake_docker["docker"], kvm=fake_docker["kvm"])  # all there


def test_kimicua_run_says_what_is_missing_in_one_line(fake_docker, tmp_path):
    (fake_docker["state"] / "no-engine").touch()
    path = f"{Path(fake_docker['docker']).parent}:{os.environ['PATH']}"
    out = subprocess.run([*KIMICUA, "run", "desktop-terminal-hello-file", "--model", "scripted", "--provider",
                          "docker", "--vm-image", str(fake_docker["image"]), "--results", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PATH": path})
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "needs docker and KVM" in lines[0] and "docker engine does not answer" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_a_docker_vm_starts_waits_reverts_and_stops(fake_docker):
    first = dk.DockerVm(fake_docker["image"], docker=fake_docker["docker"], kvm=fake_docker["kvm"], ready_timeout=30)
    second = dk.DockerVm(fake_docker["image"], docker=fake_docker["docker"], kvm=fake_docker["kvm"], ready_timeout=30)
    try:
        url = first.start()  # returns once the "VM" answers a screenshot
        assert url == f"http://127.0.0.1:{first.ports.server}" and first.chrome_port == first.ports.chrome
        second.start()
        mine, theirs = first.ports, second.ports
        assert not set(vars_of(mine)) & set(vars_of(theirs))
        old = first.container
        first.revert()
        assert first.container != old and ["rm", "-f", "-v", old] in calls(fake_docker)
    finally:
        first.stop()
        second.stop()
    removed = [c[-1] for c in calls(fake_docker) if c[0] == "rm"]
    assert len(removed) == 3 and first.container is None
    first.stop()  # idempotent
    assert len([c for c in calls(fake_docker) if c[0] == "rm"]) == 3


def test_a_vm_that_never_answers_is_stopped_and_named(fake_docker):
    (fake_docker["state"] / "www" / "screenshot").unlink()
    vm = dk.DockerVm(fake_docker["image"], docker=fake_docker["docker"], kvm=fake_docker["kvm"], ready_timeout=1)
    with pytest.raises(EnvError, match="did not answer within 1s"):
        vm.start()
    assert [c for c in calls(fake_docker) if c[0] == "rm"] and vm.container is None


def test_containers_of_dead_runs_are_removed_first(fake_docker):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    env = {**os.environ, "PATH": f"{Path(fake_docker['docker']).parent}:{os.environ['PATH']}"}
    script = textwrap.dedent(f"""
        import subprocess
        from kimicua.env.osworld_vm.docker import VmPorts, run_argv
        argv = run_argv({str(fake_docker['image'])!r}, VmPorts(6100, 6101, 6102, 6103), name="old",
                        docker={fake_docker['docker']!r}, owner={dead.pid})
        subprocess.run(argv, check=True, capture_output=True)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    dk.remove_orphans(fake_docker["docker"])
    assert ["rm", "-f", "-v", "c0"] in calls(fake_docker)


def test_a_missing_image_is_named():
    with pytest.raises(EnvError, match="no-such.qcow2: no such file"):
        dk.DockerVm("/nonexistent/no-such.qcow2")
