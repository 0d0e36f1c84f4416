"""Kimi-VL configuration: frozen dataclasses read from the official config.json.

Presets: `kimi-vl-a3b` (the published numbers) and `tiny` (for tests). Every number that the
checkpoint's config.json carries is read from it by `KimiVLConfig.from_json`; the LayerNorm /
kv_a_layernorm epsilons are not in the file and are fixed here (see docs/kimi-vl.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class VisionConfig:
    """MoonViT (`vision_config`)."""

    patch_size: int = 14
    hidden_size: int = 1152
    num_layers: int = 27
    num_heads: int = 16
    intermediate_size: int = 4304
    pos_emb_height: int = 64
    pos_emb_width: int = 64
    merge_kernel: tuple[int, int] = (2, 2)
    layer_norm_eps: float = 1e-5  # PyTorch default; not in config.json
    rope_theta: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def merged_dim(self) -> int:
        return self.hidden_size * self.merge_kernel[0] * self.merge_kernel[1]


@dataclass(frozen=True)
class TextConfig:
    """Moonlight decoder (`text_config`, DeepSeek-V3 architecture)."""

    vocab_size: int = 163840
    hidden_size: int = 2048
    intermediate_size: int = 11264
    moe_intermediate_size: int = 1408
    num_layers: int = 27
    num_heads: int = 16
    n_shared_experts: int = 2
    n_routed_experts: int = 64
    num_experts_per_tok: int = 6
    routed_scaling_factor: float = 2.446
    first_k_dense_replace: int = 1
    moe_layer_freq: int = 1
    norm_topk_prob: bool = True
    kv_lora_rank: int = 512
    qk_nope_head_dim: int = 128
    qk_rope_head_dim: int = 64
    v_head_dim: int = 128
    rms_norm_eps: float = 1e-5
    kv_norm_eps: float = 1e-6  # kv_a_layernorm: fixed, NOT rms_norm_eps
    rope_theta: float = 800000.0
    max_position_embeddings: int = 131072
    bos_token_id: int = 163584
    eos_token_id: int = 163585
    pad_token_id: int = 163839

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def shared_intermediate_size(self) -> int:
        return self.moe_intermediate_size * self.n_shared_experts

    def is_moe_layer(self, i: int) -> bool:
        return i >= self.first_k_dense_replace and i % self.moe_layer_freq == 0


@dataclass(frozen=True)
class KimiVLConfig:
    vision: VisionConfig = field(default_factory=VisionConfig)
    text: TextConfig = field(default_factory=TextConfig)
    media_placeholder_token_id: int = 163605

    @classmethod
    def preset(cls, name: str) -> KimiVLConfig:
        """A named preset: `kimi-vl-a3b` or `tiny`."""
        if name not in PRESETS:
            raise KeyError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
        return PRESETS[name]

    @classmethod
    def from_json(cls, path: str | Path) -> KimiVLConfig:
        """Read an official Kimi-VL config.json."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KimiVLConfig:
        v, t = d["vision_config"], d["text_config"]
        _check_supported(t)
        vision = VisionConfig(
            patch_size=v["patch_size"],
            hidden_size=v["hidden_size"],
            num_layers=v["num_hidden_layers"],
            num_heads=v["num_attention_heads"],
            intermediate_size=v["intermediate_size"],
            pos_emb_height=v["init_pos_emb_height"],
            pos_emb_width=v["init_pos_emb_width"],
            merge_kernel=tuple(v["merge_kernel_size"]),
        )
        text = TextConfig(
            vocab_size=t["vocab_size"],
            hidden_size=t["hidden_size"],
            intermediate_size=t["intermediate_size"],
            moe_intermediate_size=t["moe_intermediate_size"],
            num_layers=t["num_hidden_layers"],
            num_heads=t["num_attention_heads"],
            n_shared_experts=t["n_shared_experts"],
            n_routed_experts=t["n_routed_experts"],
            num_experts_per_tok=t["num_experts_per_tok"],
            routed_scaling_factor=t["routed_scaling_factor"],
            first_k_dense_replace=t["first_k_dense_replace"],
            moe_layer_freq=t["moe_layer_freq"],
            norm_topk_prob=t["norm_topk_prob"],
            kv_lora_rank=t["kv_lora_rank"],
            qk_nope_head_dim=t["qk_nope_head_dim"],
            qk_rope_head_dim=t["qk_rope_head_dim"],
            v_head_dim=t["v_head_dim"],
            rms_norm_eps=t["rms_norm_eps"],
            rope_theta=t["rope_theta"],
            max_position_embeddings=t["max_position_embeddings"],
            bos_token_id=t["bos_token_id"],
            eos_token_id=t["eos_token_id"],
            pad_token_id=t["pad_token_id"],
        )
        return cls(vision, text, d["media_placeholder_token_id"])

    def to_dict(self) -> dict[str, Any]:
        """The official config.json schema (same keys as the published file)."""
        v, t = self.vision, self.text
        return {
            "architectures": ["KimiVLForConditionalGeneration"],
            "auto_map": {
                "AutoConfig": "configuration_kimi_vl.KimiVLConfig",
                "AutoModel": "modeling_kimi_vl.KimiVLForConditionalGeneration",
                "AutoModelForCausalLM": "modeling_kimi_vl.KimiVLForConditionalGeneration",
            },
            "vision_config": {
                "model_type": "moonvit",
                "patch_size": v.patch_size,
                "num_attention_heads": v.num_heads,
                "num_hidden_layers": v.num_layers,
                "hidden_size": v.hidden_size,
                "intermediate_size": v.intermediate_size,
                "init_pos_emb_height": v.pos_emb_height,
                "init_pos_emb_width": v.pos_emb_width,
                "merge_kernel_size": list(v.merge_kernel),
                "torch_dtype": "bfloat16",
            },
            "text_config": {
                "vocab_size": t.vocab_size,
                "max_position_embeddings": t.max_position_embeddings,
                "hidden_size": t.hidden_size,
                "intermediate_size": t.intermediate_size,
                "moe_intermediate_size": t.moe_intermediate_size,
                "num_hidden_layers": t.num_layers,
                "num_attention_heads": t.num_heads,
                "n_shared_experts": t.n_shared_experts,
                "n_routed_experts": t.n_routed_experts,
                "ep_size": 1,
                "routed_scaling_factor": t.routed_scaling_factor,
                "kv_lora_rank": t.kv_lora_rank,
                "q_lora_rank": None,
                "qk_rope_head_dim": t.qk_rope_head_dim,
                "v_head_dim": t.v_head_dim,
                "qk_nope_head_dim": t.qk_nope_head_dim,
                "topk_method": "noaux_tc",
                "n_group": 1,
                "topk_group": 1,
                "num_experts_per_tok": t.num_experts_per_tok,
                "moe_layer_freq": t.moe_layer_freq,
                "first_k_dense_replace": t.first_k_dense_replace,
                "norm_topk_prob": t.norm_topk_prob,
                "scoring_func": "sigmoid",
                "aux_loss_alpha": 0.001,
                "seq_aux": True,
                "num_key_value_heads": t.num_heads,
                "hidden_act": "silu",
                "initializer_range": 0.02,
                "rms_norm_eps": t.rms_norm_eps,
                "pretraining_tp": 1,
                "use_cache": True,
                "rope_theta": t.rope_theta,
                "rope_scaling": None,
                "attention_bias": False,
                "attention_dropout": 0.0,
                "bos_token_id": t.bos_token_id,
                "pad_token_id": t.pad_token_id,
                "eos_token_id": t.eos_token_id,
                "torch_dtype": "bfloat16",
                "tie_word_embeddings": False,
            },
            "ignore_index": -100,
            "media_placeholder_token_id": self.media_placeholder_token_id,
            "torch_dtype": "bfloat16",
            "transformers_version": "4.50.3",
            "tie_word_embeddings": False,
            "vocab_size": t.vocab_size,
            "model_type": "kimi_vl",
        }


def _check_supported(t: dict[str, Any]) -> None:
    """Fail loudly on variants of the DeepSeek-V3 family this implementation does not cover."""
    want = {
        "q_lora_rank": None,
        "rope_scaling": None,
        "scoring_func": "sigmoid",
        "topk_method": "noaux_tc",
        "n_group": 1,
        "topk_group": 1,
        "hidden_act": "silu",
        "attention_bias": False,
        "tie_word_embeddings": False,
    }
    for key, value in want.items():
        if key in t and t[key] != value:
            raise ValueError(f"unsupported text_config.{key}={t[key]!r} (supported: {value!r})")
    if t["num_key_value_heads"] != t["num_attention_heads"]:
        raise ValueError("unsupported: num_key_value_heads != num_attention_heads")


# Tiny: patch 14 and 2x2 merge kept; head_dim divisible by 4 for the 2D RoPE. The tiny
# tokenizer fixes vocab_size / media_placeholder_token_id, so tiny.py overrides them.
TINY = KimiVLConfig(
    vision=VisionConfig(
        hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128,
        pos_emb_height=8, pos_emb_width=8,
    ),
    text=TextConfig(
        vocab_size=1024, hidden_size=64, intermediate_size=160, moe_intermediate_size=32,
        num_layers=3, num_heads=4, n_shared_experts=2, n_routed_experts=8,
        num_experts_per_tok=3, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8,
        v_head_dim=16, max_position_embeddings=4096,
        bos_token_id=768, eos_token_id=769, pad_token_id=1023,
    ),
    media_placeholder_token_id=789,
)

PRESETS: dict[str, KimiVLConfig] = {"kimi-vl-a3b": KimiVLConfig(), "tiny": TINY}
