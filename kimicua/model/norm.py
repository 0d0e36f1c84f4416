"""RMSNorm as the Moonlight decoder computes it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
        # F.rms_norm: one call (the same float32 arithmetic) where a decode step is call-bound
        if x.dtype == torch.float32 and self.weight.dtype == torch.float32:
            return F.rms_norm(x, self.weight.shape, self.weight, self.eps)
        return self.weight * F.rms_norm(x.float(), self.weight.shape, None, self.eps).to(x.dtype)
