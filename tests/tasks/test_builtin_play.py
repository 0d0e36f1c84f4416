"""Every built-in task, played for real on Xvfb and Chromium at two screen sizes.

One episode per (size, task): right after setup, doing nothing must score 0 (for
an infeasible task, so must a final Done); then the scripted solution must score 1.
Every screen the play observes must show something: a frame of one flat colour is
what a model would be shown instead of the task's page or windows (as a browser
capture of a scrolled page once was). Envs are shared per kind and size (module
fixture) and reset between tasks.
"""

from __future__ import annotations

import shutil

import pytest

from kimicua.env.actions import Done
from kimicua.env.geometry import Size
from kimicua.tasks.run import TaskRun
from kimicua.tasks.suites import load_builtin

pytestmark = [pytest.mark.display, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(90)]

MISSING = [p for p in ("Xvfb", "chromium", "xterm", "mousepad", "openbox") if shutil.which(p) is None]
if MISSING:
    pytestmark.append(pytest.mark.skip(reason=f"not installed: {', '.join(MISSING)}"))

SIZES = [Size(1920, 1080), Size(1280, 800)]
TASKS = [task for _, task in load_builtin("all").tasks]


class EnvPool:
    """One env per kind for the current size; asking for another size closes them."""

    def __init__(self):
        self.size: Size | None = None
        self.envs: dict[str, object] = {}

    def get(self, kind: str, size: Size):
        from kimicua.env.core import make_env

        if size != self.size:
            self.close()
            self.size = size
        if kind not in self.envs:
            self.envs[kind] = make_env(kind, size=size)
        return self.envs[kind]

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        self.envs.clear()


@pytest.fixture(scope="module")
def pool():
    envs = EnvPool()
    yield envs
    envs.close()


def assert_shows_something(obs, where: str) -> None:
    image = obs.screenshot
    flat = bool((image == image[0, 0]).all())
    assert not flat, f"{where}: every pixel is {tuple(image[0, 0].tolist())}"


def play_solution(run: TaskRun, env) -> list:
    actions = []
    for action in run.solution(env):
        obs, _, terminated, _, info = env.step(action)
        assert info["result"].ok, f"{run.id}: {action} failed: {info['result'].error}"
        assert_shows_something(obs, f"{run.id}: the frame after step {len(actions) + 1} ({action})")
        actions.append(action)
        if terminated:
            break
    return actions


@pytest.mark.parametrize("size, task", [(s, t) for s in SIZES for t in TASKS],
                         ids=[f"{s}-{t.id}" for s in SIZES for t in TASKS])
def test_builtin_task_scores_zero_untouched_and_one_when_solved(pool, size, task):
    env = pool.get(task.env_kind, size)
    with TaskRun(task) as run:
        env.reset()
        run.setup(env)
        assert_shows_something(env.observe(), f"{run.id}: the frame after setup")
        assert run.evaluate(env, []) == 0.0, f"doing nothing scored: {run.last_evaluation}"
        if task.evaluator.infeasible:
            assert run.evaluate(env, [Done()]) == 0.0
        actions = play_solution(run, env)
        score = run.evaluate(env, actions)
        assert score == 1.0, f"solution scored {score}: {run.last_evaluation}"


@pytest.mark.parametrize("task_id, status", [("browser-todo-add-and-complete", "done"),
                                             ("infeasible-klingon", "fail"),
                                             ("desktop-editor-release-status", "done")])
def test_task_run_drives_the_agent_episode_loop(pool, tmp_path, task_id, status):
    from kimicua.agent.backends.scripted import ScriptedPolicy
    from kimicua.agent.episode import run_episode
    from kimicua.agent.trajectory.schema import EpisodeMeta
    from kimicua.agent.trajectory.writer import TrajectoryWriter

    task = next(t for t in TASKS if t.id == task_id)
    env = pool.get(task.env_kind, SIZES[-1])
    with TaskRun(task) as run:
        policy = ScriptedPolicy(run.solution(env))
        meta = EpisodeMeta(task_id=run.id, instruction=run.instruction, model=policy.name)
        with TrajectoryWriter(tmp_path / "ep", meta) as writer:
            result = run_episode(env, run, policy, writer, max_steps=30)
    assert (result.status, result.score, result.error) == (status, 1.0, None)
    assert result.steps == len(task.kimicua.solution)
    assert float((tmp_path / "ep" / "result.txt").read_text()) == 1.0
    steps = (tmp_path / "ep" / "traj.jsonl").read_text().splitlines()
    assert len(steps) == result.steps
