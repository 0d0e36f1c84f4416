"""Reads episode directories back as typed steps.

Tolerates what a crash leaves: a truncated last line of traj.jsonl, a frame that
was never written, a missing result.txt. Reads OSWorld's own traj.jsonl too, and
every schema version up to ours (version 1 lines simply lack the prompt fields).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from kimicua.agent.trajectory.schema import SCHEMA_VERSION, EpisodeMeta, StepRecord


class TrajectoryError(ValueError):
    """A trajectory file that cannot be read, named with its line."""


@dataclass(frozen=True)
class Episode:
    directory: Path
    meta: EpisodeMeta | None
    steps: list[StepRecord]
    result: float | None
    errors: list[str] = field(default_factory=list)  # OSWorld {"Error": ...} lines
    truncated: bool = False  # the last line was cut off (a crash mid-write)

    def frame(self, step: StepRecord) -> Path | None:
        """The step's screenshot file, or None if it was never written."""
        if step.screenshot_file is None:
            return None
        path = self.directory / step.screenshot_file
        return path if path.exists() else None

    def prompt_frames(self, step: StepRecord) -> list[Path | None]:
        """The files of the screenshots the step's prompt showed, oldest first
        (None for one that is not on disk)."""
        paths = [None if name is None else self.directory / name for name in step.prompt_images]
        return [p if p is not None and p.exists() else None for p in paths]

    def prompt_messages(self, step: StepRecord) -> list[dict] | None:
        """The chat messages of the step's turn (stored on the turn's first line);
        None for lines written without them (version 1, OSWorld's)."""
        if step.prompt_messages is not None or step.turn is None:
            return step.prompt_messages
        return next((s.prompt_messages for s in self.steps
                     if s.turn == step.turn and s.prompt_messages is not None), None)


    def routing(self, step: StepRecord) -> np.ndarray | None:
        """The routing record of the step's turn, uint8 [answer tokens, MoE layers, top-k]
        (stored on the turn's first line); None when the turn has none or its file is missing."""
        name = step.routing_file
        if name is None and step.turn is not None:
            name = next((s.routing_file for s in self.steps if s.turn == step.turn and s.routing_file), None)
        if name is None or not (self.directory / name).exists():
            return None
        return np.load(self.directory / name, allow_pickle=False)


def iter_lines(path: Path) -> Iterator[tuple[int, dict | None]]:
    """(line number, object) per line; None for a cut-off last line.

    Every complete line ends with a newline (the writer fsyncs it whole), so only
    a final piece without one can be a crash's leftover; bad JSON anywhere else
    is an error."""
    *complete, tail = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as err:
            raise TrajectoryError(f"{path}:{i}: not JSON ({err.msg})") from None
    if tail.strip():
        try:
            yield len(complete) + 1, json.loads(tail)
        except json.JSONDecodeError:
            yield len(complete) + 1, None


def read_episode(directory: str | Path) -> Episode:
    """Read one episode directory (ours or OSWorld's)."""
    directory = Path(directory)
    traj = directory / "traj.jsonl"
    if not traj.exists():
        raise TrajectoryError(f"{directory}: no traj.jsonl")
    steps, errors, truncated = [], [], False
    for i, obj in iter_lines(traj):
        if obj is None:
            truncated = True
        elif isinstance(obj, dict) and set(obj) == {"Error"}:
            errors.append(str(obj["Error"]))
        else:
            try:
                step = StepRecord.model_validate(obj)
            except ValidationError as err:
                first = err.errors()[0]
                loc = ".".join(map(str, first["loc"]))
                raise TrajectoryError(f"{traj}:{i}: {loc}: {first['msg']}") from None
            if (step.schema_version or 0) > SCHEMA_VERSION:
                raise TrajectoryError(f"{traj}:{i}: schema version {step.schema_version} is newer than "
                                      f"this reader's {SCHEMA_VERSION}")
            steps.append(step)
    meta_path = directory / "episode.json"
    meta = EpisodeMeta.model_validate_json(meta_path.read_text()) if meta_path.exists() else None
    result_path = directory / "result.txt"
    result = float(result_path.read_text().strip()) if result_path.exists() else None
    return Episode(directory, meta, steps, result, errors, truncated)


def find_episodes(root: str | Path) -> Iterator[Path]:
    """Every episode directory below ``root`` (those holding a traj.jsonl)."""
    for traj in sorted(Path(root).rglob("traj.jsonl")):
        yield traj.parent
