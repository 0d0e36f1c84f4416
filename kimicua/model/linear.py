"""Linear layers whose decode (a few rows times a big weight) runs at the memory bound on CPU.

A decode step multiplies one row per sequence by every weight: matrix-vector products, which
should stream the weight at memory bandwidth. The stock CPU kernels do not (measured on a 2-core
AVX512 EPYC, benchmarks/model_cpu.py): MKL's fp32 gemv works on one core (~19 GB/s where a sum
reads ~40), and oneDNN's bf16 product over a plain row-major weight reaches ~17 GB/s. Two routes
reach the bound without changing the weight's layout or copying it:

- fp32, up to SPLIT_MAX_ROWS rows, weights of SPLIT_MIN_BYTES or more: the weight's rows cut
  into blocks, multiplied as one batched product (MKL runs a batch in parallel, block by block);
  smaller weights sit in cache, where one core's gemv is quicker than a parallel region;
- bf16/fp16, one row: ATen's own reduced-precision gemv (fp32 accumulation), which the dispatcher
  picks once oneDNN is off for the call.

Anything else (prefill, CUDA) is plain F.linear. Both routes are differentiable.
Legend: M rows, D in features, N out features, k weight blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SPLIT = (8, 4, 2)  # weight blocks, the first that divides N
SPLIT_MAX_ROWS = 16  # above this MKL's own sgemm is as good
SPLIT_MIN_BYTES = 1 << 20


def linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x [..., D] @ weight [N, D]^T -> [..., N], the same product as F.linear (no bias)."""
    if x.is_cuda:
        return F.linear(x, weight)
    N, D = weight.shape
    M = x.numel() // D
    if weight.dtype == torch.float32:
        if not 0 < M <= SPLIT_MAX_ROWS or N * D * 4 < SPLIT_MIN_BYTES or not weight.is_contiguous():
            return F.linear(x, weight)
        k = next((k for k in SPLIT if N % k == 0), 1)
        rows = x.reshape(M, D)
        out = torch.bmm(weight.view(k, N // k, D), rows.t().expand(k, D, M))  # [k, N/k, M]
        out = out.view(N, M).t()  # [M, N], a view when M == 1
        return (out if M == 1 else out.contiguous()).view(*x.shape[:-1], N)
    if M == 1 and weight.dtype in (torch.bfloat16, torch.float16) and torch._C._get_mkldnn_enabled():
        torch._C._set_mkldnn_enabled(False)
        try:
            return F.linear(x, weight)
        finally:
            torch._C._set_mkldnn_enabled(True)
    return F.linear(x, weight)


class Linear(nn.Linear):
    """nn.Linear without bias whose forward takes the decode routes above; same parameter names."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight)
