"""RMSNorm as the Moonlight decoder computes it."""

from __future__ import annotations

import torch
from torch import nn


class RMSNorm(nn.Module):
    """RMSNorm in float32; the weight is applied AFTER casting back to the input dtype.

    This order matters in bf16: `w * (x / rms).to(bf16)` rounds differently from
    `(w * x / rms).to(bf16)` and from a norm computed in bf16 throughout.
    """

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)
