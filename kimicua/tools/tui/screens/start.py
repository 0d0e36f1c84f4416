"""The start screen: pick the tasks (a built-in suite, a task file or folder, an
OSWorld suite, or a typed instruction for a free-form episode), the model, its
dialect, the mode and the step budget; the task list shows what will run."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Input, Label, Select, Static

from kimicua.agent.dialects import DIALECTS
from kimicua.tools.tui.choice import MODES, SOURCES, RunChoice

PLACEHOLDERS = {
    "suite": "a built-in suite (small, all) or a task id",
    "path": "a task file, a suite file or a folder of tasks",
    "osworld": "an OSWorld suite file, e.g. test_small.json",
    "desktop": "what the agent should do on the desktop",
    "browser": "what the agent should do in the browser",
}
MAX_LISTED = 500  # rows of the task list (a suite may hold thousands)


class StartScreen(Screen):
    """Pick what to run; ctrl+r runs it."""

    BINDINGS = [
        Binding("ctrl+r", "run", "Run", priority=True),
        Binding("ctrl+o", "runs", "Past runs", priority=True),
    ]
    DEFAULT_CSS = """
    StartScreen #title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    StartScreen #form { grid-size: 2; grid-columns: 13 1fr; grid-rows: 1; grid-gutter: 0 1;
                        height: auto; padding: 0 1; margin-top: 1; }
    StartScreen #form Label { color: $text-muted; }
    StartScreen #buttons { height: 1; padding: 0 1; }
    StartScreen #buttons { margin-top: 1; }
    StartScreen #problem { height: auto; max-height: 3; padding: 0 1; color: $error; }
    StartScreen #tasks { height: 1fr; margin-top: 1; scrollbar-size-horizontal: 0; }
    """

    def __init__(self, choice: RunChoice):
        super().__init__()
        self.choice = choice
        self.pending: Timer | None = None
        self.loaded: list = []
        self.problem = ""  # why the form names no task to run

    def compose(self) -> ComposeResult:
        c = self.choice
        yield Static("kimicua: watch, steer and teach the agent", id="title")
        with Grid(id="form"):
            yield Label("Tasks from")
            yield Select([(v, k) for k, v in SOURCES.items()], value=c.source, allow_blank=False,
                         compact=True, id="source")
            yield Label("Tasks")
            yield Input(c.tasks, placeholder=PLACEHOLDERS[c.source], compact=True, id="spec")
            yield Label("Model")
            yield Input(c.model, placeholder="scripted, tiny, http://host:port or a checkpoint", compact=True,
                        id="model")
            yield Label("Dialect")
            yield Select([(d, d) for d in sorted(DIALECTS)], value=c.dialect, allow_blank=False, compact=True,
                         id="dialect")
            yield Label("Mode")
            yield Select([(v, k) for k, v in MODES.items()], value=c.mode, allow_blank=False, compact=True,
                         id="mode")
            yield Label("Step budget")
            yield Input(str(c.max_steps), type="integer", compact=True, id="steps")
        with Horizontal(id="buttons"):
            yield Button("Run", variant="primary", compact=True, id="run")
        yield Static(id="problem")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="tasks")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#tasks", DataTable)
        table.add_columns("domain", "task", "instruction")
        self.list_tasks()

    # -- the form ------------------------------------------------------------------
    def picked(self) -> RunChoice:
        """The form as a RunChoice (ValueError naming the field that is wrong)."""
        steps = self.query_one("#steps", Input).value.strip()
        if not steps.isdigit():
            raise ValueError(f"the step budget must be a whole number, got {steps!r}")
        return replace(self.choice, source=str(self.query_one("#source", Select).value),
                       tasks=self.query_one("#spec", Input).value,
                       model=self.query_one("#model", Input).value.strip() or "scripted",
                       dialect=str(self.query_one("#dialect", Select).value),
                       mode=str(self.query_one("#mode", Select).value), max_steps=int(steps))

    def list_tasks(self) -> None:
        """Fill the task list from the form; say in one line what is wrong, if anything."""
        self.pending = None
        table, problem = self.query_one("#tasks", DataTable), self.query_one("#problem", Static)
        table.clear()
        self.loaded, self.problem = [], ""
        try:
            choice = self.picked()
            loaded = choice.load()
        except (ValueError, OSError) as err:
            self.problem = " ".join(str(err).split())
            problem.update(Text(self.problem))
            return
        if choice.freeform:
            table.add_row(choice.source, "(free-form)", Text(" ".join(choice.tasks.split()), style="italic"))
        self.loaded = loaded.tasks
        for domain, task in loaded.tasks[:MAX_LISTED]:
            table.add_row(domain, task.id, " ".join(task.instruction.split()))
        more = len(loaded.tasks) - MAX_LISTED
        notes = loaded.errors[:2] + ([f"{more} more tasks not listed"] if more > 0 else [])
        problem.update(Text("; ".join(notes), style="yellow") if notes else "")

    def _later(self) -> None:
        if self.pending is not None:
            self.pending.stop()
        self.pending = self.set_timer(0.3, self.list_tasks)

    @on(Input.Changed, "#spec")
    def spec_changed(self) -> None:
        self._later()

    @on(Select.Changed, "#source")
    def source_changed(self, event: Select.Changed) -> None:
        self.query_one("#spec", Input).placeholder = PLACEHOLDERS[str(event.value)]
        self._later()

    # -- run, browse ---------------------------------------------------------------
    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        if self.pending is not None:
            self.list_tasks()
        try:
            choice = self.picked()
        except ValueError as err:
            self.query_one("#problem", Static).update(Text(str(err)))
            return
        if not choice.freeform and not self.loaded:
            if not self.problem:
                self.query_one("#problem", Static).update("no task to run")
            return
        self.app.start_run(choice, self.loaded)

    def action_runs(self) -> None:
        self.app.browse()
