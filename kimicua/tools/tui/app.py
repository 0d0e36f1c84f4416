"""The Textual app: the start screen first (or the run browser), a run screen per run.

Screens call the app to start a run or browse; the app owns the images mode and
the results folder, and quits only once a running episode has been stopped and
written (quitting mid-run stops it first, as Ctrl-C does in ``kimicua run``).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from kimicua.tools.tui.choice import RunChoice
from kimicua.tools.tui.screens.run import RunScreen
from kimicua.tools.tui.screens.runs import RunsScreen
from kimicua.tools.tui.screens.start import StartScreen
from kimicua.tools.tui.session import RunSession


class KimicuaTui(App):
    """``kimicua tui``."""

    TITLE = "kimicua"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, choice: RunChoice | None = None, *, images: str = "halfblock", browse: bool = False,
                 autorun: bool = False):
        super().__init__()
        self.choice = choice or RunChoice()
        self.images = images
        self.browse_first, self.autorun = browse, autorun
        self.quitting = False
        self.running: RunScreen | None = None

    @property
    def results(self) -> Path:
        return self.choice.options.results

    def on_mount(self) -> None:
        start = StartScreen(self.choice)
        self.push_screen(start)
        if self.browse_first:
            self.browse()
        elif self.autorun:
            self.call_after_refresh(start.action_run)

    def start_run(self, choice: RunChoice, tasks: list) -> None:
        """Play ``choice`` on a new run screen."""
        self.choice = choice
        episodes = 1 if choice.freeform else len(tasks) * choice.options.rollouts
        screen = RunScreen(RunSession(choice, tasks, post=lambda m: screen.post_message(m)), self.images,
                           episodes)
        self.running = screen
        self.push_screen(screen)

    def run_finished(self, screen: RunScreen) -> None:
        if screen is self.running:
            self.running = None
        if self.quitting:
            self.exit()

    def browse(self, root: Path | None = None) -> None:
        self.push_screen(RunsScreen(root or self.results))

    async def action_quit(self) -> None:
        if self.running is not None and self.running.outcome is None:
            if not self.quitting:
                self.quitting = True
                self.running.session.control.stop("run")
                self.notify("stopping the run; quitting once its episode is written")
            return
        self.exit()
