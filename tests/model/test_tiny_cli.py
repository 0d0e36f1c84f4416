"""The tiny checkpoint end to end (processor -> model -> engine) and the `kimicua model` CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from kimicua.model import KimiVL, KimiVLProcessor
from kimicua.model.config import PRESET_DIR
from kimicua.model.engine import generate
from kimicua.tools.cli import app

PUBLISHED = PRESET_DIR / "kimi-vl-a3b-instruct.json"  # the published config.json, shipped as a preset
runner = CliRunner()


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("img") / "screen.png"
    Image.fromarray(rng.integers(0, 255, (120, 200, 3), dtype=np.uint8)).save(path)
    return path


def test_tiny_checkpoint_layout(tiny):
    cfg = json.loads((tiny / "config.json").read_text())
    real = json.loads(PUBLISHED.read_text())
    assert cfg.keys() == real.keys() and cfg["text_config"].keys() == real["text_config"].keys()
    assert cfg["vision_config"]["patch_size"] == 14 and cfg["vision_config"]["merge_kernel_size"] == [2, 2]
    proc = KimiVLProcessor.from_pretrained(tiny)
    assert cfg["media_placeholder_token_id"] == proc.tokenizer.media_pad_id
    assert cfg["text_config"]["vocab_size"] == cfg["vocab_size"] > proc.tokenizer.media_pad_id
    index = json.loads((tiny / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) >= 2
    from safetensors import safe_open

    shard = tiny / index["weight_map"]["language_model.lm_head.weight"]
    with safe_open(str(shard), "pt") as f:
        assert f.get_tensor("language_model.lm_head.weight").dtype == torch.bfloat16
    for name in ("preprocessor_config.json", "tiktoken.model", "tokenizer_config.json"):
        assert (tiny / name).is_file()


def test_tiny_greedy_generation_is_deterministic(tiny, image):
    model = KimiVL.from_pretrained(tiny, dtype=torch.float32)
    proc = KimiVLProcessor.from_pretrained(tiny)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Click OK"}]}]
    inputs = proc(msgs, [Image.open(image)])
    n_media = int((inputs["input_ids"] == model.config.media_placeholder_token_id).sum())
    assert n_media == int(inputs["image_grid_hws"].prod(-1).sum()) // 4 > 0
    runs = [
        generate(model, inputs["input_ids"], inputs["pixel_values"], inputs["image_grid_hws"], max_new_tokens=32)
        for _ in range(2)
    ]
    assert runs[0].token_ids == runs[1].token_ids
    assert runs[0].logprobs == pytest.approx(runs[1].logprobs)
    assert len(runs[0].token_ids) == 32 and runs[0].finish_reason == "length"
    assert all(lp <= 0 for lp in runs[0].logprobs)


def test_cli_inspect_json_lists_every_tensor():
    res = runner.invoke(app, ["model", "inspect", "--preset", "kimi-vl-a3b-instruct", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 5679
    by_name = {r["name"]: r["shape"] for r in rows}
    assert by_name["language_model.model.layers.1.self_attn.kv_b_proj.weight"] == [4096, 512]
    table = runner.invoke(app, ["model", "inspect", "--config", str(PUBLISHED)])
    assert table.exit_code == 0 and "5679 tensors" in table.stdout and "16.408B" in table.stdout
    tiny = runner.invoke(app, ["model", "inspect", "--preset", "tiny", "--json"])
    assert tiny.exit_code == 0 and len(json.loads(tiny.stdout)) < len(rows)


@pytest.mark.parametrize("args, problem", [
    ([], "give either --config FILE or --preset NAME (kimi-vl-a3b, kimi-vl-a3b-instruct, tiny), not neither"),
    (["--config", str(PUBLISHED), "--preset", "tiny"], "give either --config FILE or --preset NAME"),
    (["--preset", "kimi-vl-b"], "unknown preset 'kimi-vl-b'; known: kimi-vl-a3b, kimi-vl-a3b-instruct, tiny"),
])
def test_cli_inspect_needs_exactly_one_config(args, problem):
    res = runner.invoke(app, ["model", "inspect", *args])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and res.output.startswith(f"error: {problem}")


def test_cli_tiny_and_generate(tmp_path, image):
    out = tmp_path / "ck"
    res = runner.invoke(app, ["model", "tiny", str(out), "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert (out / "model.safetensors.index.json").is_file()
    args = ["model", "generate", "--checkpoint", str(out), "--image", str(image), "--prompt", "Where?",
            "--max-new-tokens", "5", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert 0 < len(data["token_ids"]) <= 5 and len(data["logprobs"]) == len(data["token_ids"])
    assert data["finish_reason"] in ("stop", "length") and data["prefill_s"] > 0


def test_cli_generate_bad_inputs_exit_2(tmp_path, tiny, image):
    missing = tmp_path / "missing.png"
    res = runner.invoke(app, ["model", "generate", "--checkpoint", str(tiny), "--image", str(missing), "--prompt", "x"])
    assert res.exit_code == 2 and str(missing) in res.output
    garbage = tmp_path / "garbage.png"
    garbage.write_text("not an image")
    res = runner.invoke(app, ["model", "generate", "--checkpoint", str(tiny), "--image", str(garbage), "--prompt", "x"])
    assert res.exit_code == 2 and str(garbage) in res.output
    res = runner.invoke(app, ["model", "generate", "--checkpoint", str(tmp_path / "nockpt"), "--image", str(image),
                              "--prompt", "x"])
    assert res.exit_code == 2 and "nockpt" in res.output


def test_bf16_model_tracks_fp32(tiny, image):
    proc = KimiVLProcessor.from_pretrained(tiny)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Where?"}]}]
    inputs = proc(msgs, [Image.open(image)])
    args = (inputs["input_ids"], inputs["pixel_values"], inputs["image_grid_hws"])
    with torch.no_grad():
        lo = KimiVL.from_pretrained(tiny, dtype=torch.bfloat16)(*args)[0, -1]
        hi = KimiVL.from_pretrained(tiny, dtype=torch.float32)(*args)[0, -1]
    assert lo.dtype == torch.bfloat16 and hi.dtype == torch.float32
    assert torch.isfinite(lo).all()
    assert torch.nn.functional.cosine_similarity(lo.float(), hi, dim=0) > 0.99


def test_cli_inspect_bad_config_exit_2(tmp_path):
    res = runner.invoke(app, ["model", "inspect", "--config", str(tmp_path / "none.json")])
    assert res.exit_code == 2 and "none.json" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    res = runner.invoke(app, ["model", "inspect", "--config", str(bad)])
    assert res.exit_code == 2 and res.output == f"error: {bad}: not a usable Kimi-VL config: vision_config is missing\n"
