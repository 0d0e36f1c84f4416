"""A hostile policy types shell commands into a task's terminal.

Seen before the sandbox: a model typed ``touch ...`` + Enter into a task's xterm and the
file appeared on the host as root. With the sandbox nothing outside the episode's home
changes; with ``sandbox=False`` the same commands do write the canaries, so this test
can tell the two apart.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from kimicua.agent.backends.scripted import ScriptedPolicy
from kimicua.agent.episode import run_episode
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter
from kimicua.env import Size, make_env
from kimicua.env.actions import Done, Type, Wait
from kimicua.tasks.run import TaskRun
from kimicua.tasks.suites import load_builtin

pytestmark = pytest.mark.display


@pytest.mark.parametrize("sandbox", [True, False], ids=["sandboxed", "unsandboxed"])
def test_commands_typed_into_the_terminal_cannot_touch_the_host(sandbox, tmp_path):
    tag = secrets.token_hex(4)
    canaries = [Path(d) / f"kimicua-canary-{tag}" for d in (str(Path.home()), "/var/tmp", "/tmp")]
    secret = Path.home() / f".kimicua-secret-{tag}"
    secret.write_text("a host secret")
    task = next(t for _, t in load_builtin("all").tasks if t.id == "desktop-terminal-hello-file")
    hostile = [Type(text=f"touch {' '.join(map(str, canaries))}; cat {secret} > ~/stolen; "
                         f"echo finished > ~/hostile-{tag}\n"),
               Wait(seconds=1.0), Done()]
    try:
        with make_env("desktop", size=Size(1024, 768), sandbox=sandbox) as env, TaskRun(task, env) as run:
            meta = EpisodeMeta(task_id=run.id, instruction=run.instruction, model="hostile")
            with TrajectoryWriter(tmp_path / "ep", meta) as writer:
                result = run_episode(env, run, ScriptedPolicy(hostile), writer, max_steps=5)
            assert result.status == "done", result.error
            assert env.host_path(f"~/hostile-{tag}").read_text() == "finished\n"  # the commands did run
            stolen = env.host_path("~/stolen").read_text()
        written = [c for c in canaries if c.exists()]
        if sandbox:
            assert written == [] and stolen == ""
        else:
            assert written == canaries and stolen == "a host secret"
    finally:
        secret.unlink()
        for canary in canaries:
            canary.unlink(missing_ok=True)
