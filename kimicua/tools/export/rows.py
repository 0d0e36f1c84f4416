"""Rows of each export level, built from one episode's turns.

Step level: one row per model turn, with the step reward (0 before the last turn, the
episode's score on it), the episode's return and its group advantage.

Episode level, in the shape of verl's ``AgentLoopOutput``: prompt ids, then response
ids that run through every later turn, with a response mask (1 for the model's tokens,
0 for the tokens the environment put between turns) and logprobs (0.0 under mask 0, as
verl pads them). That is only true to what the model saw when each turn's prompt ids
start with the previous turn's prompt + response ids. kimicua rebuilds its prompt each
turn (history as text, the previous answer reformatted, older screenshots dropped), so
where a turn does not extend the one before, a new row starts: one row per maximal
chain of extending turns (``segment`` k of ``num_segments``), each with the episode's
reward. A turn without prompt ids (a server does not return them) is a row of its own,
its missing token columns null.

``routed_experts`` (with --record-routing): per response token, per MoE layer, the top-k
experts of the forward pass that produced the token's logprob -- aligned with
``response_logprobs``, so a trainer replays the routing where it computes each logprob
(verl's per-position array holds row i at the position of token i-1). Under mask 0 the rows
are zeros; a segment with a turn that has no record gets null.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kimicua.tools.export.advantages import NO_GROUP, GroupStats
from kimicua.tools.export.source import EpisodeInfo
from kimicua.tools.export.turns import ModelTurn


def messages_column(messages: list[dict] | None) -> list[dict] | None:
    """Chat messages in one typed shape: each content a list of {type, text, file}
    items (a string content is one text item), so parquet can hold them."""
    if messages is None:
        return None
    out = []
    for m in messages:
        content = m.get("content")
        items = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        out.append({"role": m.get("role"), "content": [
            {"type": item.get("type"), "text": item.get("text"), "file": item.get("file")} for item in items]})
    return out


def _group(stats: GroupStats | None, score: float | None) -> dict:
    return NO_GROUP if stats is None else stats.columns(score)


def step_rows(info: EpisodeInfo, turns: list[ModelTurn], stats: GroupStats | None) -> Iterator[dict]:
    """One row per model turn."""
    score = info.score
    for i, t in enumerate(turns):
        last = i == len(turns) - 1
        yield {
            **info.identity(),
            "turn": t.number, "num_turns": len(turns), "is_last": last,
            "step_nums": [s.step_num for s in t.lines],
            "prompt_messages": messages_column(t.prompt_messages), "prompt_images": t.images,
            "response": t.first.response,
            "prompt_token_ids": t.prompt_ids, "response_token_ids": t.response_ids,
            "response_logprobs": t.logprobs,
            "routing_file": t.routing_file, "routed_experts": t.routed_experts,
            "actions": t.actions, "error": t.error, "timings": t.timings,
            "step_reward": None if score is None else score if last else 0.0,
            "episode_return": score,
            **_group(stats, score),
        }


@dataclass
class Segment:
    """Turns whose prompts extend one another: one sequence, one row."""

    turns: list[ModelTurn]
    prompt_ids: list[int] | None
    response_ids: list[int] | None
    mask: list[int] | None
    logprobs: list[float] | None
    images: list[str | None] = field(default_factory=list)
    experts: list | None = None  # routed_experts rows, aligned with response_ids

    @classmethod
    def start(cls, t: ModelTurn) -> Segment:
        ids = t.response_ids
        return cls([t], t.prompt_ids, ids, None if ids is None else [1] * len(ids),
                   _logprobs(t), t.images, t.routed_experts)

    @property
    def sequence(self) -> list[int] | None:
        if self.prompt_ids is None or self.response_ids is None:
            return None
        return self.prompt_ids + self.response_ids

    def extend(self, t: ModelTurn) -> bool:
        """Take ``t`` in when its prompt ids start with this whole sequence."""
        seq = self.sequence
        prompt = t.prompt_ids
        if seq is None or prompt is None or t.response_ids is None or prompt[:len(seq)] != seq:
            return False
        inserted = len(prompt) - len(seq)
        self.turns.append(t)
        self.response_ids = prompt[len(self.prompt_ids):] + t.response_ids
        self.mask += [0] * inserted + [1] * len(t.response_ids)
        lp = _logprobs(t)
        self.logprobs = None if self.logprobs is None or lp is None else self.logprobs + [0.0] * inserted + lp
        experts = t.routed_experts
        if self.experts is None or experts is None:
            self.experts = None
        else:
            blank = [[0] * len(experts[0][0]) for _ in experts[0]] if experts else []
            self.experts = self.experts + [blank] * inserted + experts
        self.images = t.images  # the last prompt shows every image of the sequence, in order
        return True


def _logprobs(t: ModelTurn) -> list[float] | None:
    """The turn's logprobs when there is one per response token, else None."""
    lp, ids = t.logprobs, t.response_ids
    return lp if lp is not None and ids is not None and len(lp) == len(ids) else None


def segments(turns: list[ModelTurn]) -> list[Segment]:
    """The maximal chains of turns whose prompts extend the sequence before them."""
    out: list[Segment] = []
    for t in turns:
        if not out or not out[-1].extend(t):
            out.append(Segment.start(t))
    return out


def episode_rows(info: EpisodeInfo, turns: list[ModelTurn], stats: GroupStats | None) -> Iterator[dict]:
    """One row per segment (one per episode where every turn extends the last)."""
    chains = segments(turns)
    for k, seg in enumerate(chains):
        yield {
            **info.identity(),
            "segment": k, "num_segments": len(chains),
            "turns": [t.number for t in seg.turns], "num_turns": len(seg.turns), "episode_turns": len(turns),
            "prompt_messages": messages_column(seg.turns[0].prompt_messages),
            "responses": [t.first.response for t in seg.turns],
            "prompt_ids": seg.prompt_ids, "response_ids": seg.response_ids,
            "response_mask": seg.mask, "response_logprobs": seg.logprobs,
            "routed_experts": seg.experts,
            "images": seg.images, "reward": info.score,
            **_group(stats, info.score),
        }
