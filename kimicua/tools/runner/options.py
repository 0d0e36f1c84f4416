"""What a run is asked to do (RunOptions), what it plays (Job), what each episode
gave (Record), and where each episode's directory is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kimicua.env.geometry import Size
from kimicua.env.guard import DEFAULT_DENY_KEYS, Guard, KeyGuard, UrlPolicy
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
    seed: int = 0
    rollouts: int = 1  # episodes per task, seeds seed..seed+rollouts-1: a group for GRPO
    max_images: int = 3
    resume: bool = True
    policy_options: dict[str, Any] = field(default_factory=dict)
    model_name: str | None = None  # the results path's model folder; else from ``model``
    sandbox: bool = True
    network: bool = False
    allow_urls: tuple[str, ...] = ()
    deny_keys: tuple[str, ...] = DEFAULT_DENY_KEYS
    workers: int = 1  # > 1: episodes in parallel on Ray
    ray_address: str | None = None  # join this Ray cluster instead of starting one here
    env: str | None = None  # play every task on this env kind (osworld-vm) instead of its own
    vms: tuple[str, ...] = ()  # OSWorld VM servers (http://HOST:5000), one per worker
    provider: str | None = None  # "docker": each worker boots vm_image in OSWorld's image
    vm_image: Path | None = None  # the OSWorld VM disk (.qcow2) for the provider

    def guard(self) -> Guard:
        """A fresh guard for one env (the key guard tracks what that env holds down)."""
        return Guard(UrlPolicy(allow=self.allow_urls), KeyGuard(deny=self.deny_keys))


@dataclass(frozen=True)
class Job:
    """One episode to play: a task, its rollout index and seed."""

    domain: str
    task: Task
    rollout: int
    seed: int

    @property
    def key(self) -> tuple[str, str, int]:
        return self.domain, self.task.id, self.rollout


@dataclass(frozen=True)
class Record:
    """One episode's line in results.json and in the results table."""

    domain: str
    task_id: str
    status: str
    score: float | None
    rollout: int = 0
    steps: int = 0
    turns: int = 0
    seconds: float = 0.0
    error: str | None = None
    directory: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"domain": self.domain, "task_id": self.task_id, "rollout": self.rollout,
                "status": self.status, "score": self.score, "steps": self.steps, "turns": self.turns,
                "seconds": round(self.seconds, 3), "error": self.error,
                "directory": None if self.directory is None else str(self.directory)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return cls(data["domain"], data["task_id"], data["status"], data.get("score"), data.get("rollout", 0),
                   data.get("steps", 0), data.get("turns", 0), data.get("seconds", 0.0), data.get("error"),
                   None if data.get("directory") is None else Path(data["directory"]))


def jobs(tasks: list[tuple[str, Task]], opts: RunOptions) -> list[Job]:
    """Every (task, rollout) of a run, rollouts of a task next to each other."""
    return [Job(domain, task, k, opts.seed + k) for domain, task in tasks for k in range(opts.rollouts)]


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


def run_dir(opts: RunOptions) -> Path:
    """OSWorld's layout: <results>/<action_space>/<observation>/<model>."""
    return opts.results / opts.dialect / "screenshot" / model_dir_name(opts.model, opts.model_name)


def episode_dir(opts: RunOptions, domain: str, task_id: str, rollout: int = 0) -> Path:
    """<run dir>/<domain>/<task>, and /rollout_<k> below it when a task has several."""
    base = run_dir(opts) / domain / task_id
    return base / f"rollout_{rollout}" if opts.rollouts > 1 else base
