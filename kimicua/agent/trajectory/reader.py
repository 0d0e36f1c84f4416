"""Reads episode directories back as typed steps.

Tolerates what a crash leaves: a truncated last line of traj.jsonl, a frame that
was never written, a missing result.txt. Reads OSWorld's own traj.jsonl too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from kimicua.agent.trajectory.schema import EpisodeMeta, StepRecord


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
                steps.append(StepRecord.model_validate(obj))
            except ValidationError as err:
                first = err.errors()[0]
                loc = ".".join(map(str, first["loc"]))
                raise TrajectoryError(f"{traj}:{i}: {loc}: {first['msg']}") from None
    meta_path = directory / "episode.json"
    meta = EpisodeMeta.model_validate_json(meta_path.read_text()) if meta_path.exists() else None
    result_path = directory / "result.txt"
    result = float(result_path.read_text().strip()) if result_path.exists() else None
    return Episode(directory, meta, steps, result, errors, truncated)


def find_episodes(root: str | Path) -> Iterator[Path]:
    """Every episode directory below ``root`` (those holding a traj.jsonl)."""
    for traj in sorted(Path(root).rglob("traj.jsonl")):
        yield traj.parent
