"""The published config (the shipped preset) on the meta device: tensor names, shapes and
parameter counts of the checkpoint; the preset file checked against the published one."""

import json
from pathlib import Path

import pytest

from kimicua.model.config import PRESET_DIR, KimiVLConfig, preset_names
from kimicua.model.files import CheckpointError
from kimicua.model.inspect import active_parameters, checkpoint_tensors, parameter_counts

PRESET_FILE = PRESET_DIR / "kimi-vl-a3b-instruct.json"
# the published file, where the repository's checkout sits beside a shared/ folder
SHARED = Path(__file__).parents[2] / ".." / "shared" / "kimi-vl-a3b-instruct" / "config.json"


@pytest.fixture(scope="module")
def real():
    return KimiVLConfig.preset("kimi-vl-a3b-instruct")


def test_preset_file_is_the_published_config():
    if not SHARED.is_file():
        pytest.skip("the published config.json (../shared) is not beside this checkout")
    assert json.loads(PRESET_FILE.read_text()) == json.loads(SHARED.read_text())


def test_preset_holds_the_published_numbers(real):
    # facts of the model card / config.json (docs/kimi-vl.md sections 2 and 4)
    v, t = real.vision, real.text
    assert (v.patch_size, v.hidden_size, v.num_layers, v.num_heads, v.intermediate_size) == (14, 1152, 27, 16, 4304)
    assert (v.pos_emb_height, v.pos_emb_width, v.merge_kernel) == (64, 64, (2, 2))
    assert (t.vocab_size, t.hidden_size, t.num_layers, t.n_routed_experts, t.num_experts_per_tok) == (163840, 2048, 27, 64, 6)
    assert (t.kv_lora_rank, t.qk_nope_head_dim, t.qk_rope_head_dim, t.v_head_dim) == (512, 128, 64, 128)
    assert (t.rope_theta, t.routed_scaling_factor, t.first_k_dense_replace) == (800000.0, 2.446, 1)
    assert real.media_placeholder_token_id == 163605
    assert real.vision.head_dim == 72 and real.text.qk_head_dim == 192
    assert KimiVLConfig.preset("kimi-vl-a3b") == real == KimiVLConfig()  # alias; the defaults agree


def test_preset_names_and_an_unknown_one():
    assert preset_names() == ["kimi-vl-a3b", "kimi-vl-a3b-instruct", "tiny"]
    assert KimiVLConfig.preset("tiny").text.hidden_size == 64
    with pytest.raises(ValueError, match="unknown preset 'kimi-vl-b'; known: kimi-vl-a3b, kimi-vl-a3b-instruct, tiny"):
        KimiVLConfig.preset("kimi-vl-b")


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
    official = json.loads(PRESET_FILE.read_text())
    d = real.to_dict()
    assert KimiVLConfig.from_dict(d) == real
    assert d.keys() == official.keys()
    assert d["text_config"].keys() == official["text_config"].keys()
    assert d["vision_config"].keys() == official["vision_config"].keys()


@pytest.mark.parametrize("edit, problem", [
    (lambda d: d.pop("vision_config"), "vision_config is missing"),
    (lambda d: d["text_config"].pop("vocab_size"), "text_config.vocab_size is missing"),
    (lambda d: d["text_config"].update(hidden_size="2048"), 'text_config.hidden_size is "2048", expected an integer'),
    (lambda d: d["text_config"].update(num_hidden_layers=True), "text_config.num_hidden_layers is true, expected an integer"),
    (lambda d: d["text_config"].update(rope_theta=None), "text_config.rope_theta is null, expected a number"),
    (lambda d: d["text_config"].update(norm_topk_prob="yes"), 'text_config.norm_topk_prob is "yes", expected true or false'),
    (lambda d: d["text_config"].update(num_attention_heads=0), "text_config.num_attention_heads is 0, expected at least 1"),
    (lambda d: d["vision_config"].update(merge_kernel_size=2), "vision_config.merge_kernel_size is 2, expected a list of 2 numbers"),
    (lambda d: d.update(text_config=[]), "text_config is list, expected an object"),
    (lambda d: d["text_config"].update(num_experts_per_tok=65), "num_experts_per_tok 65 exceeds n_routed_experts 64"),
    (lambda d: d.update(media_placeholder_token_id=163840), "media_placeholder_token_id 163840 is outside the vocabulary"),
    (lambda d: d["vision_config"].update(num_attention_heads=5), "head size divisible by 4"),
])
def test_from_json_names_the_file_and_the_field(tmp_path, real, edit, problem):
    d = real.to_dict()
    edit(d)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(d))
    with pytest.raises(CheckpointError) as err:
        KimiVLConfig.from_json(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: not a usable Kimi-VL config: ") and problem in msg and "\n" not in msg


@pytest.mark.parametrize("text, problem", [
    ("", "not valid JSON (Expecting value at line 1 column 1)"),
    ("{}", "not a usable Kimi-VL config: vision_config is missing"),
    ('["a"]', "expected a JSON object, got list"),
    (b"\xff\xfe{", "not JSON (not UTF-8 text)"),
])
def test_from_json_on_garbage(tmp_path, text, problem):
    path = tmp_path / "config.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CheckpointError) as err:
        KimiVLConfig.from_json(path)
    assert str(err.value) == f"{path}: {problem}"
    with pytest.raises(CheckpointError, match=f"{tmp_path / 'none.json'}: no such file"):
        KimiVLConfig.from_json(tmp_path / "none.json")
