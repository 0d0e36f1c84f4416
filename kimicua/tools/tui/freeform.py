"""A free-form episode: an instruction typed on the start screen, played on the
desktop or in the browser with no task file, no setup and no evaluator (its score
is None: no result.txt, the verdict says "no evaluator").

It uses the runner's own env, policy and results file (``Runner.local``), so it is
recorded in the same layout as any episode: ``<run dir>/freeform/<id>/``.
"""

from __future__ import annotations

import hashlib
import time

from kimicua.agent.backends.scripted import ScriptedPolicy
from kimicua.agent.episode import Approve, run_episode
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter
from kimicua.env.actions import Action
from kimicua.env.core import Env, EnvError
from kimicua.tools.runner import Record, Runner, episode_dir

DOMAIN = "freeform"


class FreeTask:
    """The episode loop's TaskLike for a typed instruction."""

    def __init__(self, instruction: str, env_kind: str, when: float | None = None):
        if env_kind not in ("desktop", "browser"):
            raise ValueError(f"a free-form episode runs on the desktop or in the browser, not {env_kind!r}")
        self.instruction = " ".join(instruction.split())
        if not self.instruction:
            raise ValueError("a free-form episode needs an instruction")
        self.env_kind = env_kind
        # A new folder per episode: the time it started and the instruction's digest.
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
        digest = hashlib.sha1(self.instruction.encode()).hexdigest()[:6]
        self.id = f"{env_kind}-{stamp}-{digest}"

    def setup(self, env: Env) -> None:
        """Nothing to prepare: the agent starts on the env's fresh screen."""

    def evaluate(self, env: Env, actions: list[Action]) -> float | None:
        """No evaluator: the episode has no score."""
        return None


def play_freeform(runner: Runner, task: FreeTask, approve: Approve | None = None) -> Record:
    """Play ``task`` with the runner's env and policy (``scripted`` has no actions to
    play for it: it ends at once) and record it in the runner's results."""
    local, opts = runner.local, runner.opts
    if local is None:
        raise ValueError("a free-form episode runs in this process (one worker)")
    try:
        env = local.env(task.env_kind)
    except EnvError as err:
        record = Record(DOMAIN, task.id, "error", None, error=str(err))
        runner.results.add(record)
        return record
    policy = local.policy or ScriptedPolicy([])
    directory = episode_dir(opts, DOMAIN, task.id)
    meta = EpisodeMeta(task_id=task.id, instruction=task.instruction, domain=DOMAIN, model=runner.model_name,
                       dialect=opts.dialect, seed=opts.seed, rollout=0, group=f"{DOMAIN}/{task.id}",
                       env=task.env_kind, screen=(env.screen.width, env.screen.height))
    with TrajectoryWriter(directory, meta) as writer:
        result = run_episode(env, task, policy, writer, opts.max_steps, local.on_event, approve or local.approve,
                             dialect=opts.dialect, max_images=opts.max_images)
    if result.status == "error":  # the world may be broken: the next episode gets a new one
        local.envs.pop(task.env_kind).close()
    record = Record(DOMAIN, task.id, result.status, result.score, steps=result.steps, turns=result.turns,
                    seconds=result.duration_s, error=result.error, directory=directory)
    runner.results.add(record)
    return record
