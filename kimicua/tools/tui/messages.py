"""Textual messages: what the run's worker thread tells the screens.

The loop's typed events travel as they are (``LoopEvent``); the proposed action and
the screen it will act on come from the approve hook (``Proposed``), and the run's
state from the worker (``Paused``, ``RunEnded``). Posting is thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from kimicua.agent.events import Event
from kimicua.agent.policy import Reply
from kimicua.env.actions import Action
from kimicua.env.observation import Observation
from kimicua.tools.runner import Record


class LoopEvent(Message):
    """One of the episode loop's events (EpisodeStarted ... EpisodeEnded)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class Proposed(Message):
    """The action about to run, the answer it came from and the screen it acts on;
    ``ask``: the loop waits for the person's decision (approve mode)."""

    def __init__(self, action: Action, reply: Reply, obs: Observation, ask: bool) -> None:
        super().__init__()
        self.action, self.reply, self.obs, self.ask = action, reply, obs, ask


class Paused(Message):
    """The loop waits between turns (``paused``) or runs on."""

    def __init__(self, paused: bool) -> None:
        super().__init__()
        self.paused = paused


@dataclass(frozen=True)
class RunOutcome:
    records: list[Record]
    interrupted: bool = False  # stopped like Ctrl-C
    error: str | None = None  # the run could not start (one line)


class RunEnded(Message):
    """The worker is done: every record, or why the run never started."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__()
        self.outcome = outcome
