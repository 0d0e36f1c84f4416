"""Describe a config's checkpoint without allocating it: the model is built on the meta device."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from kimicua.model.config import KimiVLConfig
from kimicua.model.kimi_vl import KimiVL
from kimicua.model.weights import checkpoint_tensors as _checkpoint_tensors


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        return torch.Size(self.shape).numel()


def meta_model(config: KimiVLConfig) -> KimiVL:
    """The full model with shapes but no storage."""
    with torch.device("meta"):
        return KimiVL(config)


def checkpoint_tensors(config: KimiVLConfig) -> list[TensorInfo]:
    """Official tensor names and shapes, including the stored `rotary_emb.inv_freq` buffers."""
    return [TensorInfo(n, s) for n, s in _checkpoint_tensors(meta_model(config), include_inv_freq=True)]


def parameter_counts(config: KimiVLConfig) -> dict[str, int]:
    """Parameters per component (buffers such as inv_freq are not parameters)."""
    m = meta_model(config)
    parts = {
        "language_model": m.language_model,
        "vision_tower": m.vision_tower,
        "multi_modal_projector": m.multi_modal_projector,
    }
    counts = {k: sum(p.numel() for p in v.parameters()) for k, v in parts.items()}
    counts["total"] = sum(counts.values())
    return counts


def active_parameters(config: KimiVLConfig) -> int:
    """Decoder parameters touched per token (shared + top-k routed experts, not the others)."""
    t = config.text
    m = meta_model(config)
    total = sum(p.numel() for p in m.language_model.parameters())
    n_moe = sum(t.is_moe_layer(i) for i in range(t.num_layers))
    per_expert = 3 * t.hidden_size * t.moe_intermediate_size
    unused = n_moe * (t.n_routed_experts - t.num_experts_per_tok) * per_expert
    return total - unused - t.vocab_size * t.hidden_size  # the embedding is a lookup, not a read
