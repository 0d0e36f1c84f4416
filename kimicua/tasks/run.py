"""TaskRun: one task bound to one episode's workdir and page server.

This is the object the episode loop takes (the agent package never imports tasks):
``id``, ``instruction``, ``env_kind``, ``setup(env)``, ``evaluate(env, actions)``,
``solution(env)`` and ``close()``.

The episode's files live in the env's home (``{workdir}``/``{home}``, /home/user in
the sandbox); the TaskRun's own temp folder holds only the evaluator's cache, which
the env's apps never see.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Sequence

from kimicua.env import lifetime
from kimicua.env.actions import Action
from kimicua.tasks.context import RunContext, mentions, substitute
from kimicua.tasks.evaluate import Evaluation, evaluate
from kimicua.tasks.pages import BUILTIN_PAGES, PageServer
from kimicua.tasks.risk import needs_network
from kimicua.tasks.schema import Task
from kimicua.tasks.setup import SetupError, UnsupportedStep, run_steps
from kimicua.tasks.solution import solution_actions


def pages_root(task: Task) -> Path:
    """The folder served at ``{pages}``: the task's ``kimicua.pages`` (relative to its
    file) or the built-in pages."""
    if task.kimicua and task.kimicua.pages:
        base = task.origin.parent if task.origin else Path.cwd()
        return (base / task.kimicua.pages).resolve()
    return BUILTIN_PAGES


class TaskRun:
    """A task ready to play: a fresh temp workdir, and a page server if the task uses one."""

    def __init__(self, task: Task, env=None):
        """``env``, when known, names the home the instruction shows (else setup does)."""
        self.task = task
        self.last_evaluation: Evaluation | None = None
        self._workdir = lifetime.tempdir("task")
        self._server: PageServer | None = None
        try:
            if mentions(task.model_dump(), "pages"):
                self._server = PageServer(pages_root(task))
        except BaseException:
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise
        files = tuple(p for p in (task.origin.parent if task.origin else None, pages_root(task)) if p)
        self.ctx = RunContext(self._workdir, self._server.url if self._server else None,
                              home=env.home if env is not None else None, files=files)

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def env_kind(self) -> str:
        return self.task.env_kind

    @property
    def instruction(self) -> str:
        return substitute(self.task.instruction, self.ctx.variables())

    @property
    def workdir(self) -> Path:
        return self._workdir

    def setup(self, env) -> None:
        """Give the env what the task needs (network, the page server), empty the
        cache, and perform the task's setup steps (SetupError, one line)."""
        self.ctx = replace(self.ctx, screen=env.screen, home=env.home)
        shutil.rmtree(self.ctx.cache, ignore_errors=True)
        try:
            if needs_network(self.task):
                env.enable_network()
            if self._server is not None:
                env.expose_port(self._server.port)
            run_steps(self.task.config, env, self.ctx)
        except UnsupportedStep:
            raise  # already names the step type; callers tell "unsupported" from "failed"
        except SetupError as err:
            raise SetupError(f"task {self.id}: {err}") from None

    def evaluate(self, env, actions: Sequence[Action]) -> float:
        """The episode's score in 0..1; details in ``last_evaluation``."""
        self.last_evaluation = evaluate(self.task.evaluator, env, self.ctx, list(actions))
        return self.last_evaluation.score

    def solution(self, env) -> Iterator[Action]:
        """The scripted solution, resolved lazily against the live screen."""
        return solution_actions(self.task, env, self.ctx)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> TaskRun:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
