"""Moonlight: the DeepSeek-V3-style MoE decoder of Kimi-VL.

Legend: B batch, L new tokens, D hidden, V vocab, R rope dim.
"""

from __future__ import annotations

import torch
from torch import nn

from kimicua.model.attention import MLA, LayerCache, RowPositions
from kimicua.model.config import TextConfig
from kimicua.model.linear import Linear
from kimicua.model.moe import MoE, SwiGLU
from kimicua.model.norm import RMSNorm
from kimicua.model.rope import rotation, text_rope_angles


class DecoderLayer(nn.Module):
    def __init__(self, cfg: TextConfig, index: int):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = MLA(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MoE(cfg) if cfg.is_moe_layer(index) else SwiGLU(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x, rot, cache: LayerCache | None = None, start: int | RowPositions = 0):
        x = x + self.self_attn(self.input_layernorm(x), rot, cache, start)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    """Embedding + layers + final norm (the checkpoint's `language_model.model`)."""

    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class Moonlight(nn.Module):
    """Decoder over input embeddings; the lm_head runs only where logits are asked for."""

    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        self.lm_head = Linear(cfg.hidden_size, cfg.vocab_size)
        self._table: tuple[torch.Tensor, torch.Tensor] | None = None  # (cache positions [T], rotations [T, 1, R/2])

    def positions(self, max_tokens: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(0..T-1, their RoPE rotations) for a cache of T positions: made once, indexed every step."""
        if self._table is None or self._table[0].shape[0] != max_tokens or self._table[0].device != device:
            cols = torch.arange(max_tokens, device=device)
            self._table = cols, rotation(text_rope_angles(cols, self.cfg.qk_rope_head_dim, self.cfg.rope_theta))
        return self._table

    def forward(
        self,
        embeds: torch.Tensor,
        caches: list[LayerCache] | None = None,
        start: int | torch.Tensor = 0,
        last_only: bool = False,
        span: int | None = None,
    ) -> torch.Tensor:
        """embeds [B, L, D] at positions start..start+L-1 -> logits [B, L, V] ([B, 1, V] if last_only).

        `start` is an int (all rows alike) or a LongTensor [B] of per-row positions (decode); with
        the latter, attention reads cache positions 0..span-1 (all T by default; the caller
        knows the rows' lengths and passes span > every new position).
        """
        L = embeds.shape[1]
        if isinstance(start, torch.Tensor):
            if caches is None:
                raise ValueError("per-row positions (a start tensor) need caches to decode into")
            T = caches[0].kv.shape[1]
            cols, table = self.positions(T, embeds.device)
            pos = start.unsqueeze(-1) if L == 1 else start.unsqueeze(-1) + cols[:L]  # [B, L]
            start = RowPositions.of(pos, cols[:span], T, embeds.dtype)  # once for all layers
            rot = table[pos]  # [B, L, 1, R/2]
        else:
            pos = torch.arange(start, start + L, device=embeds.device)  # [L]
            rot = rotation(text_rope_angles(pos, self.cfg.qk_rope_head_dim, self.cfg.rope_theta))  # [L, 1, R/2]
        x = embeds
        for i, layer in enumerate(self.model.layers):
            x = layer(x, rot, None if caches is None else caches[i], start)
        if last_only:
            x = x[:, -1:]  # the reference computes lm_head at every position: 163840 x D per token
        return self.lm_head(self.model.norm(x))
