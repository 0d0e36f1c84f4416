"""Generation engine: prefill + decode over an MLA latent KV cache, greedy or sampled.

Kept apart from the model (gpt-fast generate.py / nanochat engine.py style): the model only
knows how to run tokens through a cache (`KimiVL.step`); this module owns the cache, the
loop, sampling, stopping and timing.
Legend: B batch, T max tokens, K latent (512), R rope dim (64), V vocab.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from kimicua.model.attention import LayerCache
from kimicua.model.kimi_vl import KimiVL


@dataclass(frozen=True)
class Generation:
    """Generated tokens (stop token excluded) and the log-prob of each one.

    `logprobs[i]` is log_softmax of the model's RAW logits (temperature 1, no top-p) at the
    chosen token: the model's own belief, comparable across sampling settings.
    """

    token_ids: list[int]
    logprobs: list[float]
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int
    prefill_s: float
    decode_s: float

    @property
    def decode_tokens_per_s(self) -> float:
        steps = max(len(self.token_ids) - 1 + (self.finish_reason == "stop"), 0)
        return steps / self.decode_s if self.decode_s > 0 else 0.0


def new_cache(model: KimiVL, batch: int, max_tokens: int) -> list[LayerCache]:
    """Per-layer latent caches [B, T, K] + [B, T, R] on the embedding's device, model dtype."""
    t = model.config.text
    dev, dt = model.device, model.dtype
    return [
        LayerCache(
            latent=torch.zeros(batch, max_tokens, t.kv_lora_rank, device=dev, dtype=dt),
            k_rope=torch.zeros(batch, max_tokens, t.qk_rope_head_dim, device=dev, dtype=dt),
        )
        for _ in range(t.num_layers)
    ]


def sample(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    """logits [B, V] float32 -> token ids [B]: argmax at temperature 0, else temperature + nucleus."""
    if temperature <= 0.0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # keep the smallest prefix whose mass reaches top_p (the first token always stays)
        drop = (sorted_p.cumsum(-1) - sorted_p) >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def generate(
    model: KimiVL,
    input_ids: torch.Tensor | Sequence[int],
    pixel_values: torch.Tensor | None = None,
    image_grid_hws: torch.Tensor | None = None,
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop_token_ids: Sequence[int] = (),
) -> Generation:
    """Generate for one prompt (input_ids [1, L] or [L]); greedy when temperature == 0."""
    dev = model.device
    ids = torch.as_tensor(input_ids, dtype=torch.long, device=dev).reshape(1, -1)
    L = ids.shape[1]
    generator = None
    if temperature > 0.0 and seed is not None:
        generator = torch.Generator(device=dev).manual_seed(seed)
    stops = set(int(s) for s in stop_token_ids)
    caches = new_cache(model, 1, L + max_new_tokens)

    # An image placeholder cannot be generated: there is no image to put behind it,
    # and feeding it back would ask the model for image features it does not have.
    media = model.config.media_placeholder_token_id

    t0 = time.perf_counter()
    logits = model.step(ids, caches, 0, pixel_values, image_grid_hws)[:, -1].float()  # [1, V]
    _sync(dev)
    t1 = time.perf_counter()
    tokens: list[int] = []
    logprobs: list[float] = []
    finish: Literal["stop", "length"] = "length"
    for i in range(max_new_tokens):
        logits[:, media] = float("-inf")
        tok = sample(logits, temperature, top_p, generator)  # [1]
        token = int(tok)
        if token in stops:
            finish = "stop"
            break
        tokens.append(token)
        logprobs.append(float(torch.log_softmax(logits, dim=-1)[0, token]))
        if i + 1 == max_new_tokens:
            break
        logits = model.step(tok.view(1, 1), caches, L + i)[:, -1].float()
    _sync(dev)
    t2 = time.perf_counter()
    return Generation(tokens, logprobs, finish, L, t1 - t0, t2 - t1)
