"""``kimicua run --approve``: each proposed action is shown before it runs.

The terminal shows the model's thought, the action, and a crop of the screen around
the point it acts on (a red cross marks it); the user accepts it, skips it, edits it
(typed in the model's own dialect, or as action JSON) or stops the episode.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from kimicua.agent.dialects import Dialect, get_dialect
from kimicua.agent.episode import StopEpisode
from kimicua.agent.parser import ParseError, parse
from kimicua.agent.policy import Reply
from kimicua.env.actions import Action, ActionError, action_from_json, dumps
from kimicua.env.geometry import Space
from kimicua.env.observation import Observation
from kimicua.tools.terminal.halfblock import crop_around, fit, halfblocks, mark

CROP_PX = (320, 160)  # the screen around the point, in physical pixels
CHOICES = {"a": "accept", "s": "skip", "e": "edit", "t": "stop"}


class TerminalApprover:
    """The ``approve`` hook of the episode loop, asking on ``console``."""

    def __init__(self, console: Console, dialect: str | Dialect, ask: Callable[[str], str] | None = None):
        self.console = console
        self.dialect = get_dialect(dialect) if isinstance(dialect, str) else dialect
        self.ask = ask or (lambda prompt: console.input(prompt))

    def __call__(self, action: Action, reply: Reply, obs: Observation) -> Action | None:
        self.console.print(self._panel(action, reply, obs))
        while True:
            answer = self.ask("[bold]a[/]ccept, [bold]s[/]kip, [bold]e[/]dit or s[bold]t[/]op? [a] ").strip().lower()
            choice = CHOICES.get(answer[:1] or "a")
            if choice == "accept":
                return action
            if choice == "skip":
                return None
            if choice == "stop":
                raise StopEpisode("stopped by the user (--approve)")
            if choice == "edit" and (edited := self._edit(obs)) is not None:
                return edited

    def _edit(self, obs: Observation) -> Action | None:
        text = self.ask(f"the action, in the {self.dialect.name} dialect or as JSON: ")
        action = read_action(text, self.dialect, obs)
        if isinstance(action, str):
            self.console.print(f"[red]{action}[/]")
            return None
        return action

    def _panel(self, action: Action, reply: Reply, obs: Observation) -> Panel:
        parts = []
        thought = self.dialect.thought(reply.text) if reply.actions is None else None
        if thought:
            parts.append(Text(" ".join(thought.split())[:400], style="italic"))
        parts.append(Text(dumps(action), style="bold"))
        point = _point(action)
        if point is not None:
            px, py = obs.frame.convert(*point, Space.LOGICAL, Space.PHYSICAL)
            crop, (cx, cy) = crop_around(obs.screenshot, px, py, *CROP_PX)
            cols = max(20, min(self.console.width - 4, CROP_PX[0] // 4))
            small = fit(crop, cols, cols // 4)
            k = small.shape[1] / crop.shape[1]
            parts.append(halfblocks(mark(small, min(int(cx * k), small.shape[1] - 1),
                                         min(int(cy * k), small.shape[0] - 1))))
        return Panel(Group(*parts), title=f"proposed action: {action.type}", expand=False)


def read_action(text: str, dialect: Dialect, obs: Observation) -> Action | str:
    """One action typed by a person, in the dialect (read as data, never run) or as action
    JSON; else one line saying why not."""
    text = text.strip()
    try:
        if text.startswith("{"):
            return action_from_json(json.loads(text))
        actions = parse(text, dialect, obs.frame)
    except (ParseError, ActionError, ValueError) as err:
        return f"not an action: {' '.join(str(err).split())}"
    if len(actions) != 1:
        return f"one action please, got {len(actions)}"
    return actions[0]


def _point(action: Action) -> tuple[float, float] | None:
    x, y = getattr(action, "x", None), getattr(action, "y", None)
    return None if x is None or y is None else (x, y)
