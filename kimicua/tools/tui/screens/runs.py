"""The run browser: open a results folder (or any folder below one) and list its
episodes with status, score and steps; Enter pages through one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from kimicua.agent.trajectory import Episode, TrajectoryError, find_episodes, read_episode

STATUS_STYLE = {"done": "green", "fail": "red", "error": "bold red", "interrupted": "yellow",
                "stopped": "yellow", "unfinished": "yellow", "unreadable": "bold red"}
MAX_LISTED = 2000  # episodes listed from one folder


@dataclass(frozen=True)
class Row:
    """One episode as listed: where, how it ended, and why (verdict or error)."""

    name: str  # relative to the folder opened
    directory: Path
    status: str
    score: float | None
    steps: int | None
    note: str | None


def episode_row(root: Path, directory: Path) -> Row:
    """The listing of one episode (``kimicua render``'s index reads the same fields)."""
    name = directory.relative_to(root).as_posix() if directory != root else directory.name
    try:
        ep: Episode = read_episode(directory)
    except (TrajectoryError, OSError, ValueError) as err:
        return Row(name, directory, "unreadable", None, None, " ".join(str(err).split()))
    outcome = ep.meta.outcome if ep.meta else None
    if outcome is None:
        return Row(name, directory, "unfinished", ep.result, len(ep.steps), None)
    return Row(name, directory, outcome.status, outcome.score, outcome.steps, outcome.verdict or outcome.error)


def list_episodes(root: Path) -> list[Row]:
    """Every episode below ``root``, skipping the attempts a rerun set aside."""
    rows = []
    for directory in find_episodes(root):
        if any(".interrupted-" in part or ".replaced-" in part for part in directory.parts):
            continue
        rows.append(episode_row(root, directory))
        if len(rows) >= MAX_LISTED:
            break
    return rows


class RunsScreen(Screen):
    """Past runs: a folder, its episodes, and each one's verdict."""

    BINDINGS = [
        Binding("o", "open", "Open episode"),  # Enter too: the table selects the row
        Binding("ctrl+l", "reload", "Reload", priority=True),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    RunsScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    RunsScreen #root { margin: 1 1 0 1; }
    RunsScreen #episodes { height: 1fr; margin-top: 1; }
    RunsScreen #note { height: auto; max-height: 4; padding: 0 1; border-top: solid $primary-darken-2; }
    """

    def __init__(self, root: Path):
        super().__init__()
        self.root = Path(root)
        self.rows: list[Row] = []

    def compose(self) -> ComposeResult:
        yield Static("past runs: the episodes below a results folder", id="title")
        yield Input(str(self.root), placeholder="a results folder, or any folder below one", compact=True,
                    id="root")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="episodes")
        yield Static(id="note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#episodes", DataTable).add_columns("episode", "status", "score", "steps")
        self.action_reload()
        self.query_one("#episodes", DataTable).focus()

    @on(Input.Submitted, "#root")
    def root_changed(self, message: Input.Submitted) -> None:
        self.root = Path(message.value.strip() or ".").expanduser()
        self.action_reload()
        self.query_one("#episodes", DataTable).focus()

    def action_reload(self) -> None:
        table, note = self.query_one("#episodes", DataTable), self.query_one("#note", Static)
        table.clear()
        self.rows = list_episodes(self.root) if self.root.is_dir() else []
        for row in self.rows:
            table.add_row(row.name, Text(row.status, style=STATUS_STYLE.get(row.status, "")),
                          "-" if row.score is None else f"{row.score:.2f}",
                          "-" if row.steps is None else str(row.steps))
        if not self.root.is_dir():
            note.update(Text(f"{self.root}: no such folder", style="red"))
        elif not self.rows:
            note.update(Text(f"{self.root}: no episode (no traj.jsonl below it)", style="yellow"))
        else:
            self._note(0)

    def _note(self, index: int) -> None:
        row = self.rows[index] if 0 <= index < len(self.rows) else None
        text = Text()
        if row is not None:
            text.append(row.name, style="bold")
            if row.note:
                text.append(f"\n{row.note}")
        self.query_one("#note", Static).update(text)

    @on(DataTable.RowHighlighted, "#episodes")
    def highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._note(message.cursor_row)

    @on(DataTable.RowSelected, "#episodes")
    def selected(self, message: DataTable.RowSelected) -> None:
        self._open(message.cursor_row)

    def action_open(self) -> None:
        self._open(self.query_one("#episodes", DataTable).cursor_row)

    def _open(self, index: int) -> None:
        if not 0 <= index < len(self.rows) or self.rows[index].status == "unreadable":
            return
        from kimicua.tools.tui.screens.episode import EpisodeScreen

        self.app.push_screen(EpisodeScreen(read_episode(self.rows[index].directory), self.app.images))

    def action_back(self) -> None:
        self.app.pop_screen()
