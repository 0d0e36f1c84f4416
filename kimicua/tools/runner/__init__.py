"""Run tasks as episodes: in this process, or on Ray workers; rollout groups; results.

Before the first episode the runner locks the results directory, checks that the
sandbox can run and asks the model once, so a bad setup fails in seconds with one line
(``RunSetupError``). After that a failing episode (setup, env, model) is that task's
error and the run goes on; an env that cannot start fails its own tasks at once, and
the run stops early only when its first episodes all fail the same way. Every
finished episode is a record in ``results.json``, written as it finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kimicua.agent.episode import Approve
from kimicua.agent.events import Event
from kimicua.tasks.schema import Task
from kimicua.tools.lock import ResultsLock
from kimicua.tools.runner.episodes import EpisodeRunner, RunSetupError
from kimicua.tools.runner.options import (Job, Record, RunOptions, episode_dir, jobs, model_dir_name,
                                          run_dir)
from kimicua.tools.runner.results import ResultsFile, Stats, statistics

__all__ = ["Job", "Record", "RunOptions", "RunSetupError", "Runner", "Stats", "episode_dir",
           "model_dir_name", "run_dir", "statistics"]

EARLY_STOP = 3  # the first episodes all failing the same way: the rest would too


class Runner:
    """Plays a run's episodes (each task ``rollouts`` times), recording every one."""

    def __init__(self, opts: RunOptions, on_event: Callable[[Event], None] | None = None,
                 approve: Approve | None = None):
        if opts.workers > 1 and approve is not None:
            raise RunSetupError("--approve asks in this terminal: it needs --workers 1")
        self.opts = opts
        self.interrupted = False  # Ctrl-C ended the run
        self.lock = ResultsLock(opts.results)
        self.local: EpisodeRunner | None = None
        self.pool = None
        try:
            if opts.workers > 1:
                from kimicua.tools.runner.ray_pool import RayPool

                self.pool = RayPool(opts)
            else:
                self.local = EpisodeRunner(opts, on_event, approve)
        except BaseException:
            self.close(discard=True)
            raise
        self.results = ResultsFile(run_dir(opts) / "results.json", opts.results / "summary.jsonl",
                                   self.model_name)

    @property
    def model_name(self) -> str:
        return model_dir_name(self.opts.model, self.opts.model_name)

    @property
    def notice(self) -> str | None:
        return self.local.notice if self.local else None

    def run(self, tasks: list[tuple[str, Task]], on_record: Callable[[Record], None] | None = None) -> list[Record]:
        """Play every (task, rollout); the records in job order. Ctrl-C ends the run with
        what finished (the running episodes stay on disk, unfinished, for a resume)."""
        todo = jobs(tasks, self.opts)
        done: dict[tuple, Record] = {}  # in the order episodes finished
        early: list[str] = []  # the shared error, once the first episodes all failed alike

        def finished(record: Record) -> None:
            earlier = self.results.records.get((record.domain, record.task_id, record.rollout))
            if record.status == "already done" and earlier is not None:  # its figures, from then
                record = replace(earlier, status="already done", score=record.score)
            done[(record.domain, record.task_id, record.rollout)] = record
            self.results.add(record)
            if on_record is not None:
                on_record(record)
            if not early and (why := _same_failure(list(done.values()))):
                early.append(why)

        try:
            if self.pool is not None:
                self.pool.run(todo, finished, stop=lambda: bool(early))
            else:
                for job in todo:
                    finished(self.local.play(job))
                    if done[job.key].status == "interrupted" or early:
                        break
        except KeyboardInterrupt:
            self.interrupted = True
            if self.pool is not None:
                self.pool.close(graceful=False)
        self.interrupted = self.interrupted or any(r.status == "interrupted" for r in done.values())
        records = [done[j.key] for j in todo if j.key in done]
        why = early[0] if early else None
        if why is not None:
            note = f"not run: the first {EARLY_STOP} episodes all failed with: {why}"
            for job in todo:
                if job.key not in done:
                    skipped = Record(job.domain, job.task.id, "skipped", None, rollout=job.rollout, error=note)
                    self.results.add(skipped)
                    records.append(skipped)
        return records

    def close(self, *, discard: bool = False) -> None:
        """End the envs, workers and model and let go of the results folder (``discard``:
        a run that never started leaves no folder behind)."""
        if self.local is not None:
            self.local.close()
            self.local = None
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        self.lock.release(discard=discard)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _same_failure(records: list[Record]) -> str | None:
    """The error shared by a run's first EARLY_STOP played episodes (in the order they
    finished), if they all failed alike."""
    first = [r for r in records if r.status not in ("unsupported", "already done")][:EARLY_STOP]
    if len(first) == EARLY_STOP and all(r.status == "error" for r in first) and len({r.error for r in first}) == 1:
        return first[0].error
    return None
