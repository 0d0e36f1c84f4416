"""Writes one episode directory, crash-safely.

Layout (OSWorld's, plus ours)::

    <dir>/traj.jsonl                 one StepRecord per line, in step order, each fsync'd
    <dir>/step_{n}_{timestamp}.png   the screen after step n (written in the background)
    <dir>/initial_{timestamp}.png    the screen after setup, before the first step
    <dir>/routing_turn_{n}.npy       turn n's routing record (with routing recording only)
    <dir>/episode.json               EpisodeMeta, rewritten atomically at start and end
    <dir>/result.txt                 the score, written last (OSWorld resumes past it)

The step loop only hands work over. Frames encode in parallel (FrameWriter); one
writer thread takes the lines in step order, waits until every frame a line names
is renamed into place, then appends the line and fsyncs it. So a file a line names
always exists, whenever the process dies, and the loop waits only for the frame
queue's back-pressure.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from kimicua.agent.trajectory.frames import FrameWriter
from kimicua.agent.trajectory.schema import SCHEMA_VERSION, EpisodeMeta, Outcome, StepRecord, timestamp

_STOP = object()
Job = tuple[list[tuple[str, Future]], Callable[[set[str]], None]]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def routing_name(turn: int | None) -> str:
    """The file of a turn's routing record."""
    return f"routing_turn_{turn}.npy"


def _set_aside(directory: Path, why: str) -> None:
    """Move an earlier run out of the way (``<dir>.<why>-N``) instead of deleting it."""
    n = 1
    while (aside := directory.with_name(f"{directory.name}.{why}-{n}")).exists():
        n += 1
    directory.rename(aside)


def frames_named(record: StepRecord) -> list[str]:
    """Every frame file a line names: its screenshot and the prompt's images."""
    names = [record.screenshot_file, *record.prompt_images]
    for message in record.prompt_messages or []:
        content = message.get("content")
        if isinstance(content, list):
            names += [item.get("file") for item in content if item.get("type") == "image"]
    return list(dict.fromkeys(n for n in names if n))


def _without(record: StepRecord, failed: set[str]) -> StepRecord:
    """``record`` naming none of the ``failed`` frames (never written): None in their place."""
    def keep(name: str | None) -> str | None:
        return None if name in failed else name

    messages = record.prompt_messages
    if messages is not None:
        messages = [{**m, "content": [{**item, "file": keep(item.get("file"))} if item.get("type") == "image"
                                      else item for item in m["content"]]}
                    if isinstance(m.get("content"), list) else m for m in messages]
    return record.model_copy(update={"screenshot_file": keep(record.screenshot_file),
                                     "prompt_images": [keep(n) for n in record.prompt_images],
                                     "prompt_messages": messages})


class TrajectoryWriter:
    """The one writer of the trajectory schema; see the module docstring for the layout.

    ``step`` and ``initial`` return at once; ``sync`` waits until everything handed
    over is on disk, ``finish`` ends the episode, ``close`` (or the with block) drains:
    a process that exits without either loses the lines still queued (never a frame's line
    without its frame)."""

    def __init__(self, directory: str | Path, meta: EpisodeMeta, *, frames: FrameWriter | None = None,
                 replace: bool = False):
        """``replace``: a finished episode already there is set aside (``.replaced-N``)
        rather than refused."""
        self.directory = Path(directory)
        if self.directory.exists() and any(self.directory.iterdir()):
            finished = (self.directory / "result.txt").exists()
            if finished and not replace:
                raise FileExistsError(f"{self.directory} holds a finished episode (result.txt)")
            _set_aside(self.directory, "replaced" if finished else "interrupted")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._own_frames = frames is None
        self.frames = frames or FrameWriter()
        self.meta = meta.model_copy(update={"started_at": meta.started_at or timestamp(time.time())})
        # the meta first: a directory holding traj.jsonl always says which episode it is, even
        # when the process dies a moment later
        _write_atomic(self.directory / "episode.json", self.meta.model_dump_json(indent=2))
        self._traj = open(self.directory / "traj.jsonl", "a", encoding="utf-8")
        self._written: dict[str, Future] = {}  # frame name -> done when renamed into place
        self._failed: set[str] = set()  # frames that could not be written
        self._synced: set[str] = set()  # frames whose rename is fsync'd in the directory
        self._errors: list[str] = []
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="traj-writer", daemon=True)
        self._thread.start()
        self._closed = False
        self.steps = 0  # lines handed over
        self.durable = 0  # step lines on disk (fsync'd), in order

    # The writer thread: jobs in order, each after the frames it names.

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is _STOP:
                    return
                waits, run = job
                failed = {name for name, done in waits if done.exception() is not None}
                self._errors += [f"{name}: {done.exception()}" for name, done in waits
                                 if name in failed - self._failed]  # each frame reported once
                self._failed |= failed
                if fresh := {name for name, _ in waits} - failed - self._synced:
                    self._fsync_directory()
                    self._synced |= fresh
                run(failed)
            except Exception as err:  # a failed write is reported by finish, never kills the thread
                self._errors.append(f"{self.directory}: {type(err).__name__}: {err}")
            finally:
                self._jobs.task_done()

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _then(self, names: list[str], run: Callable[[set[str]], None]) -> None:
        """Run ``run(failed frames)`` on the writer thread once the ``names`` frames are in place."""
        if self._closed:
            raise ValueError(f"{self.directory}: the trajectory writer is closed")
        unknown = [n for n in names if n not in self._written]
        if unknown:
            raise ValueError(f"{self.directory}: a line names frame {unknown[0]!r}, which this writer did not write")
        self._jobs.put(([(n, self._written[n]) for n in names], run))

    def _append(self, line: str) -> None:
        self._traj.write(line + "\n")
        self._traj.flush()
        os.fsync(self._traj.fileno())

    def _append_step(self, record: StepRecord, failed: set[str], routing: np.ndarray | None = None) -> None:
        if routing is not None:  # on disk (fsync'd file and directory) before the line names it
            try:
                _write_npy(self.directory / record.routing_file, routing)
                self._fsync_directory()
            except OSError as err:
                self._errors.append(f"{record.routing_file}: {err}")
                record = record.model_copy(update={"routing_file": None})
        self._append((_without(record, failed) if failed else record).model_dump_json())
        self.durable += 1

    def _write_meta(self, meta: EpisodeMeta, failed: set[str]) -> None:
        if meta.initial_screenshot in failed:
            meta = meta.model_copy(update={"initial_screenshot": None})
        _write_atomic(self.directory / "episode.json", meta.model_dump_json(indent=2))

    # The step loop's side.

    def _frame(self, stem: str, screenshot: np.ndarray, t: float) -> str:
        name = f"{stem}_{timestamp(t)}.png"
        self._written[name] = self.frames.submit(screenshot, self.directory / name)
        return name

    def initial(self, screenshot: np.ndarray, t: float | None = None) -> str:
        """Record the screen the first prompt shows; returns its file name.
        episode.json names it once the file is in place."""
        name = self._frame("initial", screenshot, t or time.time())
        self.meta = meta = self.meta.model_copy(update={"initial_screenshot": name})
        self._then([name], lambda failed: self._write_meta(meta, failed))
        return name

    def step(self, record: StepRecord, screenshot: np.ndarray | None = None,
             routing: np.ndarray | None = None) -> StepRecord:
        """Hand over one line and the screen after it; returns the line as it will be
        written (with its ``screenshot_file``). ``screenshot`` None keeps the record's
        own ``screenshot_file``, which must be a frame this writer wrote; so must every
        prompt image. The line is appended after those frames are in place.
        ``routing``: the turn's routing record (on its first line), written to
        ``routing_turn_<turn>.npy`` before the line that names it."""
        t, start = time.time(), time.perf_counter()
        update = {"schema_version": SCHEMA_VERSION}
        if screenshot is not None:
            update["screenshot_file"] = self._frame(f"step_{record.step_num}", screenshot, t)
        # What the step loop waited for: the frame queue's back-pressure.
        if routing is not None:
            update["routing_file"] = routing_name(record.turn)
        update["timings"] = record.timings.model_copy(update={"write_s": time.perf_counter() - start})
        record = record.model_copy(update=update)
        self._then(frames_named(record), lambda failed: self._append_step(record, failed, routing))
        self.steps += 1
        return record

    def sync(self) -> None:
        """Wait until every line and frame handed over so far is on disk."""
        self._jobs.join()

    def finish(self, outcome: Outcome) -> None:
        """Wait for every frame and line, then write episode.json and result.txt (last).

        An outcome without a score (interrupted, crashed) gets no result.txt, so a
        resumed run does the task again; its directory is then set aside, not lost."""
        errors = self.frames.flush()
        if outcome.error:
            # OSWorld's marker line for an episode that ended in an exception.
            self._then([], lambda _: self._append(json.dumps({"Error": outcome.error})))
        self.sync()
        errors = list(dict.fromkeys([*errors, *self._errors]))
        if errors:
            outcome = outcome.model_copy(update={"error": "; ".join([*filter(None, [outcome.error]), *errors])})
        self.meta = self.meta.model_copy(update={"finished_at": timestamp(time.time()), "outcome": outcome})
        self._write_meta(self.meta, self._failed)
        if outcome.score is not None:
            _write_atomic(self.directory / "result.txt", f"{outcome.score}\n")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._own_frames:
            self.frames.close()
        else:
            self.frames.flush()
        self.sync()
        self._jobs.put(_STOP)
        self._thread.join()
        self._traj.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
