"""The run's status line: which episode of how many, its task and instruction, the
loop's state, turn, steps against the budget, and the score once it has one."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class RunState:
    episode: int = 0  # 1-based, 0 before the first
    episodes: int = 0
    task_id: str = ""
    instruction: str = ""
    state: str = "starting"  # starting | running | paused | your turn | finished | failed ...
    turn: int = 0
    steps: int = 0
    budget: int = 0
    score: str = "-"


STATE_STYLE = {"running": "green", "paused": "yellow", "your turn": "bold magenta", "finished": "bold",
               "stopping": "yellow", "failed": "bold red"}


class RunStatus(Static):
    """Two lines, cut to the width: the episode and its figures (most telling first),
    then the instruction."""

    DEFAULT_CSS = """
    RunStatus { height: 2; padding: 0 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, state: RunState, **kwargs):
        self.state = state
        super().__init__(self.text(), **kwargs)

    def set(self, **changes) -> RunState:
        self.state = replace(self.state, **changes)
        self.update(self.text())
        return self.state

    def text(self) -> Text:
        s = self.state
        line = Text()
        if s.episodes:
            line.append(f"[{s.episode}/{s.episodes}] ", style="dim")
        line.append(s.task_id or "-", style="bold")
        line.append("  ")
        line.append(s.state, style=STATE_STYLE.get(s.state, ""))
        line.append(f"  score {s.score}  step {s.steps}/{s.budget}  turn {s.turn}")
        line.append("\n")
        line.append(s.instruction, style="italic")
        return line
