"""What the start screen picks: the tasks (or a typed instruction), the model, its
dialect, the mode; and how that becomes the runner's options and task list."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from kimicua.tasks.osworld import Loaded
from kimicua.tasks.suites import resolve
from kimicua.tools.runner import RunOptions

# What the tasks field names; the two "instruction" sources are free-form episodes.
SOURCES = {
    "suite": "built-in suite or task id",
    "path": "task file or folder",
    "osworld": "OSWorld suite",
    "desktop": "instruction, on the desktop",
    "browser": "instruction, in the browser",
}
MODES = {
    "autonomous": "autonomous",
    "step": "step (pause after each turn)",
    "approve": "approve each action",
}
FREEFORM = ("desktop", "browser")


@dataclass(frozen=True)
class RunChoice:
    """One run as picked on the start screen (or given on the command line)."""

    source: str = "suite"
    tasks: str = "small"  # a suite, task id, path or OSWorld suite file; or the instruction
    model: str = "scripted"
    dialect: str = "kimi"
    mode: str = "autonomous"
    max_steps: int = 15
    options: RunOptions = field(default_factory=RunOptions)  # results, screen, sandbox, ...
    osworld: Path | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"unknown task source {self.source!r}; known: {', '.join(SOURCES)}")
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; known: {', '.join(MODES)}")
        if self.max_steps < 1:
            raise ValueError(f"the step budget must be at least 1, got {self.max_steps}")

    @property
    def freeform(self) -> bool:
        """A typed instruction, played without a task file or an evaluator."""
        return self.source in FREEFORM

    def run_options(self) -> RunOptions:
        """The runner's options: one worker (the UI approves and pauses in-process)."""
        return replace(self.options, model=self.model, dialect=self.dialect, max_steps=self.max_steps,
                       workers=1)

    def load(self) -> Loaded:
        """The tasks the field names (TaskError, one line, when it names none); a
        free-form instruction loads no task file."""
        if self.freeform:
            if not self.tasks.strip():
                raise ValueError("type the instruction for the free-form episode")
            return Loaded([])
        if self.source == "osworld" and self.osworld is None:
            from kimicua.tasks.suites import osworld_examples

            if osworld_examples(None) is None:
                raise ValueError("an OSWorld suite needs the OSWorld data folder (--osworld or $KIMICUA_OSWORLD)")
        return resolve(self.tasks.strip(), self.osworld)

