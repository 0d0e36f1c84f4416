"""Run tasks as episodes on this machine: one env per kind, one policy, one
trajectory directory per task in OSWorld's results layout."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kimicua.agent.backends import make_policy
from kimicua.agent.backends.scripted import ScriptedPolicy
from kimicua.agent.episode import Approve, run_episode
from kimicua.agent.events import EpisodeResult, Event
from kimicua.agent.policy import Policy
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter, timestamp
from kimicua.env.core import Env, make_env
from kimicua.env.geometry import Size
from kimicua.tasks.osworld import support
from kimicua.tasks.run import TaskRun
from kimicua.tasks.schema import Task


@dataclass(frozen=True)
class RunOptions:
    model: str = "tiny"
    dialect: str = "kimi"
    results: Path = Path("runs")
    max_steps: int = 15
    screen: Size = Size(1920, 1080)
    scale: float = 1.0
    display: str | None = None
    seed: int | None = 0
    max_images: int = 3
    resume: bool = True
    policy_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One task's line in the results table."""

    domain: str
    task_id: str
    status: str
    score: float | None
    steps: int = 0
    seconds: float = 0.0
    directory: Path | None = None
    note: str | None = None


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "model"


def episode_dir(opts: RunOptions, model_name: str, domain: str, task_id: str) -> Path:
    """OSWorld's layout: <results>/<action_space>/<observation>/<model>/<domain>/<task>."""
    return opts.results / opts.dialect / "screenshot" / _safe(model_name) / domain / task_id


class Runner:
    """Plays tasks one after another, keeping envs and the model loaded between them."""

    def __init__(self, opts: RunOptions, on_event: Callable[[Event], None] | None = None,
                 approve: Approve | None = None):
        self.opts, self.on_event, self.approve = opts, on_event, approve
        self.envs: dict[str, Env] = {}
        self.policy: Policy | None = None
        if opts.model != "scripted":
            self.policy = make_policy(opts.model, **opts.policy_options)

    @property
    def model_name(self) -> str:
        return self.policy.name if self.policy else "scripted"

    @property
    def notice(self) -> str | None:
        return self.policy.notice if self.policy else None

    def env(self, kind: str) -> Env:
        if kind not in self.envs:
            self.envs[kind] = make_env(kind, size=self.opts.screen, scale=self.opts.scale,
                                       display=self.opts.display)
        return self.envs[kind]

    def run_task(self, domain: str, task: Task) -> Row:
        sup = support(task)
        if not sup.ok:
            return Row(domain, task.id, "unsupported", None, note=sup.describe())
        directory = episode_dir(self.opts, self.model_name, domain, task.id)
        if self.opts.resume and (directory / "result.txt").exists():
            score = float((directory / "result.txt").read_text())
            return Row(domain, task.id, "already done", score, directory=directory)
        env = self.env(task.env_kind)
        with TaskRun(task) as run:
            policy = self.policy or ScriptedPolicy(run.solution(env))
            meta = EpisodeMeta(task_id=task.id, instruction=run.instruction, domain=domain,
                               model=self.model_name, dialect=self.opts.dialect, seed=self.opts.seed,
                               env=task.env_kind, screen=(env.screen.width, env.screen.height))
            with TrajectoryWriter(directory, meta) as writer:
                result = run_episode(env, run, policy, writer, self.opts.max_steps, self.on_event,
                                     self.approve, dialect=self.opts.dialect, max_images=self.opts.max_images)
            if policy is not self.policy:
                policy.close()
        if result.status == "error":
            # The world may be broken (a crashed browser): the next task gets a new one.
            self.envs.pop(task.env_kind).close()
        self._summarise(domain, result)
        return Row(domain, task.id, result.status, result.score, result.steps, result.duration_s,
                   directory, result.error)

    def _summarise(self, domain: str, result: EpisodeResult) -> None:
        """Append OSWorld's per-task summary line under the results root."""
        self.opts.results.mkdir(parents=True, exist_ok=True)
        line = {"application": domain, "task_id": result.task_id, "status": result.status,
                "score": result.score, "timestamp": timestamp(time.time()),
                "model": self.model_name, "steps": result.steps}
        with open(self.opts.results / "summary.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def run(self, tasks: list[tuple[str, Task]]) -> list[Row]:
        rows = []
        for domain, task in tasks:
            rows.append(row := self.run_task(domain, task))
            if row.status == "interrupted":
                break
        return rows

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        self.envs.clear()
        if self.policy is not None:
            self.policy.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

