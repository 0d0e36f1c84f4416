"""The run screen: the live screenshot with the last (or proposed) action marked, the
turn list, the status line, and the controls: pause, next turn, approve, stop.

The loop runs in a worker thread (``RunSession.run``); what it posts arrives here as
messages. This screen only reads them and answers through the session's Control.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input

from kimicua.agent.events import ActionExecuted, EpisodeEnded, EpisodeStarted, ModelAnswered, StepStarted
from kimicua.tools.tui.editing import as_text, read_edit
from kimicua.tools.tui.messages import LoopEvent, Paused, Proposed, RunEnded, RunOutcome
from kimicua.tools.tui.session import Decision, RunSession
from kimicua.tools.tui.widgets.approve import ApproveBar
from kimicua.tools.tui.widgets.screenshot import screenshot_view
from kimicua.tools.tui.widgets.status import RunState, RunStatus
from kimicua.tools.tui.widgets.turns import TurnList, thought_of

ASKING = ("accept", "skip", "edit")  # shown while an action waits for the person
STEERING = ("toggle_pause", "next_turn")  # shown while the loop runs on its own
STOPPING = ("end_episode", "stop_run")  # shown until the run ends
FINISHED = ("open_results", "back")


def final_screen(directory) -> tuple[np.ndarray, tuple[int, int] | None] | None:
    """The screen an episode ended on, from its trajectory (as ``kimicua render`` shows it)."""
    from kimicua.agent.trajectory import TrajectoryError, read_episode
    from kimicua.tools.render.shots import episode_shots

    try:
        end = episode_shots(read_episode(directory))[-1]
        if end.source is None:
            return None
        with Image.open(end.source) as im:
            return np.asarray(im.convert("RGB")), end.screen
    except (TrajectoryError, OSError, ValueError):
        return None


def outcome_line(outcome: RunOutcome) -> str:
    """'2 episodes: done 1.00, stopped -' or why the run never started."""
    if outcome.error:
        return f"the run could not start: {outcome.error}"
    if not outcome.records:
        return "no episode was played"
    parts = [f"{r.status} {'-' if r.score is None else f'{r.score:.2f}'}" for r in outcome.records]
    head = f"{len(outcome.records)} episode{'s' if len(outcome.records) > 1 else ''}"
    return f"{head}: {', '.join(parts)}" + (" (stopped)" if outcome.interrupted else "")


class RunScreen(Screen):
    """Watch and steer one run."""

    BINDINGS = [
        Binding("a", "accept", "Accept"),
        Binding("k", "skip", "Skip"),
        Binding("e", "edit", "Edit"),
        Binding("space", "toggle_pause", "Pause/Resume"),
        Binding("n", "next_turn", "Next turn"),
        Binding("x", "end_episode", "End episode"),
        Binding("s", "stop_run", "Stop"),
        Binding("o", "open_results", "Results"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    RunScreen #main { height: 1fr; }
    RunScreen #screen { width: 3fr; }
    RunScreen #turns { width: 2fr; min-width: 30; border-left: solid $primary-darken-2; }
    """

    def __init__(self, session: RunSession, images: str = "halfblock", episodes: int = 1):
        super().__init__()
        self.session = session
        self.images = images
        self.episodes = episodes
        self.asking: Proposed | None = None
        self.outcome: RunOutcome | None = None
        self.state = RunState(episodes=episodes, budget=session.choice.max_steps)

    def compose(self) -> ComposeResult:
        yield RunStatus(self.state, id="status")
        with Horizontal(id="main"):
            yield screenshot_view(self.images, id="screen")
            yield TurnList(self.session.choice.dialect, id="turns")
        yield ApproveBar(id="approve")
        yield Footer()

    def on_mount(self) -> None:
        self.play()

    @work(thread=True, exclusive=True, group="run")
    def play(self) -> None:
        self.session.run()

    # -- what the loop says -----------------------------------------------------------
    def _status(self, **changes) -> None:
        self.state = self.query_one(RunStatus).set(**changes)
        self.refresh_bindings()

    @on(LoopEvent)
    def loop_event(self, message: LoopEvent) -> None:
        turns = self.query_one(TurnList)
        match message.event:
            case EpisodeStarted(task_id=task_id, instruction=instruction):
                turns.clear()
                self.query_one("#screen").show(None, placeholder="setting up…")
                self._status(episode=self.state.episode + 1, task_id=task_id, instruction=instruction,
                             state="running", turn=0, steps=0, score="-")
            case StepStarted(turn=turn, step=step):
                turns.begin(turn)
                self._status(turn=turn, steps=step)
            case ModelAnswered() as event:
                turns.answered(event)
            case ActionExecuted() as event:
                turns.executed(event)
                self._status(steps=self.state.steps + (event.result is not None))
            case EpisodeEnded(result=result):
                score = "-" if result.score is None else f"{result.score:.2f}"
                self._status(state=result.status, steps=result.steps, score=score)
                if result.directory is not None and (end := final_screen(result.directory)) is not None:
                    self.query_one("#screen").show(end[0], None, end[1])

    @on(Proposed)
    def proposed(self, message: Proposed) -> None:
        obs = message.obs
        self.query_one("#screen").show(obs.screenshot, message.action, (obs.screen.width, obs.screen.height))
        if not message.ask:
            return
        self.asking = message
        dialect = self.session.choice.dialect
        thought = thought_of(dialect, message.reply.text) if message.reply.actions is None else None
        self.query_one(ApproveBar).ask(dialect, as_text(message.action, dialect, obs), thought)
        self._status(state="your turn")

    @on(Paused)
    def paused(self, message: Paused) -> None:
        if self.outcome is None:
            self._status(state="paused" if message.paused else "running")

    @on(RunEnded)
    def run_ended(self, message: RunEnded) -> None:
        self.outcome = message.outcome
        self.asking = None
        self.query_one(ApproveBar).close()
        line = outcome_line(message.outcome)
        if message.outcome.error:
            self._status(state="failed", instruction=line)
            self.notify(line, severity="error", timeout=10)
        else:
            self._status(state=f"finished: {self.state.state}")
            self.notify(line, timeout=6)
        self.app.run_finished(self)

    # -- what the person says ----------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ASKING:
            return self.asking is not None and self.outcome is None
        if action in STEERING:
            return self.asking is None and self.outcome is None
        if action in STOPPING:
            return self.outcome is None
        if action in FINISHED:
            return self.outcome is not None or (action == "back" and self._editing())
        return True

    def _editing(self) -> bool:
        return self.query_one(ApproveBar).has_class("editing")

    def _answer(self, decision: Decision) -> None:
        self.asking = None
        self.query_one(ApproveBar).close()
        self.session.control.answer(decision)
        self._status(state="running")

    def action_accept(self) -> None:
        if self.asking is not None:
            self._answer(Decision("accept"))

    def action_skip(self) -> None:
        if self.asking is not None:
            self._answer(Decision("skip"))

    def action_edit(self) -> None:
        if self.asking is not None:
            self.query_one(ApproveBar).edit(as_text(self.asking.action, self.session.choice.dialect,
                                                    self.asking.obs))

    @on(Input.Submitted, "#edit")
    def edited(self, message: Input.Submitted) -> None:
        if self.asking is None:
            return
        obs = self.asking.obs
        action = read_edit(message.value, self.session.choice.dialect, obs)
        if isinstance(action, str):
            self.query_one(ApproveBar).refuse(action)
            return
        self.query_one("#screen").show(obs.screenshot, action, (obs.screen.width, obs.screen.height))
        self._answer(Decision("edit", action))
        self.set_focus(None)

    def action_toggle_pause(self) -> None:
        control = self.session.control
        if control.paused:
            control.resume()
            self._status(state="running")
        else:
            control.pause()
            self._status(state="pausing…")

    def action_next_turn(self) -> None:
        self.session.control.next_turn()
        self._status(state="running")

    def action_end_episode(self) -> None:
        self.asking = None
        self.query_one(ApproveBar).close()
        self.session.control.stop("episode")
        self._status(state="stopping")

    def action_stop_run(self) -> None:
        self.asking = None
        self.query_one(ApproveBar).close()
        self.session.control.stop("run")
        self._status(state="stopping")

    def action_open_results(self) -> None:
        from kimicua.tools.runner import run_dir
        from kimicua.tools.tui.screens.runs import RunsScreen

        self.app.push_screen(RunsScreen(run_dir(self.session.choice.run_options())))

    def action_back(self) -> None:
        if self._editing():
            self.query_one(ApproveBar).remove_class("editing")
            self.set_focus(None)
        elif self.outcome is not None:
            self.app.pop_screen()
