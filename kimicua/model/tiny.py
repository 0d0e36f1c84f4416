"""A tiny random Kimi-VL checkpoint in the official layout, for tests and demos."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from kimicua.model.config import TINY, KimiVLConfig
from kimicua.model.kimi_vl import KimiVL

TINY_IN_TOKEN_LIMIT = 1024  # patches; keeps tiny images small and fast


def tiny_config(vocab_size: int, bos: int, eos: int, pad: int, media_pad: int) -> KimiVLConfig:
    """The `tiny` preset with the ids and vocabulary of the tiny tokenizer."""
    text = dataclasses.replace(TINY.text, vocab_size=vocab_size, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
    return dataclasses.replace(TINY, text=text, media_placeholder_token_id=media_pad)


def random_init(model: KimiVL, seed: int) -> None:
    """Deterministic init: N(0, 0.02) matrices, norm weights near 1, small biases."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if p.ndim == 1 and name.endswith(".weight") and "norm" in name.rsplit(".", 2)[-2]:
                p.copy_(1.0 + 0.1 * noise)  # RMSNorm / LayerNorm weights
            elif p.ndim == 1:
                p.copy_(0.02 * noise)  # biases, router correction bias
            else:
                p.copy_(0.02 * noise * (1.0 if p.ndim < 3 else 3.0))


def write_tiny_checkpoint(out_dir: str | Path, seed: int = 0) -> Path:
    """Write config.json, preprocessor + tokenizer files and >= 2 bf16 safetensors shards."""
    from kimicua.model.image_processor import write_preprocessor_config
    from kimicua.model.tokenizer import write_tokenizer_files
    from kimicua.model.weights import save_pretrained

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = write_tokenizer_files(out)
    write_preprocessor_config(out, in_token_limit=TINY_IN_TOKEN_LIMIT)
    cfg = tiny_config(tok.vocab_size, tok.bos_id, tok.eos_id, tok.pad_id, tok.media_pad_id)
    model = KimiVL(cfg)
    random_init(model, seed)
    model = model.to(torch.bfloat16)
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    save_pretrained(model, out, max_shard_size=n_bytes // 3 + 1, include_inv_freq=True)
    return out
