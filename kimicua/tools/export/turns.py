"""An episode's lines folded into model turns.

One model call may give several actions, each its own traj.jsonl line; a turn's
first line (``action_index`` 0) carries what the answer shares: the prompt's messages
and token ids, the answer's token ids and logprobs, and its routing record's file. A line without ``turn`` (schema
version 1, OSWorld's own) is a turn of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kimicua.agent.trajectory import Episode, StepRecord
from kimicua.env.actions import action_to_json
from kimicua.tools.export.columns import TIMING_FIELDS


@dataclass(frozen=True)
class ModelTurn:
    number: int
    lines: tuple[StepRecord, ...]
    prompt_messages: list[dict] | None
    routing: Any = None  # uint8 [response tokens, MoE layers, k] (--record-routing), else None

    @property
    def first(self) -> StepRecord:
        return next((s for s in self.lines if s.action_index == 0), self.lines[0])

    def _shared(self, name: str):
        """A per-answer field: on the first line, or (written otherwise) any line."""
        value = getattr(self.first, name)
        return value if value is not None else next(
            (getattr(s, name) for s in self.lines if getattr(s, name) is not None), None)

    @property
    def prompt_ids(self) -> list[int] | None:
        return self._shared("prompt_token_ids")

    @property
    def response_ids(self) -> list[int] | None:
        return self._shared("token_ids")

    @property
    def logprobs(self) -> list[float] | None:
        return self._shared("logprobs")

    @property
    def routing_file(self) -> str | None:
        return self._shared("routing_file")

    @property
    def routed_experts(self) -> list | None:
        """The routing record as nested lists, when it has a row per response token."""
        ids = self.response_ids
        if self.routing is None or ids is None or len(self.routing) != len(ids):
            return None
        return self.routing.tolist()

    @property
    def images(self) -> list[str | None]:
        return list(self.first.prompt_images)

    @property
    def actions(self) -> list[str]:
        """The executed actions, as compact JSON (a vetoed one left only its error)."""
        return [json.dumps(action_to_json(s.parsed_action), ensure_ascii=False, separators=(",", ":"))
                for s in self.lines if s.parsed_action is not None]

    @property
    def error(self) -> str | None:
        """The parse error, or the execution errors, of the turn; None when all went well."""
        errors = list(dict.fromkeys(s.error for s in self.lines if s.error))
        return "; ".join(errors) or None

    @property
    def timings(self) -> dict[str, float | None]:
        """Seconds per stage, summed over the turn's lines (None: the stage never ran)."""
        out = {}
        for name in TIMING_FIELDS:
            values = [v for s in self.lines if (v := getattr(s.timings, name)) is not None]
            out[name] = sum(values) if values else None
        return out

    @property
    def has_token_ids(self) -> bool:
        return self.prompt_ids is not None and self.response_ids is not None


def model_turns(episode: Episode) -> list[ModelTurn]:
    """The episode's turns in order, each with its lines."""
    groups: list[list[StepRecord]] = []
    for step in episode.steps:
        if groups and step.turn is not None and groups[-1][0].turn == step.turn:
            groups[-1].append(step)
        else:
            groups.append([step])
    return [ModelTurn(lines[0].turn if lines[0].turn is not None else i, tuple(lines),
                      episode.prompt_messages(lines[0]), episode.routing(lines[0]))
            for i, lines in enumerate(groups, start=1)]
