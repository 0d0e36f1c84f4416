"""The bubblewrap sandbox on its own: what is visible, writable and reachable inside."""

from __future__ import annotations

import functools
import http.server
import os
import secrets
import socket
import threading
import urllib.request
from pathlib import Path

import pytest
from proc_tools import processes_with

from kimicua.env import lifetime
from kimicua.env.core import EnvError
from kimicua.env.sandbox import HOME, Layout, Sandbox, check_available
from kimicua.env.workspace import Workspace

try:
    check_available()
    _why = None
except EnvError as err:
    _why = str(err)
pytestmark = pytest.mark.skipif(_why is not None, reason=f"no sandbox here: {_why}")


@pytest.fixture
def workspace():
    ws = Workspace(sandboxed=True)
    yield ws
    ws.close()


@pytest.fixture
def sandbox(workspace):
    box = Sandbox(Layout(home=workspace.home, tmp=workspace.tmp, runtime=workspace.runtime))
    yield box
    box.close()


@pytest.fixture
def host_server():
    """A loopback HTTP server on the host (like a task's page server)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(Path(__file__).parent / "pages"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def sh(box: Sandbox, script: str) -> str:
    result = box.run(script, shell=True)
    return result.stdout + result.stderr


def test_the_user_is_osworlds_with_a_private_writable_home(sandbox, workspace):
    assert sandbox.run(["id", "-un"]).stdout.strip() == "user"
    # The host's name: openbox titles a client of another host "Terminal (other)".
    assert sandbox.run(["hostname"]).stdout.strip() == socket.gethostname()
    assert sh(sandbox, "echo $HOME; pwd").split() == [HOME, HOME]
    assert sandbox.run("echo hi > ~/note.txt", shell=True).returncode == 0
    assert (workspace.home / "note.txt").read_text() == "hi\n"


def test_the_host_is_read_only_and_its_homes_and_secrets_hidden(sandbox):
    secret = Path.home() / f".kimicua-secret-{secrets.token_hex(4)}"
    secret.write_text("do not read")
    canaries = [Path(d) / f"kimicua-canary-{secrets.token_hex(4)}" for d in ("/var/tmp", "/tmp", str(Path.home()))]
    try:
        assert "do not read" not in sh(sandbox, f"cat {secret}")
        assert sandbox.run(["cat", "/etc/shadow"]).stdout == ""
        assert sandbox.run(["touch", "/usr/kimicua-canary"]).returncode != 0  # read-only root
        for canary in canaries:
            sandbox.run(["touch", str(canary)])
            assert not canary.exists()
        assert not Path("/usr/kimicua-canary").exists()
    finally:
        secret.unlink()


def test_no_network_but_an_exposed_host_port(sandbox, host_server):
    get = f"python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{host_server}/events.html', timeout=3).status)\""
    assert sandbox.run(get, shell=True).returncode != 0  # its own loopback: nothing listens there
    assert sandbox.run("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 80), 2)\"",
                       shell=True).returncode != 0
    sandbox.expose(host_server)
    assert sh(sandbox, get).strip() == "200"


def test_the_host_reaches_a_port_inside_through_forward(sandbox, poll):
    sandbox.launch(["python3", "-m", "http.server", "8765", "--bind", "127.0.0.1", "--directory", "/etc"])
    port = sandbox.forward(8765)  # a free port of the host's loopback

    def fetch():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=2).read()
        except OSError:
            return None  # the server inside is still starting

    assert poll(fetch) == Path("/etc/hostname").read_bytes()


def test_kill_all_ends_even_what_daemonised_itself(sandbox, poll):
    sandbox.launch("sleep 301 & setsid sleep 302 &", shell=True)
    sandbox.launch(["sleep", "303"])
    assert poll(lambda: _sleeps(sandbox) == {"301", "302", "303"})
    sandbox.kill_all(grace=0.5)
    assert _sleeps(sandbox) == set()
    assert sandbox.alive()  # the supervisor stays for the next command


def _sleeps(box: Sandbox) -> set[str]:
    out = box.run(["ps", "-eo", "args="]).stdout.split("\n")
    return {line.split()[1] for line in out if line.startswith("sleep ")}


def test_commands_time_out_and_missing_programs_are_results(sandbox):
    assert sandbox.run(["sleep", "5"], timeout=0.3).returncode == 124
    assert sandbox.run(["no-such-program-kimicua"]).returncode == 127
    with pytest.raises(EnvError, match="in the sandbox"):
        sandbox.launch(["no-such-program-kimicua"])


def test_closing_the_sandbox_ends_everything_inside(workspace, poll):
    box = Sandbox(Layout(home=workspace.home, tmp=workspace.tmp, runtime=workspace.runtime))
    marker = f"304.{os.getpid()}"
    box.launch(["sleep", marker])
    assert poll(lambda: processes_with(marker))
    box.close()
    assert poll(lambda: not processes_with(marker))
    with pytest.raises(EnvError, match="exited"):
        box.run(["true"])


def test_host_path_maps_app_paths_and_refuses_escapes(workspace):
    assert workspace.host_path("/home/user/a/b.txt") == workspace.home / "a" / "b.txt"
    assert workspace.host_path("~/c") == workspace.home / "c"
    assert workspace.host_path("rel.txt") == workspace.home / "rel.txt"
    assert workspace.host_path("/tmp/x") == workspace.tmp / "x"
    assert workspace.host_path("/etc/hostname") == Path("/etc/hostname")  # visible, read-only
    with pytest.raises(EnvError, match="not visible inside the sandbox"):
        workspace.host_path(str(Path.home() / ".ssh" / "id_rsa"))  # the invoking user's home is hidden
    with pytest.raises(EnvError, match="not visible"):
        workspace.host_path("/etc/shadow")
    with pytest.raises(EnvError, match="outside the episode's home"):
        workspace.host_path("/etc/hostname", write=True)
    with pytest.raises(EnvError, match="outside the episode's home"):
        workspace.host_path("/home/user/../../etc/passwd", write=True)
    (workspace.home / "link").symlink_to("/root")
    with pytest.raises(EnvError, match="not visible"):
        workspace.host_path("~/link/secret")


def test_stale_temp_dirs_of_dead_owners_are_swept(tmp_path):
    dead = tmp_path / "kimicua-env-999999999-abc"  # no such pid
    mine = tmp_path / f"kimicua-env-{os.getpid()}-abc"
    other = tmp_path / "unrelated-999999999"
    for d in (dead, mine, other):
        d.mkdir()
    assert lifetime.sweep_stale(tmp_path) == [dead]
    assert not dead.exists() and mine.exists() and other.exists()


def test_a_venv_under_tmp_stays_visible_behind_the_private_tmp(tmp_path, monkeypatch):
    """A venv (or pyenv) in a dir the sandbox covers is bound read-only AFTER the private /tmp
    and home, which would otherwise hide it: a checkout cloned into /tmp ran no app before."""
    import sys

    from kimicua.env.sandbox import bwrap

    venv = Path("/tmp") / f"kimicua-venv-{secrets.token_hex(4)}"
    venv.mkdir()
    try:
        monkeypatch.setattr(sys, "prefix", str(venv))
        argv = bwrap.bwrap_argv(Layout(home=tmp_path / "h", tmp=tmp_path / "t", runtime=tmp_path / "r"))
        private_tmp = argv.index("/tmp", argv.index(str(tmp_path / "t")))
        bound = [i for i in range(len(argv) - 2) if argv[i : i + 3] == ["--ro-bind", str(venv), str(venv)]]
        assert bound and bound[0] > private_tmp
    finally:
        venv.rmdir()
