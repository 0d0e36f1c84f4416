"""A run's results: ``results.json`` (one record per episode, rewritten atomically as
episodes finish, merged with what a resumed run already had), OSWorld's
``summary.jsonl`` line per episode, and the per-domain statistics of the final table."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from kimicua.agent.trajectory import timestamp
from kimicua.tools.runner.options import Record

NOT_RUN = ("unsupported",)  # not episodes: left out of the statistics


class ResultsFile:
    """``<run dir>/results.json``: every episode of this model and dialect, latest first
    written wins per (domain, task, rollout)."""

    def __init__(self, path: Path, summary: Path, model: str):
        self.path, self.summary, self.model = path, summary, model
        self.records: dict[tuple[str, str, int], Record] = {}
        if path.is_file():
            try:
                for item in json.loads(path.read_text())["episodes"]:
                    rec = Record.from_json(item)
                    self.records[(rec.domain, rec.task_id, rec.rollout)] = rec
            except (ValueError, KeyError, TypeError):
                pass  # a damaged file is rebuilt from this run's episodes

    def add(self, record: Record) -> None:
        """Keep ``record`` and rewrite the file; log played episodes to summary.jsonl."""
        if record.status == "already done" and (record.domain, record.task_id, record.rollout) in self.records:
            return  # what the earlier run wrote stands
        self.records[(record.domain, record.task_id, record.rollout)] = record
        self._write()
        if record.status not in ("already done", "unsupported", "skipped"):
            self._summarise(record)

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"model": self.model, "updated_at": timestamp(time.time()),
                "episodes": [r.to_json() for r in self.records.values()]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def _summarise(self, r: Record) -> None:
        """OSWorld's per-task summary line under the results root."""
        self.summary.parent.mkdir(parents=True, exist_ok=True)
        line = {"application": r.domain, "task_id": r.task_id, "rollout": r.rollout, "status": r.status,
                "score": r.score, "timestamp": timestamp(time.time()), "model": self.model, "steps": r.steps}
        with open(self.summary, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


@dataclass(frozen=True)
class Stats:
    """One line of the final table: a domain, or everything."""

    name: str
    episodes: int
    solved: int  # score 1
    mean_score: float | None
    mean_steps: float | None
    errors: int

    @property
    def success_rate(self) -> float | None:
        return self.solved / self.episodes if self.episodes else None


def _stats(name: str, records: list[Record]) -> Stats:
    scored = [r for r in records if r.score is not None]
    played = [r for r in records if r.status != "skipped"]
    return Stats(name, len(records), sum(r.score == 1.0 for r in scored),
                 sum(r.score for r in scored) / len(scored) if scored else None,
                 sum(r.steps for r in played) / len(played) if played else None,
                 sum(r.status in ("error", "skipped") for r in records))


def statistics(records: list[Record]) -> list[Stats]:
    """Per domain, then overall; unsupported tasks are not episodes and are left out."""
    episodes = [r for r in records if r.status not in NOT_RUN]
    by_domain: dict[str, list[Record]] = defaultdict(list)
    for r in episodes:
        by_domain[r.domain].append(r)
    return [*(_stats(d, rs) for d, rs in by_domain.items()), _stats("overall", episodes)]
