"""The family's checkpoints from their own files: processor budget, sampling defaults, thinking."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from kimicua.model.files import CheckpointError  # noqa: E402
from kimicua.model.generation_config import (  # noqa: E402
    INSTRUCT_MAX_NEW_TOKENS,
    THINKING_MAX_NEW_TOKENS,
    GenerationDefaults,
    read_generation_defaults,
    write_generation_config,
)
from kimicua.model.image_processor import KimiImageProcessor  # noqa: E402


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from kimicua.model.tiny import write_tiny_checkpoint

    root = tmp_path_factory.mktemp("family")
    return {style: write_tiny_checkpoint(root / style.replace("-", "_"), seed=0, style=style)
            for style in ("instruct", "thinking-2506")}


def frame_1080p() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)


def test_instruct_budget_downscales_a_1080p_frame(checkpoints):
    processor = KimiImageProcessor.from_pretrained(checkpoints["instruct"])
    geometry = processor(frame_1080p()).geometry
    # docs/kimi-vl.md section 6's worked example: 1196x672, padded 1204x672, grid 48x86
    assert geometry.resized == (1196, 672)
    assert geometry.grid_hw == (48, 86)
    assert geometry.n_tokens == 1032


def test_2506_budget_takes_a_1080p_frame_unscaled(checkpoints):
    processor = KimiImageProcessor.from_pretrained(checkpoints["thinking-2506"])
    geometry = processor(frame_1080p()).geometry
    assert geometry.resized == (1920, 1080)  # no downscale: 137*77 = 10549 patches <= 16384
    assert geometry.padded == (1932, 1092)  # padded to multiples of 28
    assert geometry.grid_hw == (78, 138)
    assert geometry.n_tokens == 78 * 138 // 4 == 2691


def test_defaults_read_from_the_checkpoint_files(checkpoints):
    instruct = read_generation_defaults(checkpoints["instruct"])
    assert instruct == GenerationDefaults()  # no generation_config.json, not a thinking name
    assert instruct.default_max_new_tokens == INSTRUCT_MAX_NEW_TOKENS
    thinking = read_generation_defaults(checkpoints["thinking-2506"])
    assert thinking.temperature == 0.8 and thinking.top_p is None and thinking.thinking
    assert thinking.default_max_new_tokens == THINKING_MAX_NEW_TOKENS


def test_thinking_from_the_name_or_the_chat_template(tmp_path):
    plain = tmp_path / "ckpt"
    plain.mkdir()
    assert not read_generation_defaults(plain).thinking
    assert read_generation_defaults(plain, "moonshotai/Kimi-VL-A3B-Thinking").thinking
    (plain / "config.json").write_text(json.dumps({"_name_or_path": "moonshotai/Kimi-VL-A3B-Thinking-2506"}))
    assert read_generation_defaults(plain).thinking
    other = tmp_path / "other"
    other.mkdir()
    (other / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ '◁think▷' }}"}))
    assert read_generation_defaults(other).thinking
    (other / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    assert not read_generation_defaults(other).thinking


def test_generation_config_fields(tmp_path):
    write_generation_config(tmp_path, temperature=0.6, top_p=0.95, max_new_tokens=2048, max_length=131072)
    d = read_generation_defaults(tmp_path)
    assert (d.temperature, d.top_p, d.max_new_tokens) == (0.6, 0.95, 2048)
    assert d.default_max_new_tokens == 2048  # the file's own budget wins over the style's
    write_generation_config(tmp_path, do_sample=False, temperature=0.6)
    assert read_generation_defaults(tmp_path).temperature == 0.0  # greedy, as Hugging Face reads it


@pytest.mark.parametrize("fields, problem", [
    ({"temperature": "hot"}, "temperature"), ({"top_p": 0}, "top_p"), ({"max_new_tokens": 0}, "max_new_tokens"),
])
def test_bad_generation_config_is_one_line_naming_the_file(tmp_path, fields, problem):
    path = write_generation_config(tmp_path, **fields)
    with pytest.raises(CheckpointError) as err:
        read_generation_defaults(tmp_path)
    message = str(err.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_unknown_tiny_style_is_refused(tmp_path):
    from kimicua.model.tiny import write_tiny_checkpoint

    with pytest.raises(ValueError, match="style"):
        write_tiny_checkpoint(tmp_path, style="thinking-2507")
