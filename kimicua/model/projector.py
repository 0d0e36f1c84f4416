"""Projector: merged MoonViT patches -> decoder embeddings.

Legend: M merged tokens, S sub-patches per token (4), C vision hidden, D text hidden.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kimicua.model.config import KimiVLConfig


class Projector(nn.Module):
    """LayerNorm per sub-patch -> flatten -> linear -> GELU (erf) -> linear."""

    def __init__(self, cfg: KimiVLConfig):
        super().__init__()
        v = cfg.vision
        self.pre_norm = nn.LayerNorm(v.hidden_size, eps=v.layer_norm_eps)
        self.linear_1 = nn.Linear(v.merged_dim, v.merged_dim)
        self.linear_2 = nn.Linear(v.merged_dim, cfg.text.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre_norm(x).flatten(1)  # [M, S, C] -> [M, S*C]
        return self.linear_2(F.gelu(self.linear_1(x)))  # [M, D]
