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
from kimicua.model.norm import RMSNorm
from kimicua.model.rope import apply_rope

try:  # optional: fused causal prefill on CUDA
    from flash_attn import flash_attn_func
except ImportError:
    flash_attn_func = None


@dataclass
class LayerCache:
    """One layer's MLA cache: latent [B, Tmax, K] and roped shared key [B, Tmax, R]."""

    latent: torch.Tensor
    k_rope: torch.Tensor


@dataclass(frozen=True)
class RowPositions:
    """Each row's own positions for one step over slot caches [S, T, ...], built once for all layers.

    `write` [B*L] indexes the new tokens' entries in a cache flattened to [S*T, ...] (row b's
    token j at b*T + its position); `hidden` [B, 1, L, T] is what each new token may NOT attend
    to: the cache positions past its own, so entries past a row's length (unwritten, or left by
    an earlier sequence in that slot) never count.
    """

    write: torch.Tensor
    hidden: torch.Tensor

    @classmethod
    def of(cls, pos: torch.Tensor, max_tokens: int) -> RowPositions:
        """pos [B, L]: the new tokens' positions, row by row."""
        rows = torch.arange(pos.shape[0], device=pos.device)[:, None]  # [B, 1]
        hidden = torch.arange(max_tokens, device=pos.device) > pos.unsqueeze(-1)  # [B, L, T]
        return cls((rows * max_tokens + pos).flatten(), hidden.unsqueeze(1))


class MLA(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        H, D = cfg.num_heads, cfg.hidden_size
        self.q_proj = nn.Linear(D, H * cfg.qk_head_dim, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(D, cfg.kv_lora_rank + cfg.qk_rope_head_dim, bias=False)
        self.kv_a_layernorm = RMSNorm(cfg.kv_lora_rank, eps=cfg.kv_norm_eps)
        self.kv_b_proj = nn.Linear(cfg.kv_lora_rank, H * (cfg.qk_nope_head_dim + cfg.v_head_dim), bias=False)
        self.o_proj = nn.Linear(H * cfg.v_head_dim, D, bias=False)
        self.scale = cfg.qk_head_dim**-0.5
        self._uk_uv: tuple | None = None  # (key, w_uk [H, N, K], w_uv^T [H, K, V])

    def absorbed_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """kv_b_proj split per head into contiguous W_uk [H, N, K] and W_uv^T [H, K, V].

        Cached (same size as kv_b_proj) because strided views make every decode bmm copy;
        the key follows the weight's storage and in-place version, so loads/offload refresh it.
        """
        c, w = self.cfg, self.kv_b_proj.weight
        key = (w.data_ptr(), w.device, w.dtype, 0 if w.is_inference() else w._version)  # inference tensors have no version
        if self._uk_uv is None or self._uk_uv[0] != key:
            w3 = w.detach().view(c.num_heads, c.qk_nope_head_dim + c.v_head_dim, c.kv_lora_rank)
            w_uk, w_uv = w3.split([c.qk_nope_head_dim, c.v_head_dim], dim=1)
            self._uk_uv = (key, w_uk.contiguous(), w_uv.transpose(1, 2).contiguous())
        return self._uk_uv[1], self._uk_uv[2]

    def forward(
        self,
        x: torch.Tensor,
        angles: torch.Tensor,
        cache: LayerCache | None = None,
        start: int | RowPositions = 0,
    ) -> torch.Tensor:
        """x [B, L, D] at positions start..start+L-1 -> [B, L, D].

        `start` is an int with angles [L, R/2] (every row at the same position), or RowPositions
        with angles [B, L, R/2] (decode of cache slots holding sequences of different lengths:
        always the absorbed path; the cache must be contiguous, as new_cache makes it).
        """
        c = self.cfg
        B, L, _ = x.shape
        q = self.q_proj(x).view(B, L, c.num_heads, c.qk_head_dim)
        q_nope, q_rope = q.split([c.qk_nope_head_dim, c.qk_rope_head_dim], dim=-1)
        q_rope = apply_rope(q_rope, angles)  # [B, L, H, R]
        latent, k_rope = self.kv_a_proj_with_mqa(x).split([c.kv_lora_rank, c.qk_rope_head_dim], dim=-1)
        latent = self.kv_a_layernorm(latent)  # [B, L, K]
        k_rope = apply_rope(k_rope.unsqueeze(2), angles).squeeze(2)  # [B, L, R]: one head shared by all
        if cache is not None:
            if isinstance(start, RowPositions):
                # one in-place kernel per tensor: no cache-sized temporaries
                cache.latent.view(-1, c.kv_lora_rank).index_copy_(0, start.write, latent.reshape(B * L, -1))
                cache.k_rope.view(-1, c.qk_rope_head_dim).index_copy_(0, start.write, k_rope.reshape(B * L, -1))
                out = self._absorbed(q_nope, q_rope, cache.latent[:B], cache.k_rope[:B], start.hidden)
                return self.o_proj(out.reshape(B, L, -1))
            cache.latent[:B, start : start + L] = latent
            cache.k_rope[:B, start : start + L] = k_rope
            if start > 0:
                # the WHOLE preallocated cache, masked: shapes stay fixed across decode steps, so
                # oneDNN (bf16 on CPU) and CUDA kernels are reused instead of rebuilt per length
                T = cache.latent.shape[1]
                pos = torch.arange(start, start + L, device=x.device)  # new token i sits at start+i
                hidden = torch.arange(T, device=x.device) > pos[:, None]  # [L, T]: positions past its own
                out = self._absorbed(q_nope, q_rope, cache.latent[:B], cache.k_rope[:B], hidden)
                return self.o_proj(out.reshape(B, L, -1))
        out = self._expanded(q_nope, q_rope, latent, k_rope)
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

    def _absorbed(self, q_nope, q_rope, latent, k_rope, hidden: torch.Tensor) -> torch.Tensor:
        """Attention straight over the latent cache [B, T, K]: kv_b_proj folded into q and the output.

        `hidden` [L, T] or [B, 1, L, T] marks the cache positions a new token must not attend to.

        q_nope . k_nope = q_nope . (W_uk latent) = (W_uk^T q_nope) . latent, and
        sum p v = W_uv (sum p latent): per head, one [N, K] and one [V, K] matrix.
        """
        B, L, H, _ = q_nope.shape
        T = latent.shape[1]
        w_uk, w_uv_t = self.absorbed_weights()  # [H, N, K], [H, K, V]
        q_lat = torch.bmm(q_nope.permute(2, 0, 1, 3).reshape(H, B * L, -1), w_uk)  # [H, B*L, K]
        q_lat = q_lat.view(H, B, L, -1).transpose(0, 1)  # [B, H, L, K]
        # heads folded into rows: one [H*L, K] x [K, T] product per sequence, no cache copies
        scores = q_lat.flatten(1, 2) @ latent.transpose(1, 2)  # [B, H*L, T]
        scores = scores + q_rope.transpose(1, 2).flatten(1, 2) @ k_rope.transpose(1, 2)
        scores = scores.float().view(B, H, L, T) * self.scale
        scores = scores.masked_fill(hidden, float("-inf"))
        probs = scores.softmax(-1).to(latent.dtype).flatten(1, 2)  # [B, H*L, T]
        out = (probs @ latent).view(B, H, L, -1).transpose(0, 1).reshape(H, B * L, -1)  # [H, B*L, K]
        out = torch.bmm(out, w_uv_t)  # [H, B*L, V]
        return out.view(H, B, L, -1).permute(1, 2, 0, 3)  # [B, L, H, V]
