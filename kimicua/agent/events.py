"""Typed events of the episode loop: the UI and the CLI subscribe, they never drive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kimicua.env.actions import Action
from kimicua.env.observation import ActionResult


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """How one episode ended. ``score`` is None when it was not evaluated
    (interrupted, stopped, the environment or setup failed, or the task has no
    evaluator: a free-form instruction)."""

    task_id: str
    status: str  # done | fail | truncated | parse_failures | error | interrupted | stopped
    score: float | None
    steps: int
    turns: int
    directory: Path | None
    duration_s: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EpisodeStarted:
    """Setup is done; the agent is about to see the first screen."""

    task_id: str
    instruction: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    turn: int
    step: int  # steps executed so far


@dataclass(frozen=True, slots=True)
class ModelAnswered:
    turn: int
    text: str
    actions: tuple[Action, ...]
    error: str | None  # the parse error, when the answer gave no actions
    model_s: float


@dataclass(frozen=True, slots=True)
class ActionExecuted:
    step: int
    action: Action
    result: ActionResult | None  # None when ``approve`` vetoed the action


@dataclass(frozen=True, slots=True)
class EpisodeEnded:
    result: EpisodeResult


Event = EpisodeStarted | StepStarted | ModelAnswered | ActionExecuted | EpisodeEnded
