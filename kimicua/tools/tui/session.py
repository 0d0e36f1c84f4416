"""The worker side of a run: it plays the Runner in a Textual worker thread and is
steered by the UI through a ``Control``.

Pause makes the loop wait before its next turn (step mode pauses after each turn);
stopping the episode raises StopEpisode at the next hook (status "stopped", the run
goes on), stopping the run raises KeyboardInterrupt there: the episode ends as
"interrupted" with its trajectory complete and the run ends, as Ctrl-C does in
``kimicua run``. In approve mode the hook blocks on a queue until the UI answers.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message

from kimicua.agent.episode import StopEpisode
from kimicua.agent.events import EpisodeStarted, Event, StepStarted
from kimicua.agent.policy import Reply
from kimicua.env.actions import Action
from kimicua.env.observation import Observation
from kimicua.tools.tui.choice import RunChoice
from kimicua.tools.tui.messages import LoopEvent, Paused, Proposed, RunEnded, RunOutcome

STOPPED_EPISODE = "stopped by the user (tui)"


@dataclass(frozen=True)
class Decision:
    """The person's answer to a proposed action: accept, skip, edit (with ``action``)
    or stop (the episode)."""

    choice: str
    action: Action | None = None


class Control:
    """Pause, step and stop flags shared by the UI thread and the loop's thread."""

    def __init__(self, mode: str = "autonomous"):
        self.mode = mode
        self._cond = threading.Condition()
        self._paused = False
        self._turns = 0  # turns allowed while paused ("next turn")
        self._stop: str | None = None  # "episode" or "run"
        self._answers: queue.Queue[Decision | None] = queue.Queue()

    # -- the UI's side -----------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused, self._turns = False, 0
            self._cond.notify_all()

    def next_turn(self) -> None:
        """One more turn, then pause again."""
        with self._cond:
            self._paused, self._turns = True, self._turns + 1
            self._cond.notify_all()

    def stop(self, what: str = "run") -> None:
        """End the episode ("episode") or the whole run ("run") at the next hook."""
        with self._cond:
            if self._stop != "run":
                self._stop = what
            self._cond.notify_all()
        self._answers.put(None)  # wakes a hook waiting for a decision

    def answer(self, decision: Decision) -> None:
        self._answers.put(decision)

    # -- the loop's side -----------------------------------------------------------
    def check(self) -> None:
        """Raise what a pending stop asks for (an episode stop is used up)."""
        with self._cond:
            what = self._stop
            if what == "episode":
                self._stop = None
        if what == "run":
            raise KeyboardInterrupt
        if what == "episode":
            raise StopEpisode(STOPPED_EPISODE)

    def before_turn(self, turn: int, on_pause: Callable[[bool], None]) -> None:
        """Wait here while paused (step mode pauses before every turn but the first)."""
        with self._cond:
            if self.mode == "step" and turn > 1:
                self._paused = True
            waited = False
            while self._paused and self._stop is None:
                if self._turns:  # "next turn" was pressed: play this one
                    self._turns -= 1
                    break
                if not waited:
                    on_pause(True)
                    waited = True
                self._cond.wait()
        if waited:
            on_pause(False)
        self.check()

    def decide(self) -> Decision:
        """Block until the UI answers (or a stop)."""
        while True:
            self.check()
            decision = self._answers.get()
            if decision is not None:
                return decision


class RunSession:
    """Plays one RunChoice; ``run`` is the worker's body, ``post`` reaches the UI."""

    def __init__(self, choice: RunChoice, tasks: list, post: Callable[[Message], object]):
        self.choice, self.tasks, self.post = choice, tasks, post
        self.control = Control(choice.mode)

    def on_event(self, event: Event) -> None:
        """Post the event; a turn waits here first while paused (so the UI shows
        it only once it runs), and a pending stop is raised here."""
        if isinstance(event, StepStarted):
            self.control.before_turn(event.turn, lambda paused: self.post(Paused(paused)))
        self.post(LoopEvent(event))
        if isinstance(event, EpisodeStarted):
            self.control.check()

    def approve(self, action: Action, reply: Reply, obs: Observation) -> Action | None:
        """Show every action on its screen; in approve mode wait for the decision."""
        self.control.check()
        ask = self.choice.mode == "approve"
        self.post(Proposed(action, reply, obs, ask))
        if not ask:
            return action
        decision = self.control.decide()
        match decision.choice:
            case "accept":
                return action
            case "skip":
                return None
            case "edit" if decision.action is not None:
                return decision.action
            case _:
                raise StopEpisode(STOPPED_EPISODE)

    def run(self) -> RunOutcome:
        """Play the tasks (or the free-form instruction); post and return the outcome."""
        from kimicua.tools.runner import Runner
        from kimicua.tools.tui.freeform import FreeTask, play_freeform

        choice = self.choice
        try:
            with Runner(choice.run_options(), on_event=self.on_event, approve=self.approve) as runner:
                if choice.freeform:
                    records = [play_freeform(runner, FreeTask(choice.tasks, choice.source))]
                else:
                    records = runner.run(self.tasks)
                interrupted = runner.interrupted or any(r.status == "interrupted" for r in records)
                outcome = RunOutcome(records, interrupted)
        except (ValueError, OSError) as err:  # RunSetupError, BackendError, a results folder in use
            outcome = RunOutcome([], error=" ".join(str(err).split()))
        self.post(RunEnded(outcome))
        return outcome
