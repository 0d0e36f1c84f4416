"""Multi-head latent attention (MLA, DeepSeek-V2/V3) as used by Moonlight.

The KV cache holds only the normalised latent (kv_lora_rank, 512) and the single shared RoPE
key (64) per token, not full K/V. Prefill expands the latent through kv_b_proj (compute bound);
decode absorbs kv_b_proj into the query and output ("absorbed weights"), attending directly
over the latent cache (bandwidth bound).
Legend: B batch, L new tokens, T cached+new tokens, H heads, N nope dim (128), R rope dim (64),
V value dim (128), K latent (512), D hidden (2048).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kimicua.model.config import TextConfig
from kimicua.model.linear import Linear
from kimicua.model.norm import RMSNorm
from kimicua.model.rope import rotate

try:  # optional: fused causal prefill on CUDA
    from flash_attn import flash_attn_func
except ImportError:
    flash_attn_func = None


@dataclass(frozen=True)
class LayerCache:
    """One layer's MLA cache kv [B, Tmax, K+R]: per token the normalised latent, then the roped
    shared key, side by side, so one write stores a token and one product scores it."""

    kv: torch.Tensor
    rank: int  # K: where the latent ends and the rope key begins

    @classmethod
    def zeros(cls, batch: int, max_tokens: int, cfg: TextConfig, device=None, dtype=None) -> LayerCache:
        width = cfg.kv_lora_rank + cfg.qk_rope_head_dim
        return cls(torch.zeros(batch, max_tokens, width, device=device, dtype=dtype), cfg.kv_lora_rank)

    @property
    def latent(self) -> torch.Tensor:
        return self.kv[..., : self.rank]  # [B, Tmax, K]

    @property
    def k_rope(self) -> torch.Tensor:
        return self.kv[..., self.rank :]  # [B, Tmax, R]

    def rows(self, start: int, stop: int) -> LayerCache:
        """Rows start..stop-1 as a cache of their own (a view: writes land in this one)."""
        return LayerCache(self.kv[start:stop], self.rank)


@dataclass(frozen=True)
class RowPositions:
    """Each row's own positions for one step over slot caches [S, T, ...], built once for all layers.

    `write` [B*L] indexes the new tokens' entries in a cache flattened to [S*T, ...] (row b's
    token j at b*T + its position). `mask` [B, 1, L, span] is added to the attention scores over
    cache positions 0..span-1: 0 up to each token's own position, -inf past it, so entries past a
    row's length (unwritten, or left by an earlier sequence in that slot) never count. The span
    only needs to reach the longest row: attention then reads what the rows hold, not all T.
    """

    write: torch.Tensor
    mask: torch.Tensor

    @property
    def span(self) -> int:
        return self.mask.shape[-1]

    @classmethod
    def of(cls, pos: torch.Tensor, cols: torch.Tensor, max_tokens: int, dtype: torch.dtype) -> RowPositions:
        """pos [B, L]: the new tokens' positions, row by row; cols [span]: 0..span-1, the cache
        positions attended (span > every position in pos); max_tokens: T, each row's cache length."""
        rows = torch.arange(0, pos.shape[0] * max_tokens, max_tokens, device=pos.device)[:, None]  # [B, 1]
        hidden = cols > pos.unsqueeze(-1)  # [B, L, span]
        mask = torch.zeros(hidden.shape, dtype=dtype, device=pos.device).masked_fill_(hidden, float("-inf"))
        return cls((rows + pos).flatten(), mask.unsqueeze(1))


class MLA(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        H, D = cfg.num_heads, cfg.hidden_size
        self.q_proj = Linear(D, H * cfg.qk_head_dim)
        self.kv_a_proj_with_mqa = Linear(D, cfg.kv_lora_rank + cfg.qk_rope_head_dim)
        self.kv_a_layernorm = RMSNorm(cfg.kv_lora_rank, eps=cfg.kv_norm_eps)
        self.kv_b_proj = Linear(cfg.kv_lora_rank, H * (cfg.qk_nope_head_dim + cfg.v_head_dim))
        self.o_proj = Linear(H * cfg.v_head_dim, D)
        self.scale = cfg.qk_head_dim**-0.5
        self._uk_uv: tuple | None = None  # (key, w_uk [H, N, K], w_uv^T [H, K, V])

    def absorbed_weights(self) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """kv_b_proj split per head, laid out for the decode products: (W_uk, W_uv, matvec).

        matvec (CPU fp32): W_uk^T [H, K, N] (a copy) and W_uv [H, V, K] (a view of kv_b_proj), so
        both products are weight @ vector, which MKL streams ~2-3x faster than vector @ weight.
        Otherwise (bf16, where oneDNN prefers the other side; CUDA): W_uk [H, N, K] and W_uv^T
        [H, K, V], both copies. Cached because strided views make every decode bmm copy; the key
        follows the weight's storage and in-place version, so loads/offload refresh it.
        """
        c, w = self.cfg, self.kv_b_proj.weight
        key = (w.data_ptr(), w.device, w.dtype, 0 if w.is_inference() else w._version)  # inference tensors have no version
        if self._uk_uv is None or self._uk_uv[0] != key:
            w3 = w.detach().view(c.num_heads, c.qk_nope_head_dim + c.v_head_dim, c.kv_lora_rank)
            w_uk, w_uv = w3.split([c.qk_nope_head_dim, c.v_head_dim], dim=1)  # [H, N, K], [H, V, K]
            if w.device.type == "cpu" and w.dtype == torch.float32:
                self._uk_uv = (key, w_uk.transpose(1, 2).contiguous(), w_uv, True)
            else:
                self._uk_uv = (key, w_uk.contiguous(), w_uv.transpose(1, 2).contiguous(), False)
        return self._uk_uv[1:]

    def forward(
        self,
        x: torch.Tensor,
        rot: torch.Tensor,
        cache: LayerCache | None = None,
        start: int | RowPositions = 0,
    ) -> torch.Tensor:
        """x [B, L, D] at positions start..start+L-1 -> [B, L, D].

        `rot` is rope.rotation of the positions: [L, 1, R/2] when `start` is an int (every row at
        the same position), [B, L, 1, R/2] with RowPositions (decode of cache slots holding
        sequences of different lengths: always the absorbed path).
        """
        c = self.cfg
        B, L, _ = x.shape
        K = c.kv_lora_rank
        q = self.q_proj(x).view(B, L, c.num_heads, c.qk_head_dim)
        q_nope, q_rope = q.split([c.qk_nope_head_dim, c.qk_rope_head_dim], dim=-1)
        q_rope = rotate(q_rope, rot)  # [B, L, H, R]
        latent, k_rope = self.kv_a_proj_with_mqa(x).split([K, c.qk_rope_head_dim], dim=-1)
        entry = torch.cat([self.kv_a_layernorm(latent), rotate(k_rope.unsqueeze(2), rot).squeeze(2)], -1)  # [B, L, K+R]
        if cache is None or (isinstance(start, int) and start == 0):
            if cache is not None:
                cache.kv[:B, :L] = entry
            out = self._expanded(q_nope, q_rope, entry[..., :K], entry[..., K:])
        elif isinstance(start, RowPositions):
            # one in-place kernel: no cache-sized temporaries
            cache.kv.view(-1, entry.shape[-1]).index_copy_(0, start.write, entry.view(B * L, -1))
            out = self._absorbed(q_nope, q_rope, cache.kv[:B, : start.span], start.mask)
        else:
            cache.kv[:B, start : start + L] = entry
            # the WHOLE preallocated cache, masked: shapes stay fixed across decode steps, so
            # oneDNN (bf16 on CPU) and CUDA kernels are reused instead of rebuilt per length
            T = cache.kv.shape[1]
            pos = torch.arange(start, start + L, device=x.device)  # new token i sits at start+i
            hidden = torch.arange(T, device=x.device) > pos[:, None]  # [L, T]: past its own position
            mask = torch.zeros(L, T, dtype=x.dtype, device=x.device).masked_fill_(hidden, float("-inf"))
            out = self._absorbed(q_nope, q_rope, cache.kv[:B], mask)
        return self.o_proj(out.reshape(B, L, -1))

    def _expanded(self, q_nope, q_rope, latent, k_rope) -> torch.Tensor:
        """Causal attention over the new tokens only, latent expanded to per-head K/V."""
        c = self.cfg
        B, L, H, _ = q_nope.shape
        kv = self.kv_b_proj(latent).view(B, L, H, c.qk_nope_head_dim + c.v_head_dim)
        k_nope, v = kv.split([c.qk_nope_head_dim, c.v_head_dim], dim=-1)
        q = torch.cat([q_nope, q_rope], dim=-1)  # [B, L, H, N+R]
        k = torch.cat([k_nope, k_rope.unsqueeze(2).expand(B, L, H, -1)], dim=-1)
        # fused kernels want one head dim for q, k and v: zero-pad v (N+R) and cut the output
        # back to V; on CPU this is ~3x faster than SDPA's math fallback for unequal dims
        v = F.pad(v, (0, q.shape[-1] - c.v_head_dim))
        if flash_attn_func is not None and q.is_cuda and q.dtype in (torch.float16, torch.bfloat16):
            out = flash_attn_func(q, k, v, causal=True, softmax_scale=self.scale)
        else:
            out = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=L > 1, scale=self.scale
            ).transpose(1, 2)
        return out[..., : c.v_head_dim]  # [B, L, H, V]

    def _absorbed(self, q_nope, q_rope, kv, mask: torch.Tensor) -> torch.Tensor:
        """Attention straight over the latent cache kv [B, T, K+R]: kv_b_proj folded into q and the output.

        `mask` [L, T] or [B, 1, L, T] is added to the scores: 0 where a new token may attend, -inf elsewhere.

        q_nope . k_nope = q_nope . (W_uk latent) = (W_uk^T q_nope) . latent, and
        sum p v = W_uv (sum p latent): per head, one [N, K] and one [V, K] matrix. The heads share
        one key (the cache row) and one value (its latent part): they fold into the query rows of
        a single-head attention, [B, 1, H*L, K+R] against [B, 1, T, K+R].
        """
        B, L, H, _ = q_nope.shape
        K = self.cfg.kv_lora_rank
        w_uk, w_uv, matvec = self.absorbed_weights()
        q_nope = q_nope.permute(2, 0, 1, 3).reshape(H, B * L, -1)  # [H, B*L, N]
        if matvec:  # [H, K, N] @ [H, N, B*L]
            q_lat = torch.bmm(w_uk, q_nope.transpose(1, 2)).transpose(1, 2)  # [H, B*L, K]
        else:  # [H, B*L, N] @ [H, N, K]
            q_lat = torch.bmm(q_nope, w_uk)
        q = torch.cat([q_lat.view(H, B, L, K).transpose(0, 1), q_rope.transpose(1, 2)], -1)  # [B, H, L, K+R]
        if L > 1:  # each head's rows see what their token sees
            mask = mask.view(-1, 1, 1, L, kv.shape[1]).expand(-1, 1, H, -1, -1).flatten(2, 3)
        kv = kv.unsqueeze(1)  # [B, 1, T, K+R]: the value is the latent, the rope key rides along
        out = latent_attention(q.view(B, 1, H * L, -1), kv, mask, self.scale)
        out = out[..., :K].view(B, H, L, K).transpose(0, 1).reshape(H, B * L, K)  # [H, B*L, K]
        if matvec:  # [H, V, K] @ [H, K, B*L]
            out = torch.bmm(w_uv, out.transpose(1, 2)).transpose(1, 2)  # [H, B*L, V]
        else:  # [H, B*L, K] @ [H, K, V]
            out = torch.bmm(out, w_uv)
        return out.view(H, B, L, -1).permute(1, 2, 0, 3)  # [B, L, H, V]


PRODUCT_ROWS_MAX = 128  # query rows (heads x new tokens) up to which CUDA attention is two products


def latent_attention(q: torch.Tensor, kv: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
    """softmax(q kv^T * scale + mask) kv: q [B, 1, M, K+R] (every head's rows) over kv [B, 1, T, K+R].

    On CUDA as two batched products around a float32 softmax: the fused SDPA kernels tile over
    (batch, head, 32-row query blocks), which is ONE block for a decode step's 16 rows, so one
    multiprocessor streamed the whole cache (127 us a layer at 2k positions on an H200, a third
    of the step); cuBLAS splits the products over the cache instead. With many rows (a chunk of
    new tokens over a cache) the fused kernels fill the GPU and skip the [M, T] scores; on CPU,
    SDPA's fused kernel always.
    """
    if not q.is_cuda or q.shape[-2] > PRODUCT_ROWS_MAX:
        return F.scaled_dot_product_attention(q, kv, kv, attn_mask=mask, scale=scale)
    return attention_products(q, kv, mask, scale)


def attention_products(q: torch.Tensor, kv: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
    """latent_attention as two products around a float32 softmax (any device)."""
    scores = torch.matmul(q, kv.transpose(-1, -2)).float().mul_(scale).add_(mask)  # [B, 1, M, T]
    return torch.matmul(scores.softmax(-1).to(kv.dtype), kv)
