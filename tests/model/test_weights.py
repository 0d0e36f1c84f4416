"""Checkpoint IO: round trip, official names on disk, clear errors."""

import json

import pytest
import torch
from safetensors import safe_open

from kimicua.model import KimiVL
from kimicua.model.config import TINY
from kimicua.model.tiny import random_init
from kimicua.model.weights import CheckpointError, default_dtype, parse_size, save_pretrained


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    m = KimiVL(TINY)
    random_init(m, 1)
    m = m.to(torch.bfloat16)
    out = save_pretrained(m, tmp_path_factory.mktemp("ckpt"), max_shard_size=200_000, include_inv_freq=True)
    return m, out


def test_save_load_round_trip_is_bit_exact(saved):
    m, path = saved
    loaded = KimiVL.from_pretrained(path, dtype=torch.bfloat16)
    a, b = m.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype == torch.bfloat16
        assert torch.equal(a[k], b[k]), k
    assert not any(p.is_meta for p in loaded.parameters())


def test_files_use_the_official_per_expert_names(saved):
    m, path = saved
    index = json.loads((path / "model.safetensors.index.json").read_text())
    names = set(index["weight_map"])
    assert len(set(index["weight_map"].values())) >= 2
    assert "language_model.model.layers.1.mlp.experts.7.down_proj.weight" in names
    assert "language_model.model.layers.0.self_attn.rotary_emb.inv_freq" in names
    assert not any(n.endswith(("w13", "w2")) for n in names)
    shard = path / index["weight_map"]["language_model.model.layers.2.mlp.experts.3.up_proj.weight"]
    with safe_open(str(shard), "pt") as f:
        up = f.get_tensor("language_model.model.layers.2.mlp.experts.3.up_proj.weight")
    I = TINY.text.moe_intermediate_size
    assert torch.equal(up, m.language_model.model.layers[2].mlp.experts.w13[3, I:])


def test_load_converts_dtype_and_tolerates_missing_inv_freq(saved, tmp_path):
    m, path = saved
    out = save_pretrained(m, tmp_path / "no_inv", max_shard_size="1MB")  # newer savers omit inv_freq
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert not any("inv_freq" in n for n in index["weight_map"])
    loaded = KimiVL.from_pretrained(out, dtype=torch.float32)
    assert loaded.dtype == torch.float32
    w = m.language_model.model.layers[1].mlp.experts.w2
    assert torch.equal(loaded.language_model.model.layers[1].mlp.experts.w2, w.float())


def test_missing_checkpoint_dir_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match=f"{tmp_path / 'nowhere'}: no such checkpoint directory"):
        KimiVL.from_pretrained(tmp_path / "nowhere")


def test_missing_shard_names_the_file(saved, tmp_path):
    m, _ = saved
    out = save_pretrained(m, tmp_path / "ck", max_shard_size=200_000)
    victim = sorted(out.glob("model-*.safetensors"))[1]
    victim.unlink()
    with pytest.raises(CheckpointError, match=f"{victim}: no such shard file"):
        KimiVL.from_pretrained(out)


def test_missing_tensor_is_reported(saved, tmp_path):
    m, _ = saved
    out = save_pretrained(m, tmp_path / "ck", max_shard_size="1GB")
    index = json.loads((out / "model.safetensors.index.json").read_text())
    from safetensors.torch import load_file, save_file

    shard = out / index["weight_map"]["language_model.lm_head.weight"]
    tensors = load_file(str(shard))
    del tensors["language_model.lm_head.weight"]
    save_file(tensors, str(shard))
    index_file = out / "model.safetensors.index.json"
    with pytest.raises(CheckpointError) as err:
        KimiVL.from_pretrained(out)
    assert str(err.value) == f"{index_file}: puts language_model.lm_head.weight in {shard.name}, which does not hold it"
    index["weight_map"].pop("language_model.lm_head.weight")  # the index agrees: missing from every shard
    index_file.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=f"{out}: 1 tensors missing .*lm_head"):
        KimiVL.from_pretrained(out)


def test_unreachable_hub_id_fails_with_one_line_naming_the_id(tmp_path, monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)  # never download 33 GB from a test
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(CheckpointError) as e:
        KimiVL.from_pretrained("moonshotai/Kimi-VL-A3B-Thinking-2506")
    msg = str(e.value)
    assert "moonshotai/Kimi-VL-A3B-Thinking-2506" in msg and "\n" not in msg


def test_parse_size_and_default_dtype():
    assert parse_size("5GB") == 5_000_000_000 and parse_size("2KiB") == 2048 and parse_size(7) == 7
    with pytest.raises(ValueError):
        parse_size("lots")
    assert default_dtype("cuda") == torch.bfloat16
    assert default_dtype("cpu") in (torch.bfloat16, torch.float32)


def test_accelerate_cpu_offload_gives_the_same_logits(saved):
    from accelerate import cpu_offload

    m, path = saved
    ref = KimiVL.from_pretrained(path, dtype=torch.float32)
    off = KimiVL.from_pretrained(path, dtype=torch.float32)
    cpu_offload(off, execution_device=torch.device("cpu"))  # weights leave the modules, hooks bring them back
    assert off.language_model.lm_head.weight.is_meta
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert torch.equal(ref(ids), off(ids))


def test_device_map_auto_without_gpu_stays_on_cpu_and_matches(saved):
    _, path = saved
    plain = KimiVL.from_pretrained(path, dtype=torch.float32)
    auto = KimiVL.from_pretrained(path, dtype=torch.float32, device_map="auto")
    assert auto.device == torch.device("cpu")
    ids = torch.tensor([[3, 1, 4, 1, 5]])
    with torch.no_grad():
        assert torch.equal(plain(ids), auto(ids))
