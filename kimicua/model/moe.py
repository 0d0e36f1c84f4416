"""Mixture of experts: sigmoid router + a bank of stacked SwiGLU experts + shared experts.

Legend: T tokens, D hidden, E routed experts, A experts per token, I expert width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kimicua.model.config import TextConfig
from kimicua.model.linear import Linear, linear


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)): the dense MLP of layer 0 and the fused shared experts."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.gate_proj = Linear(dim, hidden)
        self.up_proj = Linear(dim, hidden)
        self.down_proj = Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def _f32(t: torch.Tensor) -> torch.Tensor:
    return t if t.dtype == torch.float32 else t.float()  # no call where it is one: decode is call-bound


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
        scores = F.linear(_f32(x), _f32(self.weight)).sigmoid()  # [T, E] in float32
        choice = scores + _f32(self.e_score_correction_bias)  # bias steers the choice only
        ids = choice.topk(self.top_k, dim=-1, sorted=False).indices  # [T, A]
        weights = scores.gather(1, ids)
        if self.top_k > 1 and self.norm_topk_prob:
            weights = weights / (weights.sum(-1, keepdim=True) + 1e-20)
        return ids, weights * self.scaling


GATHER_MAX_PAIRS = 8  # (token, expert) pairs up to which CUDA decode without grouped_mm gathers weights
GATHER_MAX_BYTES = 1 << 20  # on CPU, gather when the chosen experts' weights are this small (tiny models)


def native_grouped_mm(x: torch.Tensor) -> bool:
    """Whether F.grouped_mm has a fused kernel for x: bf16 on Hopper/Blackwell GPUs. Elsewhere it
    falls back to a loop that reads the group offsets on the host (a sync per call)."""
    return (
        x.is_cuda and x.dtype == torch.bfloat16 and hasattr(F, "grouped_mm")
        and torch.cuda.get_device_capability(x.device)[0] in (9, 10)
    )


class ExpertBank(nn.Module):
    """E SwiGLU experts as stacked tensors: w13 [E, 2I, D] (gate rows, then up rows), w2 [E, D, I].

    Four ways to run the (token, expert) pairs, all the same function:
    - grouped_mm: pairs sorted by expert, one fused grouped GEMM per projection; reads only the
      chosen experts, no host sync (CUDA graphs). CUDA bf16 on Hopper/Blackwell.
    - gathered: the chosen experts' weights copied into one batched matmul; no host sync, a fixed
      number of kernels. For a few pairs on other GPUs, while a CUDA graph captures (where a host
      read is not allowed), and for tiny experts on CPU (a copy cheaper than a call per expert).
    - grouped: pairs sorted by expert, one product pair per ACTIVE expert, group sizes read on
      the host; the CPU path (decode and prefill) and the eager GPU fallback.
    """

    def __init__(self, n_experts: int, dim: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.w13 = nn.Parameter(torch.empty(n_experts, 2 * hidden, dim))
        self.w2 = nn.Parameter(torch.empty(n_experts, dim, hidden))

    def forward(self, x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """x [T, D], ids/weights [T, A] -> [T, D]."""
        if x.is_cuda:
            if native_grouped_mm(x):
                return self.grouped_mm(x, ids, weights)
            if ids.numel() <= GATHER_MAX_PAIRS or torch.cuda.is_current_stream_capturing():
                return self.gathered(x, ids, weights)
            return self.grouped(x, ids, weights)
        _, I2, D = self.w13.shape
        if ids.numel() * (3 * I2 // 2) * D * self.w13.element_size() <= GATHER_MAX_BYTES:  # the copy's bytes
            return self.gathered(x, ids, weights)
        return self.grouped(x, ids, weights)

    def gathered(self, x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The chosen experts' weights gathered, one batched matmul per projection (copies T*A experts)."""
        T, A = ids.shape
        flat = ids.flatten()  # [T*A]
        xs = x.repeat_interleave(A, dim=0).unsqueeze(-1)  # [T*A, D, 1]
        gate, up = torch.bmm(self.w13.index_select(0, flat), xs).chunk(2, dim=1)  # [T*A, I, 1] each
        out = torch.bmm(self.w2.index_select(0, flat), F.silu(gate) * up).squeeze(-1)  # [T*A, D]
        return self._combine(out, weights, x.dtype)

    def grouped_mm(self, x: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Pairs sorted by expert through F.grouped_mm; group ends found on the device."""
        T, A = ids.shape
        flat = ids.flatten()  # [T*A]
        order = flat.argsort(stable=True)
        experts = torch.arange(self.w13.shape[0], device=x.device)
        ends = torch.searchsorted(flat[order], experts, right=True).to(torch.int32)  # [E] cumulative
        xs = x[order // A]  # [T*A, D] grouped by expert
        gate, up = F.grouped_mm(xs, self.w13.transpose(-2, -1), offs=ends).chunk(2, dim=-1)
        out = F.grouped_mm(F.silu(gate) * up, self.w2.transpose(-2, -1), offs=ends)  # [T*A, D]
        return self._combine(torch.empty_like(out).index_copy_(0, order, out), weights, x.dtype)

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
            gate, up = linear(xs[start : start + n], self.w13[e]).chunk(2, dim=-1)
            out[start : start + n] = linear(F.silu(gate) * up, self.w2[e])
            start += n
        return self._combine(torch.empty_like(out).index_copy_(0, order, out), weights, x.dtype)

    @staticmethod
    def _combine(out: torch.Tensor, weights: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """out [T*A, D] in (token, slot) order -> the weighted sum over slots [T, D], in float32
        as the reference does."""
        T, A = weights.shape
        if out.dtype == torch.float32:  # one product does the weighting and the sum
            return torch.bmm(weights.unsqueeze(1), out.view(T, A, -1)).view(T, -1)
        return (out.view(T, A, -1).float() * weights.unsqueeze(-1)).sum(1).to(dtype)


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
