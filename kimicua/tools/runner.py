"""Run tasks as episodes on this machine: one env per kind, one policy, one
trajectory directory per task in OSWorld's results layout.

Before the first task the runner locks the results directory, checks that the sandbox
can run and asks the model once, so a bad setup fails in seconds with one line
(``RunSetupError``). After that a failing episode (setup, env, model) is that task's
error and the run goes on; an env that cannot start fails its own tasks at once, and
the run stops early only when its first tasks all fail the same way.
"""

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
from kimicua.env.core import Env, EnvError, make_env
from kimicua.env.geometry import Size
from kimicua.env.guard import DEFAULT_DENY_KEYS, Guard, KeyGuard, UrlPolicy
from kimicua.env.sandbox import check_available
from kimicua.tasks.osworld import support
from kimicua.tasks.run import TaskRun
from kimicua.tasks.schema import Task
from kimicua.tools.lock import ResultsLock

EARLY_STOP = 3  # the first tasks all failing the same way: the rest would too


class RunSetupError(ValueError):
    """The run cannot start (results busy, no sandbox, model unreachable): one line."""


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
    model_name: str | None = None  # the results path's model folder; else from ``model``
    sandbox: bool = True
    network: bool = False
    allow_urls: tuple[str, ...] = ()
    deny_keys: tuple[str, ...] = DEFAULT_DENY_KEYS

    def guard(self) -> Guard:
        """A fresh guard for one env (the key guard tracks what that env holds down)."""
        return Guard(UrlPolicy(allow=self.allow_urls), KeyGuard(deny=self.deny_keys))


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


def model_dir_name(model: str, model_name: str | None = None) -> str:
    """The results path's model folder, from what the user typed alone: ``--model-name``,
    else the server's host_port (and path), a checkpoint's folder name, or the word.

    Seen: with a server the folder took the served model's id, which changed between
    runs, so a resume played finished tasks again."""
    if model_name:
        return _safe(model_name)
    text = model.strip()
    if text.startswith(("http://", "https://")):
        return _safe(text.split("://", 1)[1].rstrip("/").removesuffix("/v1"))
    return _safe(Path(text.rstrip("/")).name or text)


def episode_dir(opts: RunOptions, domain: str, task_id: str) -> Path:
    """OSWorld's layout: <results>/<action_space>/<observation>/<model>/<domain>/<task>."""
    return (opts.results / opts.dialect / "screenshot" / model_dir_name(opts.model, opts.model_name)
            / domain / task_id)


class Runner:
    """Plays tasks one after another, keeping envs and the model loaded between them."""

    def __init__(self, opts: RunOptions, on_event: Callable[[Event], None] | None = None,
                 approve: Approve | None = None):
        self.opts, self.on_event, self.approve = opts, on_event, approve
        self.envs: dict[str, Env] = {}
        self.broken: dict[str, str] = {}  # env kind -> why it cannot start
        self.policy: Policy | None = None
        self.lock = ResultsLock(opts.results)
        try:
            if opts.sandbox:
                try:
                    check_available()
                except EnvError as err:  # says so in one line, naming --no-sandbox
                    raise RunSetupError(str(err)) from None
            if opts.model != "scripted":
                self.policy = make_policy(opts.model, **opts.policy_options)
                self.policy.check()
        except BaseException:
            self.close(discard=True)
            raise

    @property
    def model_name(self) -> str:
        return model_dir_name(self.opts.model, self.opts.model_name)

    @property
    def notice(self) -> str | None:
        return self.policy.notice if self.policy else None

    def env(self, kind: str) -> Env:
        """The env of ``kind``, started on first use; an env that failed to start once is
        not tried again (its message stands for every task of that kind)."""
        if kind in self.broken:
            raise EnvError(self.broken[kind])
        if kind not in self.envs:
            o = self.opts
            try:
                self.envs[kind] = make_env(kind, size=o.screen, scale=o.scale, display=o.display,
                                           sandbox=o.sandbox, network=o.network, guard=o.guard())
            except (EnvError, OSError, ValueError) as err:
                text = str(err).strip()
                self.broken[kind] = f"the {kind} env cannot start: {text.splitlines()[0] if text else type(err).__name__}"
                raise EnvError(self.broken[kind]) from None
        return self.envs[kind]

    def run_task(self, domain: str, task: Task) -> Row:
        sup = support(task)
        if not sup.ok:
            return Row(domain, task.id, "unsupported", None, note=sup.describe())
        directory = episode_dir(self.opts, domain, task.id)
        if self.opts.resume and (directory / "result.txt").exists():
            score = float((directory / "result.txt").read_text())
            return Row(domain, task.id, "already done", score, directory=directory)
        try:
            env = self.env(task.env_kind)
        except EnvError as err:
            self._summarise(domain, EpisodeResult(task.id, "error", None, 0, 0, directory, 0.0, str(err)))
            return Row(domain, task.id, "error", None, note=str(err))
        with TaskRun(task, env) as run:
            policy = self.policy or ScriptedPolicy(run.solution(env))
            meta = EpisodeMeta(task_id=task.id, instruction=run.instruction, domain=domain,
                               model=self.model_name, dialect=self.opts.dialect, seed=self.opts.seed,
                               env=task.env_kind, screen=(env.screen.width, env.screen.height))
            with TrajectoryWriter(directory, meta, replace=not self.opts.resume) as writer:
                result = run_episode(env, run, policy, writer, self.opts.max_steps, self.on_event,
                                     self.approve, dialect=self.opts.dialect, max_images=self.opts.max_images,
                                     verdict=lambda: run.last_evaluation and run.last_evaluation.describe())
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
        rows: list[Row] = []
        for i, (domain, task) in enumerate(tasks):
            rows.append(row := self.run_task(domain, task))
            if row.status == "interrupted":
                break
            if (why := _same_failure(rows)) and len(tasks) > len(rows):
                note = f"not run: the first {len(rows)} tasks all failed with: {why}"
                rows += [Row(d, t.id, "skipped", None, note=note) for d, t in tasks[i + 1:]]
                break
        return rows

    def close(self, *, discard: bool = False) -> None:
        """End the envs and the model and let go of the results folder (``discard``: a run
        that never started leaves no folder behind)."""
        for env in self.envs.values():
            env.close()
        self.envs.clear()
        if self.policy is not None:
            self.policy.close()
            self.policy = None
        self.lock.release(discard=discard)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()



def _same_failure(rows: list[Row]) -> str | None:
    """The error shared by the run's first EARLY_STOP episodes, if they all failed alike."""
    ran = [r for r in rows if r.status not in ("unsupported", "already done")]
    if len(ran) == EARLY_STOP and all(r.status == "error" for r in ran) and len({r.note for r in ran}) == 1:
        return ran[0].note
    return None
