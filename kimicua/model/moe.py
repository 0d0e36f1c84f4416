"""Mixture of experts: sigmoid router + a bank of stacked SwiGLU experts + shared experts.

Legend: T tokens, D hidden, E routed experts, A experts per token, I expert width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kimicua.model.config import TextConfig


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)): the dense MLP of layer 0 and the fused shared experts."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Router(nn.Module):
    """noaux_tc routing: choose by biased sigmoid scores, weigh by the unbiased ones."""

    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.top_k = cfg.num_experts_per_tok
        self.norm_topk_prob = cfg.norm_topk_prob
        self.scaling = cfg.routed_scaling_factor
        self.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size))
        self.e_score_correction_bias = nn.Parameter(torch.zeros(cfg.n_routed_experts))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [T, D] -> (expert ids [T, A], float32 weights [T, A])."""
        scores = F.linear(x.float(), self.weight.float()).sigmoid()  # [T, E] in float32
        choice = scores + self.e_score_correction_bias.float()  # bias steers the choice only
        ids = choice.topk(self.top_k, dim=-1, sorted=False).indices  # [T, A]
        weights = scores.gather(1, ids)
        if self.top_k > 1 and self.norm_topk_prob:
            weights = weights / (weights.sum(-1, keepdim=True) + 1e-20)
        return ids, weights * self.scaling


GATHER_MAX_PAIRS = 8  # (token, expert) pairs up to which CUDA decode gathers expert weights


class ExpertBank(nn.Module):
    """E SwiGLU experts as stacked tensors: w13 [E, 2I, D] (gate rows, then up rows), w2 [E, D, I]."""

    def __init__(self, n_experts: int, dim: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.w13 = nn.Parameter(torch.empty(n_experts, 2 * hidden, dim))
        self.w2 = nn.Parameter(torch.empty(n_experts, dim, hidden))

    def forward(self, x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """x [T, D], ids/weights [T, A] -> [T, D]."""
        if x.is_cuda and ids.numel() <= GATHER_MAX_PAIRS:
            return self.gathered(x, ids, weights)
        return self.grouped(x, ids, weights)

    def gathered(self, x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Decode: gather the chosen experts' weights and run one batched matmul per projection.

        No host sync and a fixed number of kernels (CUDA-graph friendly); it copies A experts'
        weights, so it only pays off for a handful of (token, expert) pairs on a GPU.
        """
        T, A = ids.shape
        flat = ids.flatten()  # [T*A]
        xs = x.repeat_interleave(A, dim=0).unsqueeze(-1)  # [T*A, D, 1]
        gate, up = torch.bmm(self.w13[flat], xs).chunk(2, dim=1)  # [T*A, I, 1] each
        out = torch.bmm(self.w2[flat], F.silu(gate) * up).squeeze(-1)  # [T*A, D]
        y = (out.view(T, A, -1).float() * weights.unsqueeze(-1)).sum(1)
        return y.to(x.dtype)

    def grouped(self, x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Grouped: sort the T*A (token, expert) pairs by expert, one matmul pair per ACTIVE expert."""
        T, A = ids.shape
        flat = ids.flatten()  # [T*A]
        order = flat.argsort(stable=True)
        counts = torch.bincount(flat, minlength=self.w13.shape[0]).tolist()
        tok = order // A  # token of each sorted pair
        xs = x[tok]  # [T*A, D] grouped by expert
        out = torch.empty_like(xs)
        start = 0
        for e, n in enumerate(counts):
            if n == 0:
                continue
            gate, up = F.linear(xs[start : start + n], self.w13[e]).chunk(2, dim=-1)
            out[start : start + n] = F.linear(F.silu(gate) * up, self.w2[e])
            start += n
        # back to (token, slot) order, then the weighted sum in float32 as the reference does
        unsorted = torch.empty_like(out)
        unsorted[order] = out
        y = (unsorted.view(T, A, -1).float() * weights.unsqueeze(-1)).sum(1)  # [T, D]
        return y.to(x.dtype)


class MoE(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.gate = Router(cfg)
        self.experts = ExpertBank(cfg.n_routed_experts, cfg.hidden_size, cfg.moe_intermediate_size)
        self.shared_experts = SwiGLU(cfg.hidden_size, cfg.shared_intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, D] -> [B, L, D]."""
        shape = x.shape
        flat = x.reshape(-1, shape[-1])  # [T, D]
        ids, weights = self.gate(flat)
        y = self.experts(flat, ids, weights) + self.shared_experts(flat)
        return y.view(shape)
