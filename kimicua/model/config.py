"""Kimi-VL configuration: frozen dataclasses read from the official config.json.

Presets: `kimi-vl-a3b-instruct` (alias `kimi-vl-a3b`), the published config.json shipped as
data in presets/, and `tiny` (for tests); the dataclass defaults are the published numbers too.
Every number that the checkpoint's config.json carries is read from it by
`KimiVLConfig.from_json`, each checked for type and range; the LayerNorm / kv_a_layernorm
epsilons are not in the file and are fixed here (see docs/kimi-vl.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kimicua.model.files import CheckpointError, read_json, take


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
        """A named preset (see ``preset_names``): the published Kimi-VL-A3B-Instruct config.json,
        shipped as data in kimicua/model/presets, or `tiny` (for tests)."""
        name = ALIASES.get(name, name)
        if name == "tiny":
            return TINY
        if name not in PRESET_FILES:
            raise ValueError(f"unknown preset {name!r}; known: {', '.join(preset_names())}")
        return _published(name)

    @classmethod
    def from_json(cls, path: str | Path) -> KimiVLConfig:
        """Read an official Kimi-VL config.json; CheckpointError (one line, naming the file) when
        it is missing, not JSON, or lacks or mistypes a field."""
        path = Path(path)
        data = read_json(path)
        try:
            return cls.from_dict(data)
        except ValueError as e:
            raise CheckpointError(f"{path}: not a usable Kimi-VL config: {e}") from None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KimiVLConfig:
        """The config of an official config.json's dict; ValueError naming the first field that is
        missing, of the wrong type, out of range or of a variant this implementation lacks."""
        v = take(d, "vision_config", dict)
        t = take(d, "text_config", dict)

        def vis(key: str, kind: type = int, minimum: float | None = 1, **kw) -> Any:
            return take(v, key, kind, "vision_config", minimum=minimum, **kw)

        def txt(key: str, kind: type = int, minimum: float | None = 1) -> Any:
            return take(t, key, kind, "text_config", minimum=minimum)

        vision = VisionConfig(
            patch_size=vis("patch_size"),
            hidden_size=vis("hidden_size"),
            num_layers=vis("num_hidden_layers"),
            num_heads=vis("num_attention_heads"),
            intermediate_size=vis("intermediate_size"),
            pos_emb_height=vis("init_pos_emb_height"),
            pos_emb_width=vis("init_pos_emb_width"),
            merge_kernel=vis("merge_kernel_size", length=2),
        )
        text = TextConfig(
            vocab_size=txt("vocab_size"),
            hidden_size=txt("hidden_size"),
            intermediate_size=txt("intermediate_size"),
            moe_intermediate_size=txt("moe_intermediate_size"),
            num_layers=txt("num_hidden_layers"),
            num_heads=txt("num_attention_heads"),
            n_shared_experts=txt("n_shared_experts", minimum=0),
            n_routed_experts=txt("n_routed_experts"),
            num_experts_per_tok=txt("num_experts_per_tok"),
            routed_scaling_factor=txt("routed_scaling_factor", float, 0),
            first_k_dense_replace=txt("first_k_dense_replace", minimum=0),
            moe_layer_freq=txt("moe_layer_freq"),
            norm_topk_prob=txt("norm_topk_prob", bool, None),
            kv_lora_rank=txt("kv_lora_rank"),
            qk_nope_head_dim=txt("qk_nope_head_dim"),
            qk_rope_head_dim=txt("qk_rope_head_dim"),
            v_head_dim=txt("v_head_dim"),
            rms_norm_eps=txt("rms_norm_eps", float, 0),
            rope_theta=txt("rope_theta", float, 1),
            max_position_embeddings=txt("max_position_embeddings"),
            bos_token_id=txt("bos_token_id", minimum=0),
            eos_token_id=txt("eos_token_id", minimum=0),
            pad_token_id=txt("pad_token_id", minimum=0),
        )
        _check_supported(t, text)
        cfg = cls(vision, text, take(d, "media_placeholder_token_id", int, minimum=0))
        _check_consistent(cfg)
        return cfg

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


def _check_supported(t: dict[str, Any], text: TextConfig) -> None:
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
    if t.get("num_key_value_heads", text.num_heads) != text.num_heads:
        raise ValueError("unsupported: num_key_value_heads != num_attention_heads")


def _check_consistent(cfg: KimiVLConfig) -> None:
    """Numbers that the model could not be built or run with, caught before it is built."""
    v, t = cfg.vision, cfg.text
    if v.hidden_size % v.num_heads or v.head_dim % 4:
        raise ValueError(f"vision_config: hidden_size {v.hidden_size} / {v.num_heads} heads "
                         "must give a head size divisible by 4 (2D RoPE)")
    if t.qk_rope_head_dim % 2:
        raise ValueError(f"text_config.qk_rope_head_dim is {t.qk_rope_head_dim}, expected an even number")
    if t.num_experts_per_tok > t.n_routed_experts:
        raise ValueError(f"text_config.num_experts_per_tok {t.num_experts_per_tok} exceeds "
                         f"n_routed_experts {t.n_routed_experts}")
    ids = {"text_config.bos_token_id": t.bos_token_id, "text_config.eos_token_id": t.eos_token_id,
           "text_config.pad_token_id": t.pad_token_id, "media_placeholder_token_id": cfg.media_placeholder_token_id}
    for name, value in ids.items():
        if value >= t.vocab_size:
            raise ValueError(f"{name} {value} is outside the vocabulary (vocab_size {t.vocab_size})")


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

PRESET_DIR = Path(__file__).with_name("presets")
PRESET_FILES = {"kimi-vl-a3b-instruct": "kimi-vl-a3b-instruct.json"}  # published config.json files
ALIASES = {"kimi-vl-a3b": "kimi-vl-a3b-instruct"}


def preset_names() -> list[str]:
    """Every name ``KimiVLConfig.preset`` accepts."""
    return sorted([*PRESET_FILES, *ALIASES, "tiny"])


@functools.cache
def _published(name: str) -> KimiVLConfig:
    return KimiVLConfig.from_json(PRESET_DIR / PRESET_FILES[name])
