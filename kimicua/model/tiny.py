"""A tiny random Kimi-VL checkpoint in the official layout, for tests and demos."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from kimicua.model.config import TINY, KimiVLConfig
from kimicua.model.kimi_vl import KimiVL

TINY_IN_TOKEN_LIMIT = 1024  # patches; keeps tiny images small and fast

# The family's processor and answer styles (docs/kimi-vl.md section 10), for tests of each.
# in_token_limit: Instruct/Thinking 4096 patches (a 1080p screen is downscaled to ~1196x672);
# Thinking-2506 takes ~3.2 MP, 1792x1792 = 16384 patches (a 1080p screen goes in unscaled).
# name: config.json's _name_or_path, which says whether the checkpoint thinks.
STYLES = {
    "tiny": {"in_token_limit": TINY_IN_TOKEN_LIMIT, "generation": None, "name": None},
    "instruct": {"in_token_limit": 4096, "generation": None, "name": "Kimi-VL-A3B-Instruct"},
    "thinking-2506": {"in_token_limit": 16384, "generation": {"do_sample": True, "temperature": 0.8},
                      "name": "Kimi-VL-A3B-Thinking-2506"},
}


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


def write_tiny_checkpoint(out_dir: str | Path, seed: int = 0, style: str = "tiny") -> Path:
    """Write config.json, preprocessor + tokenizer files and >= 2 bf16 safetensors shards.

    ``style`` (a key of STYLES) picks the processor's image budget, a generation_config.json
    and the name config.json carries; the weights are the same for every style.
    """
    import json

    from kimicua.model.generation_config import write_generation_config
    from kimicua.model.image_processor import write_preprocessor_config
    from kimicua.model.tokenizer import write_tokenizer_files
    from kimicua.model.weights import save_pretrained

    if style not in STYLES:
        raise ValueError(f"unknown tiny checkpoint style {style!r}; expected one of {', '.join(STYLES)}")
    spec = STYLES[style]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = write_tokenizer_files(out)
    write_preprocessor_config(out, in_token_limit=spec["in_token_limit"])
    if spec["generation"] is not None:
        write_generation_config(out, bos_token_id=tok.bos_id, eos_token_id=[tok.im_end_id, tok.eos_id],
                                **spec["generation"])
    cfg = tiny_config(tok.vocab_size, tok.bos_id, tok.eos_id, tok.pad_id, tok.media_pad_id)
    model = KimiVL(cfg)
    random_init(model, seed)
    model = model.to(torch.bfloat16)
    n_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    save_pretrained(model, out, max_shard_size=n_bytes // 3 + 1, include_inv_freq=True)
    if spec["name"] is not None:
        config = json.loads((out / "config.json").read_text())
        (out / "config.json").write_text(json.dumps({"_name_or_path": f"tiny/{spec['name']}", **config}, indent=2))
    return out
