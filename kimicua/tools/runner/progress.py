"""The run's progress on the terminal: a bar with episodes done of the total, how many
scored 1 so far, episodes per minute and the time left; one line per finished
episode (the per-step lines only with --verbose)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from kimicua.tools.runner.options import Record


class RunProgress:
    def __init__(self, console: Console, total: int, title: str):
        self.console, self.total = console, total
        self.done = self.solved = self.played = 0
        self.started = time.monotonic()
        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                             TextColumn("{task.completed}/{task.total} episodes"),
                             TextColumn("[green]{task.fields[solved]} solved"),
                             TextColumn("{task.fields[rate]}/min"), TimeRemainingColumn(),
                             console=console, transient=True, disable=not console.is_terminal)
        self._task = self._bar.add_task(title, total=total, solved=0, rate="-")

    def __enter__(self) -> RunProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def finished(self, record: Record) -> None:
        """Count one episode and print its line."""
        self.done += 1
        if record.status not in ("already done", "unsupported", "skipped"):
            self.played += 1
        self.solved += record.score == 1.0
        minutes = (time.monotonic() - self.started) / 60
        rate = f"{self.played / minutes:.1f}" if self.played and minutes > 0 else "-"
        self._bar.update(self._task, completed=self.done, solved=self.solved, rate=rate)
        score = "-" if record.score is None else f"{record.score:.2f}"
        rollout = f" #{record.rollout}" if record.rollout else ""
        error = f" [red]{escape(record.error or '')}[/]" if record.status in ("error", "skipped") else ""
        self.console.print(f"[{self.done}/{self.total}] {escape(record.task_id)}{rollout}: {record.status}, "
                           f"score {score}, {record.steps} steps, {record.seconds:.1f}s{error}",
                           soft_wrap=True)
