"""The real config on the meta device: tensor names, shapes and parameter counts of the checkpoint."""

from pathlib import Path

import pytest

from kimicua.model.config import KimiVLConfig
from kimicua.model.inspect import active_parameters, checkpoint_tensors, parameter_counts

REAL = Path("/work/shared/kimi-vl-a3b-instruct/config.json")


@pytest.fixture(scope="module")
def real():
    if not REAL.is_file():
        pytest.skip("real config.json not available")
    return KimiVLConfig.from_json(REAL)


def test_real_config_is_the_preset(real):
    assert real == KimiVLConfig.preset("kimi-vl-a3b")
    assert real.vision.head_dim == 72 and real.text.qk_head_dim == 192


def test_real_checkpoint_tensor_names_and_shapes(real):
    tensors = {t.name: t.shape for t in checkpoint_tensors(real)}
    assert len(tensors) == 5679
    L = "language_model.model.layers."
    expected = {
        "language_model.lm_head.weight": (163840, 2048),
        "language_model.model.embed_tokens.weight": (163840, 2048),
        "language_model.model.norm.weight": (2048,),
        L + "5.self_attn.q_proj.weight": (3072, 2048),
        L + "5.self_attn.kv_a_proj_with_mqa.weight": (576, 2048),
        L + "5.self_attn.kv_a_layernorm.weight": (512,),
        L + "5.self_attn.kv_b_proj.weight": (4096, 512),
        L + "5.self_attn.o_proj.weight": (2048, 2048),
        L + "26.self_attn.rotary_emb.inv_freq": (32,),
        L + "0.mlp.gate_proj.weight": (11264, 2048),
        L + "0.mlp.down_proj.weight": (2048, 11264),
        L + "1.mlp.experts.63.gate_proj.weight": (1408, 2048),
        L + "1.mlp.experts.0.up_proj.weight": (1408, 2048),
        L + "26.mlp.experts.17.down_proj.weight": (2048, 1408),
        L + "3.mlp.shared_experts.up_proj.weight": (2816, 2048),
        L + "3.mlp.shared_experts.down_proj.weight": (2048, 2816),
        L + "3.mlp.gate.weight": (64, 2048),
        L + "3.mlp.gate.e_score_correction_bias": (64,),
        "multi_modal_projector.pre_norm.weight": (1152,),
        "multi_modal_projector.linear_1.weight": (4608, 4608),
        "multi_modal_projector.linear_2.weight": (2048, 4608),
        "multi_modal_projector.linear_2.bias": (2048,),
        "vision_tower.patch_embed.proj.weight": (1152, 3, 14, 14),
        "vision_tower.patch_embed.proj.bias": (1152,),
        "vision_tower.patch_embed.pos_emb.weight": (64, 64, 1152),
        "vision_tower.encoder.blocks.26.wqkv.weight": (3456, 1152),
        "vision_tower.encoder.blocks.0.wo.weight": (1152, 1152),
        "vision_tower.encoder.blocks.0.mlp.fc0.weight": (4304, 1152),
        "vision_tower.encoder.blocks.0.mlp.fc1.bias": (1152,),
        "vision_tower.encoder.blocks.0.norm1.bias": (1152,),
        "vision_tower.encoder.final_layernorm.weight": (1152,),
    }
    for name, shape in expected.items():
        assert tensors[name] == shape, name
    # counts per family (doc section 5)
    assert sum(".mlp.experts." in n for n in tensors) == 26 * 64 * 3
    assert sum(n.endswith("rotary_emb.inv_freq") for n in tensors) == 27
    assert sum(n.startswith("vision_tower.") for n in tensors) == 3 + 27 * 12 + 2
    assert not any(f"{L}0.mlp.experts" in n or f"{L}1.mlp.gate_proj" in n for n in tensors)


def test_real_parameter_counts(real):
    c = parameter_counts(real)
    assert round(c["total"] / 1e9, 1) == 16.4
    assert round(c["language_model"] / 1e9, 2) == 15.96
    assert round(c["vision_tower"] / 1e9, 3) == 0.417
    assert round(c["multi_modal_projector"] / 1e9, 3) == 0.031
    # inv_freq buffers are listed but are not parameters
    assert c["total"] == sum(t.numel for t in checkpoint_tensors(real) if not t.name.endswith("inv_freq"))
    # weights read per decoded token: attention + norms of 27 layers, dense layer 0,
    # 26 x (gate + 6 routed + 2 shared experts), final norm and lm_head (not the embedding)
    attn = 2048 * 3072 + 2048 * 576 + 512 + 512 * 4096 + 2048 * 2048 + 2 * 2048
    expert = 3 * 2048 * 1408
    hand = 27 * attn + 3 * 2048 * 11264 + 26 * (64 * 2048 + 64 + 8 * expert) + 2048 + 163840 * 2048
    assert active_parameters(real) == hand
    assert round(hand / 1e9, 2) == 2.58


def test_unsupported_variant_is_rejected(real):
    d = real.to_dict()
    d["text_config"]["q_lora_rank"] = 1536
    with pytest.raises(ValueError, match="q_lora_rank"):
        KimiVLConfig.from_dict(d)


def test_to_dict_round_trips_and_keeps_the_official_keys(real):
    import json

    official = json.loads(REAL.read_text())
    d = real.to_dict()
    assert KimiVLConfig.from_dict(d) == real
    assert d.keys() == official.keys()
    assert d["text_config"].keys() == official["text_config"].keys()
    assert d["vision_config"].keys() == official["vision_config"].keys()
