"""LocalPolicy on the tiny random checkpoint, and make_policy's model-backed forms."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

pytest.importorskip("torch")

from kimicua.agent.backends import BackendError, LocalPolicy, make_policy  # noqa: E402
from kimicua.agent.backends import TINY_NOTICE  # noqa: E402
from kimicua.agent.policy import Policy, Prompt  # noqa: E402
from kimicua.env.geometry import Size  # noqa: E402

MAX_NEW = 6


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from kimicua.model.tiny import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny"), seed=0)


@pytest.fixture(scope="module")
def policy(ckpt):
    return LocalPolicy(ckpt, max_new_tokens=MAX_NEW)


def screenshot(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def prompt_with(*images: np.ndarray) -> Prompt:
    items = [{"type": "image"} for _ in images] + [{"type": "text", "text": "Click the OK button."}]
    return Prompt([{"role": "user", "content": items}], list(images))


def expected_resized(ckpt, width: int, height: int) -> Size:
    """Kimi-VL's rule, computed here from the checkpoint's own preprocessor config:
    shrink (aspect kept, truncating) when the 14-px patch count exceeds in_token_limit."""
    cfg = json.loads((ckpt / "preprocessor_config.json").read_text())
    patch, limit = cfg["patch_size"], cfg["in_token_limit"]
    patches = (width // patch) * (height // patch)
    if patches <= limit:
        return Size(width, height)
    scale = math.sqrt(limit / patches)
    return Size(int(width * scale), int(height * scale))


def test_reply_has_aligned_tokens_logprobs_and_text(policy):
    reply = policy.act(prompt_with(screenshot(96, 64)))
    assert isinstance(policy, Policy)
    assert 1 <= len(reply.token_ids) <= MAX_NEW
    assert len(reply.token_ids) == len(reply.logprobs)
    assert all(isinstance(t, int) and t not in policy.processor.stop_token_ids for t in reply.token_ids)
    assert all(math.isfinite(lp) and lp <= 0.0 for lp in reply.logprobs)
    assert reply.text == policy.processor.decode(reply.token_ids)
    assert set(reply.timings) == {"preprocess_s", "prefill_s", "decode_s"}
    assert all(v >= 0 for v in reply.timings.values())
    assert reply.model == policy.name and reply.actions is None


def test_image_size_is_the_last_screenshots_resized_size(policy, ckpt):
    small, big = (96, 64), (640, 400)  # 640x400 has 45*28 = 1260 patches: resized
    reply = policy.act(prompt_with(screenshot(*small), screenshot(*big, seed=1)))
    assert reply.image_size == expected_resized(ckpt, *big)
    assert reply.image_size != Size(*big)  # the tiny limit does force a resize here
    assert policy.act(prompt_with(screenshot(*big), screenshot(*small))).image_size == Size(*small)
    assert policy.act(Prompt([{"role": "user", "content": "no screenshot"}])).image_size is None


def test_greedy_is_deterministic_across_calls_and_loads(policy, ckpt):
    prompt = prompt_with(screenshot(120, 80))
    first = policy.act(prompt)
    assert policy.act(prompt).token_ids == first.token_ids
    again = LocalPolicy(ckpt, max_new_tokens=MAX_NEW).act(prompt)
    assert (again.token_ids, again.logprobs, again.text) == (first.token_ids, first.logprobs, first.text)


def test_dtype_names_map_to_torch_dtypes_and_close_frees(ckpt):
    import torch

    fp32 = LocalPolicy(ckpt, dtype="fp32")
    assert fp32.model.dtype == torch.float32
    assert LocalPolicy(ckpt, dtype="bfloat16").model.dtype == torch.bfloat16
    fp32.close()  # frees the weights; a later act says why it cannot answer
    with pytest.raises(RuntimeError, match="is closed"):
        fp32.act(prompt_with(screenshot(32, 32)))


def test_seeded_sampling_replays_an_episode_and_steps_use_seed_plus_i(ckpt):
    prompt = prompt_with(screenshot(64, 64))

    def run(seed: int, steps: int) -> list[list[int]]:
        sampler = LocalPolicy(ckpt, temperature=1.0, seed=seed, max_new_tokens=MAX_NEW)
        return [sampler.act(prompt).token_ids for _ in range(steps)]

    first = run(7, 2)
    assert first[0] != first[1]  # steps sample afresh, not one stream replayed
    assert run(7, 2) == first
    assert run(8, 1) == first[1:]  # call i samples with seed + i


def test_bad_settings_fail_clearly(ckpt):
    with pytest.raises(ValueError, match="unknown dtype 'int3'"):
        LocalPolicy(ckpt, dtype="int3")
    with pytest.raises(ValueError, match="top_p"):
        LocalPolicy(ckpt, top_p=0.0)


def test_make_policy_checkpoint_dir_and_tiny(ckpt, tmp_path, monkeypatch):
    local = make_policy(str(ckpt), max_new_tokens=2)
    assert isinstance(local, LocalPolicy) and local.max_new_tokens == 2 and local.notice is None

    monkeypatch.setenv("KIMICUA_CACHE", str(tmp_path))
    tiny = make_policy("tiny", max_new_tokens=2)
    assert isinstance(tiny, LocalPolicy) and tiny.name == "tiny" and tiny.notice == TINY_NOTICE
    assert "random" in tiny.notice
    config = tmp_path / "tiny" / "config.json"
    stamp = config.stat().st_mtime_ns
    make_policy("tiny")  # written once: the second call loads the cached copy
    assert config.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]  # no temporary left behind
    assert tiny.act(prompt_with(screenshot(32, 32))).model == "tiny"


def test_make_policy_hub_id_fails_clearly_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(os.path.dirname(__file__))  # no directory named like the id here
    with pytest.raises(BackendError) as info:
        make_policy("nobody-kimicua/no-such-model")
    msg = str(info.value)
    assert "nobody-kimicua/no-such-model" in msg and "\n" not in msg
