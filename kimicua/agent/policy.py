"""The policy contract: a prompt goes in, the model's reply comes out.

Backends (local Kimi-VL, an OpenAI-compatible server, a scripted list of actions)
implement ``Policy``; the episode loop depends on nothing else of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from kimicua.env.actions import Action
from kimicua.env.geometry import Size


@dataclass(frozen=True, slots=True)
class Prompt:
    """OpenAI-style chat messages plus the images their image items refer to.

    ``messages[i]["content"]`` is a string or a list of ``{"type": "text", "text": ...}``
    and ``{"type": "image"}`` items; the image items take ``images`` in order
    (RGB uint8 [H, W, 3] at native resolution).
    """

    messages: list[dict]
    images: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reply:
    """The model's answer and what the trajectory records about it.

    ``token_ids``/``logprobs`` are the answer's tokens; ``prompt_token_ids`` the prompt's
    (local model only: a server does not return them). ``image_size`` is the size (unpadded) the last screenshot was resized to before
    the model saw it, when the backend knows it; ``actions`` is set only by
    policies that act without text (the scripted one).
    """

    text: str
    model: str
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    prompt_token_ids: list[int] | None = None  # what the model was shown, when the backend knows
    image_size: Size | None = None
    actions: tuple[Action, ...] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # the local model's routing record (record_routing): top-k expert ids per answer token, stop
    # included, and MoE layer, uint8 [len(token_ids), M, A] (model/routing.py); None otherwise
    routing: np.ndarray | None = None


@runtime_checkable
class Policy(Protocol):
    name: str

    def act(self, prompt: Prompt) -> Reply:
        """Answer one prompt."""
        ...

    def act_batch(self, prompts: list[Prompt]) -> list[Reply]:
        """Answer several prompts at once, replies in order, each as ``act`` would answer it in turn."""
        ...

    def check(self) -> None:
        """Fail fast (one line) when the model cannot answer at all: a run calls it
        once before its first task."""
        ...

    def reset(self, seed: int | None) -> None:
        """A new episode begins: its sampling derives from ``seed`` (rollouts of a task
        get different seeds, and replaying one episode gets its own answers back)."""
        ...

    def close(self) -> None: ...
