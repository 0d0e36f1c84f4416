"""The task schema: OSWorld's task JSON, plus our additions under one ``kimicua`` key.

Unknown keys are kept (``extra="allow"``) so that any OSWorld file loads and
round-trips. A malformed file raises TaskError with one line naming the file and
the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic import model_validator

from kimicua.env.actions import action_from_json

GetterSpec = dict[str, Any]
TARGET_KINDS = ("selector", "window", "screen")


class TaskError(ValueError):
    """A task file that cannot be read or does not validate (one line)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class SetupStep(_Frozen):
    """One OSWorld setup step: ``{"type": T, "parameters": {...}}``."""

    type: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


class Evaluator(_Frozen):
    """How a finished episode is judged (OSWorld semantics).

    ``func`` is one metric name or a list; ``result``/``expected``/``options`` are
    then lists aligned with it (a single ``options`` dict applies to every metric).
    """

    func: str | list[str]
    result: GetterSpec | list[GetterSpec | None] | None = None
    expected: GetterSpec | list[GetterSpec | None] | None = None
    options: dict[str, Any] | list[dict[str, Any] | None] | None = None
    conj: Literal["and", "or"] = "and"
    postconfig: list[SetupStep] = Field(default_factory=list)

    @field_validator("func")
    @classmethod
    def _non_empty(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("func list is empty")
        return v

    @model_validator(mode="after")
    def _aligned(self) -> Evaluator:
        names = self.funcs
        for key in ("result", "expected", "options"):
            value = getattr(self, key)
            if isinstance(value, list) and len(value) != len(names):
                raise ValueError(f"{key} has {len(value)} items but func has {len(names)}")
        return self

    @property
    def funcs(self) -> list[str]:
        return self.func if isinstance(self.func, list) else [self.func]

    def aligned(self) -> list[tuple[str, GetterSpec | None, GetterSpec | None, dict[str, Any]]]:
        """(func, result spec, expected spec, options) per metric."""
        n = len(self.funcs)

        def spread(value: Any) -> list[Any]:
            return list(value) if isinstance(value, list) else [value] * n

        options = [dict(o or {}) for o in spread(self.options)]
        return list(zip(self.funcs, spread(self.result), spread(self.expected), options))

    @property
    def infeasible(self) -> bool:
        return self.funcs == ["infeasible"]


class SolutionStep(_Frozen):
    """One scripted step: an Action's JSON whose point comes from ``target``.

    ``target`` (optional) is ``{"selector": css}`` (a page element's box),
    ``{"window": name}`` (a window's geometry) or ``{"screen": true}``, each with
    ``at`` = [fx, fy] fractions of that box (default the centre) and ``offset`` =
    [dx, dy] logical px added after. ``start_target`` does the same for a drag's start.
    """

    type: str
    target: dict[str, Any] | None = None
    start_target: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _is_an_action(self) -> SolutionStep:
        # Check at load time, with a stand-in point, that the step makes a valid Action,
        # so a typo fails when the task file is read rather than mid-episode.
        sample = self.action_fields()
        for name, prefix in (("target", ""), ("start_target", "start_")):
            target = getattr(self, name)
            if target is None:
                continue
            if not any(k in target for k in TARGET_KINDS):
                raise ValueError(f"{name} needs one of {', '.join(TARGET_KINDS)}")
            sample[f"{prefix}x"] = sample[f"{prefix}y"] = 0.0
        action_from_json(sample)
        return self

    def action_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"target", "start_target"})


class Kimicua(_Frozen):
    """Our additions to a task: which env it needs, its scripted solution, domain."""

    env: Literal["browser", "desktop"] = "desktop"
    domain: str | None = None
    solution: list[SolutionStep] = Field(default_factory=list)
    pages: str | None = None  # a folder served at {pages}, relative to the task file
    network: bool = False  # the env's apps need the network (off by default)


class Task(_Frozen):
    """An OSWorld task. Optional fields default so that hand-written tasks stay short."""

    id: str = Field(min_length=1)
    instruction: str = Field(min_length=1)
    snapshot: str = ""
    source: str | list[str] = ""
    config: list[SetupStep] = Field(default_factory=list)
    trajectory: str = ""
    related_apps: list[str] = Field(default_factory=list)
    evaluator: Evaluator
    proxy: bool = False
    fixed_ip: bool = False
    possibility_of_env_change: str | None = None
    hint: str | list[str] | None = None
    kimicua: Kimicua | None = None
    _origin: Path | None = PrivateAttr(None)  # the file it was loaded from, if any

    @property
    def origin(self) -> Path | None:
        return self._origin

    @property
    def env_kind(self) -> str:
        return self.kimicua.env if self.kimicua else "desktop"

    @property
    def domain(self) -> str:
        if self.kimicua and self.kimicua.domain:
            return self.kimicua.domain
        return self.snapshot or "default"


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "task"


def parse_task(data: Any, source: str | Path = "<task>") -> Task:
    """Validate a task object; TaskError (one line naming source and field) if malformed."""
    if not isinstance(data, dict):
        raise TaskError(f"{source}: task must be a JSON object, got {type(data).__name__}")
    try:
        return Task.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        msg = first["msg"].splitlines()[0]
        raise TaskError(f"{source}: {_field_path(first['loc'])}: {msg}") from None


def read_json(path: str | Path) -> Any:
    """A JSON file's content, or TaskError naming the file."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise TaskError(f"{path}: cannot read: {err}") from None
    except json.JSONDecodeError as err:
        raise TaskError(f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None


def load_task(path: str | Path) -> Task:
    """Load and validate one task file."""
    task = parse_task(read_json(path), path)
    task._origin = Path(path).resolve()
    return task
