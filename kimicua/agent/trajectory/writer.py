"""Writes one episode directory, crash-safely.

Layout (OSWorld's, plus ours)::

    <dir>/traj.jsonl                 one StepRecord per line, fsync'd before the next step
    <dir>/step_{n}_{timestamp}.png   the screen after step n (written in the background)
    <dir>/initial_{timestamp}.png    the screen after setup, before the first step
    <dir>/episode.json               EpisodeMeta, rewritten atomically at start and end
    <dir>/result.txt                 the score, written last (OSWorld resumes past it)
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kimicua.agent.trajectory.frames import FrameWriter
from kimicua.agent.trajectory.schema import SCHEMA_VERSION, EpisodeMeta, Outcome, StepRecord, timestamp


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _set_aside(directory: Path) -> None:
    """Move an unfinished earlier run out of the way instead of deleting it."""
    n = 1
    while (aside := directory.with_name(f"{directory.name}.interrupted-{n}")).exists():
        n += 1
    directory.rename(aside)


class TrajectoryWriter:
    """The one writer of the trajectory schema; see the module docstring for the layout."""

    def __init__(self, directory: str | Path, meta: EpisodeMeta, *, frames: FrameWriter | None = None):
        self.directory = Path(directory)
        if self.directory.exists() and any(self.directory.iterdir()):
            if (self.directory / "result.txt").exists():
                raise FileExistsError(f"{self.directory} holds a finished episode (result.txt)")
            _set_aside(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._own_frames = frames is None
        self.frames = frames or FrameWriter()
        self.meta = meta.model_copy(update={"started_at": meta.started_at or timestamp(time.time())})
        self._traj = open(self.directory / "traj.jsonl", "a", encoding="utf-8")
        self._syncer = ThreadPoolExecutor(1, thread_name_prefix="traj-fsync")
        self._pending: Future | None = None
        self.steps = 0
        self._write_meta()

    def _write_meta(self) -> None:
        _write_atomic(self.directory / "episode.json", self.meta.model_dump_json(indent=2))

    def _frame(self, stem: str, screenshot: np.ndarray, t: float) -> str:
        name = f"{stem}_{timestamp(t)}.png"
        self.frames.submit(screenshot, self.directory / name)
        return name

    def initial(self, screenshot: np.ndarray, t: float | None = None) -> str:
        """Record the screen the first prompt shows; returns its file name."""
        name = self._frame("initial", screenshot, t or time.time())
        self.meta = self.meta.model_copy(update={"initial_screenshot": name})
        self._write_meta()
        return name

    def step(self, record: StepRecord, screenshot: np.ndarray | None = None) -> StepRecord:
        """Append one step: its frame goes to the background writer, its line is
        written and flushed (it survives the process being killed) and then fsync'd
        in the background; the next step's line waits for that fsync, so a line is
        durable before anything after it is recorded. fsync costs milliseconds here,
        and the model's turn in between hides it."""
        t, start = time.time(), time.perf_counter()
        self.sync()
        update = {"schema_version": SCHEMA_VERSION}
        if screenshot is not None:
            update["screenshot_file"] = self._frame(f"step_{record.step_num}", screenshot, t)
        # What the step loop waited for: the previous line's fsync and the frame queue.
        timings = record.timings.model_copy(update={"write_s": time.perf_counter() - start})
        record = record.model_copy(update={**update, "timings": timings})
        self._append(record.model_dump_json(exclude_none=False))
        self.steps += 1
        return record

    def _append(self, line: str) -> None:
        self.sync()
        self._traj.write(line + "\n")
        self._traj.flush()
        self._pending = self._syncer.submit(os.fsync, self._traj.fileno())

    def sync(self) -> None:
        """Wait until every line written so far is on disk."""
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def finish(self, outcome: Outcome) -> None:
        """Wait for the frames, then write episode.json and result.txt (last).

        An outcome without a score (interrupted, crashed) gets no result.txt, so a
        resumed run does the task again; its directory is then set aside, not lost."""
        errors = self.frames.flush()
        if outcome.error:
            # OSWorld's marker line for an episode that ended in an exception.
            self._append(json.dumps({"Error": outcome.error}))
        if errors:
            outcome = outcome.model_copy(update={"error": "; ".join([*filter(None, [outcome.error]), *errors])})
        self.sync()
        self.meta = self.meta.model_copy(update={"finished_at": timestamp(time.time()), "outcome": outcome})
        self._write_meta()
        if outcome.score is not None:
            _write_atomic(self.directory / "result.txt", f"{outcome.score}\n")

    def close(self) -> None:
        if self._own_frames:
            self.frames.close()
        else:
            self.frames.flush()
        self.sync()
        self._syncer.shutdown()
        self._traj.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
