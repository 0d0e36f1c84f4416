"""KimiVL: MoonViT -> projector -> Moonlight, with image features scattered into the text.

Legend: B batch, L tokens, N patches, M image tokens (N/4), D text hidden, V vocab.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from kimicua.model.attention import LayerCache
from kimicua.model.config import KimiVLConfig
from kimicua.model.decoder import Moonlight
from kimicua.model.projector import Projector
from kimicua.model.vision import MoonViT


class KimiVL(nn.Module):
    def __init__(self, cfg: KimiVLConfig):
        super().__init__()
        self.config = cfg
        self.vision_tower = MoonViT(cfg.vision)
        self.multi_modal_projector = Projector(cfg)
        self.language_model = Moonlight(cfg.text)
        self.execution_device: torch.device | None = None  # set when dispatched across devices

    @classmethod
    def from_pretrained(cls, path_or_id: str | Path, dtype=None, device="cpu", device_map=None) -> KimiVL:
        """Load an official checkpoint: a local directory or a hub id (see weights.load_pretrained)."""
        from kimicua.model.weights import load_pretrained

        return load_pretrained(path_or_id, dtype=dtype, device=device, device_map=device_map)

    def save_pretrained(self, out_dir: str | Path, max_shard_size: int | str = "5GB") -> Path:
        """Write config.json + sharded safetensors with the official tensor names."""
        from kimicua.model.weights import save_pretrained

        return save_pretrained(self, out_dir, max_shard_size=max_shard_size)

    @property
    def dtype(self) -> torch.dtype:
        return self.language_model.lm_head.weight.dtype

    @property
    def device(self) -> torch.device:
        """Where inputs and the KV cache live (the main device when dispatched with offload)."""
        return self.execution_device or self.language_model.model.embed_tokens.weight.device

    def embed(self, input_ids: torch.Tensor, pixel_values=None, image_grid_hws=None) -> torch.Tensor:
        """Token embeddings [B, L, D] with image features in the media placeholder positions."""
        emb = self.language_model.model.embed_tokens(input_ids)
        is_media = input_ids == self.config.media_placeholder_token_id
        n_slots = int(is_media.sum())
        if pixel_values is None:
            if n_slots:
                raise ValueError(f"input_ids has {n_slots} image placeholder tokens but no pixel_values were given")
            return emb
        feats = self.image_features(pixel_values, image_grid_hws)  # [M, D]
        if feats.shape[0] != n_slots:
            raise ValueError(
                f"image features ({feats.shape[0]} tokens) do not match the media placeholder tokens "
                f"in input_ids ({n_slots}, id {self.config.media_placeholder_token_id})"
            )
        return emb.masked_scatter(is_media.unsqueeze(-1), feats.to(emb.device, emb.dtype))

    def image_features(self, pixel_values: torch.Tensor, image_grid_hws: torch.Tensor) -> torch.Tensor:
        """pixel_values [N, 3, 14, 14], image_grid_hws [n_images, 2] -> [N/4, D]."""
        if image_grid_hws is None:
            raise ValueError("pixel_values given without image_grid_hws")
        merged = self.vision_tower(pixel_values, image_grid_hws)  # [M, 4, C]
        return self.multi_modal_projector(merged)

    def forward(self, input_ids: torch.Tensor, pixel_values=None, image_grid_hws=None) -> torch.Tensor:
        """input_ids [B, L] -> logits [B, L, V] at every position (training / scoring)."""
        return self.language_model(self.embed(input_ids, pixel_values, image_grid_hws))

    def step(
        self,
        input_ids: torch.Tensor,
        caches: list[LayerCache],
        start: int | torch.Tensor,
        pixel_values=None,
        image_grid_hws=None,
    ) -> torch.Tensor:
        """Generation step: run tokens at start.. through the cache, logits [B, 1, V] of the last one only.

        `start` is an int, or a LongTensor [B] of each row's position (decode of rows at different lengths).
        """
        emb = self.embed(input_ids, pixel_values, image_grid_hws)
        return self.language_model(emb, caches, start, last_only=True)

    def decode(
        self, input_ids: torch.Tensor, caches: list[LayerCache], positions: torch.Tensor, span: int | None = None
    ) -> torch.Tensor:
        """Decode step: one new text token per row (input_ids [B, 1]) at positions [B] -> logits [B, 1, V].

        Attention reads cache positions 0..span-1 (span > every position; default all). No image
        and no placeholder check (the engine never samples the placeholder): nothing here reads
        a value back to the host, so a CUDA graph can record it.
        """
        emb = self.language_model.model.embed_tokens(input_ids)
        return self.language_model(emb, caches, positions, last_only=True, span=span)
