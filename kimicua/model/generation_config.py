"""A checkpoint's sampling defaults (generation_config.json) and whether it is a thinking one.

The family's checkpoints share one architecture (docs/kimi-vl.md section 10); what differs is
read from their files:
- ``generation_config.json`` (Hugging Face's format): ``temperature``, ``top_p`` and
  ``max_new_tokens`` when present; ``do_sample: false`` means greedy. ``max_length`` counts the
  prompt too, so it is not a new-token budget and is not used.
- thinking (the answer starts with a ``◁think▷ ... ◁/think▷`` block): the checkpoint's name
  (its hub id, its directory, or config.json's ``_name_or_path``) says "Thinking", or its chat
  template (tokenizer_config.json) holds the think tag. A thinking checkpoint without its own
  ``max_new_tokens`` gets THINKING_MAX_NEW_TOKENS, so a think block fits in an episode's turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kimicua.model.files import CheckpointError, read_json, take

GENERATION_CONFIG = "generation_config.json"
THINK_OPEN, THINK_CLOSE = "◁think▷", "◁/think▷"
INSTRUCT_MAX_NEW_TOKENS = 512  # an Instruct answer: thought + action + code, a few hundred tokens
THINKING_MAX_NEW_TOKENS = 4096  # the cards sample up to 32k; 4k fits a turn's think block + answer


@dataclass(frozen=True)
class GenerationDefaults:
    """What a checkpoint asks for when the user gives nothing; None where its files are silent."""

    temperature: float | None = None
    top_p: float | None = None
    max_new_tokens: int | None = None
    thinking: bool = False

    @property
    def default_max_new_tokens(self) -> int:
        """The file's max_new_tokens, else the default of the checkpoint's answer style."""
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        return THINKING_MAX_NEW_TOKENS if self.thinking else INSTRUCT_MAX_NEW_TOKENS


def read_generation_defaults(directory: str | Path, name: str = "") -> GenerationDefaults:
    """The defaults of a checkpoint directory; ``name`` is how the user named it (a hub id).

    A generation_config.json that is there but unusable is a one-line CheckpointError naming it.
    """
    directory = Path(directory)
    path = directory / GENERATION_CONFIG
    sampling: dict[str, Any] = {}
    if path.exists():
        data = read_json(path)
        try:
            sampling = _sampling(data)
        except ValueError as e:
            raise CheckpointError(f"{path}: {e}") from None
    return GenerationDefaults(**sampling, thinking=is_thinking(directory, name))


def _sampling(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "temperature" in d:
        out["temperature"] = take(d, "temperature", float, minimum=0.0)
    if "top_p" in d:
        out["top_p"] = take(d, "top_p", float)
        if not 0 < out["top_p"] <= 1:
            raise ValueError(f"top_p is {out['top_p']!r}, expected 0 < top_p <= 1")
    if "max_new_tokens" in d:
        out["max_new_tokens"] = take(d, "max_new_tokens", int, minimum=1)
    if "do_sample" in d and not take(d, "do_sample", bool):
        out["temperature"] = 0.0  # Hugging Face: no sampling means greedy, whatever the temperature
    return out


def is_thinking(directory: str | Path, name: str = "") -> bool:
    """Whether the checkpoint answers with a think block (see the module docstring)."""
    directory = Path(directory)
    names = [name, directory.name]
    config = directory / "config.json"
    if config.exists():
        try:
            names.append(str(json.loads(config.read_text(encoding="utf-8")).get("_name_or_path", "")))
        except (OSError, ValueError, AttributeError):
            pass  # config.json's own reader reports a bad file
    if any("thinking" in n.lower() for n in names):
        return True
    tokenizer_config = directory / "tokenizer_config.json"
    if tokenizer_config.exists():
        try:
            template = json.loads(tokenizer_config.read_text(encoding="utf-8")).get("chat_template")
        except (OSError, ValueError, AttributeError):
            return False  # the tokenizer's own reader reports a bad file
        return isinstance(template, str) and THINK_OPEN in template
    return False


def write_generation_config(out_dir: str | Path, **fields: Any) -> Path:
    """Write generation_config.json with the given Hugging Face keys (tests, tiny checkpoints)."""
    path = Path(out_dir) / GENERATION_CONFIG
    path.write_text(json.dumps(fields, indent=2) + "\n", encoding="utf-8")
    return path
