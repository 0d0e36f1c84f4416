"""LocalPolicy on the tiny random checkpoint, and make_policy's model-backed forms."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

pytest.importorskip("torch")

from kimicua.agent.backends import LocalPolicy, make_policy  # noqa: E402
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
    stops = policy.processor.stop_token_ids
    assert all(isinstance(t, int) for t in reply.token_ids)
    assert all(t not in stops for t in reply.token_ids[:-1])  # only the last may be the stop
    assert all(math.isfinite(lp) and lp <= 0.0 for lp in reply.logprobs)
    assert reply.text == policy.processor.decode(reply.token_ids)  # the stop is special: not in the text
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


def test_prompt_token_ids_are_the_expanded_prompt_the_model_saw(policy, ckpt):
    shot = screenshot(200, 120)
    prompt = prompt_with(shot)
    reply = policy.act(prompt)
    ids = reply.prompt_token_ids
    assert isinstance(ids, list) and all(type(t) is int for t in ids)
    tok = policy.processor.tokenizer
    # the chat template (docs/kimi-vl.md section 7): a default system turn first, the generation
    # prompt `<|im_assistant|>assistant<|im_middle|>` last, no BOS
    assert ids[0] == tok.im_system_id and ids[-1] == tok.im_middle_id
    tail = [tok.im_assistant_id, *tok.encode("assistant", allow_special=False), tok.im_middle_id]
    assert ids[-len(tail):] == tail
    # one <|media_pad|> per merged 2x2 patch group of the screenshot, not the single template one
    patch = policy.processor.image_processor.config.patch_size
    size = expected_resized(ckpt, 200, 120)
    w, h = expected_resized_padded(policy, size.width, size.height)
    assert ids.count(tok.media_pad_id) == (w // patch) * (h // patch) // 4 > 1
    assert policy.processor.decode(ids, skip_special_tokens=True).endswith("Click the OK button.assistant")
    # a text-only prompt has no image tokens at all
    assert tok.media_pad_id not in policy.act(Prompt([{"role": "user", "content": "hi"}])).prompt_token_ids


def expected_resized_padded(policy, width: int, height: int) -> tuple[int, int]:
    """The tiny checkpoint pads (pad_input true) right/bottom to multiples of patch * merge."""
    c = policy.processor.image_processor.config
    assert c.pad_input
    unit = c.patch_size * c.merge_kernel_size[0]
    return -(-width // unit) * unit, -(-height // unit) * unit


def offline_hub(monkeypatch, tmp_path) -> None:
    """The hub switched off, for this process (huggingface_hub reads its env at import) and
    for child processes, with an empty cache: a test never waits on the network."""
    import huggingface_hub.constants as c

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))


def test_make_policy_hub_id_fails_clearly_offline(monkeypatch, tmp_path):
    from kimicua.model.files import CheckpointError

    offline_hub(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)  # no directory named like the id here
    with pytest.raises(CheckpointError) as info:
        make_policy("nobody-kimicua/no-such-model")
    msg = str(info.value)
    assert msg.startswith("nobody-kimicua/no-such-model: no local directory of that name")
    assert "hub is switched off (HF_HUB_OFFLINE)" in msg and "\n" not in msg
    assert isinstance(info.value, ValueError)  # what callers (the run CLI) report as one line


def test_make_policy_hub_id_names_an_unreachable_hub(tmp_path):
    """A hub endpoint nobody listens on (loopback port 9): refused at once, reported in one line."""
    import subprocess
    import sys

    code = (
        "from kimicua.agent.backends import make_policy\n"
        "try:\n    make_policy('nobody-kimicua/no-such-model')\n"
        "except ValueError as e:\n    print(type(e).__name__, e)\n"
    )
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                         cwd=tmp_path, check=True)
    assert out.stderr == ""
    line = out.stdout.strip()
    assert line.startswith("CheckpointError nobody-kimicua/no-such-model: no local directory of that name, "
                           "and the Hugging Face hub is unreachable (") and "\n" not in line


def test_broken_checkpoint_propagates_as_one_checkpoint_error(ckpt, tmp_path):
    import shutil

    from kimicua.model.files import CheckpointError

    broken = shutil.copytree(ckpt, tmp_path / "broken")
    (broken / "tokenizer_config.json").write_text("{garbage")
    with pytest.raises(CheckpointError) as info:
        make_policy(str(broken))
    assert str(info.value).startswith(f"{broken / 'tokenizer_config.json'}: not valid JSON")
    with pytest.raises(ValueError, match=f"{tmp_path / 'none'}: no such checkpoint directory"):
        LocalPolicy(tmp_path / "none")


@pytest.fixture(scope="module")
def fp32_policy(ckpt):
    return LocalPolicy(ckpt, dtype="fp32", max_new_tokens=MAX_NEW)


def batch_prompts() -> list[Prompt]:
    return [
        prompt_with(screenshot(96, 64)),
        Prompt([{"role": "user", "content": "no screenshot, a longer question than the others"}]),
        prompt_with(screenshot(640, 400, seed=1)),  # resized
        prompt_with(screenshot(64, 64, seed=2), screenshot(120, 80, seed=3)),
    ]


def assert_same_reply(batched, single) -> None:
    assert (batched.text, batched.token_ids, batched.prompt_token_ids) == (single.text, single.token_ids,
                                                                            single.prompt_token_ids)
    assert batched.image_size == single.image_size and batched.model == single.model
    assert np.allclose(batched.logprobs, single.logprobs, atol=1e-4, rtol=0)
    assert set(batched.timings) == {"preprocess_s", "prefill_s", "decode_s"}


def test_act_batch_equals_act_on_each(fp32_policy):
    prompts = batch_prompts()
    singles = [fp32_policy.act(p) for p in prompts]
    batched = fp32_policy.act_batch(prompts)
    assert len(batched) == len(prompts)
    for b, s in zip(batched, singles):
        assert_same_reply(b, s)
    assert len({tuple(s.token_ids) for s in singles}) == len(prompts)  # distinct answers: order is checked
    assert fp32_policy.act_batch([]) == []


def test_act_batch_samples_prompt_i_with_seed_plus_i(ckpt):
    prompts = batch_prompts()
    kw = dict(dtype="fp32", temperature=2.0, seed=5, max_new_tokens=MAX_NEW)
    one_by_one = LocalPolicy(ckpt, **kw)
    singles = [one_by_one.act(p) for p in prompts]
    together = LocalPolicy(ckpt, **kw)
    batched = together.act_batch(prompts)
    for b, s in zip(batched, singles):
        assert_same_reply(b, s)
    assert together.act(prompts[0]).token_ids == one_by_one.act(prompts[0]).token_ids  # both at call 4 now
    together.reset(5)
    assert together.act_batch(prompts[:1])[0].token_ids == singles[0].token_ids


@pytest.fixture(scope="module")
def ckpt_2506(tmp_path_factory):
    from kimicua.model.tiny import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny_2506"), seed=0, style="thinking-2506")


def test_sampling_defaults_come_from_the_checkpoint_and_the_user_wins(ckpt, ckpt_2506):
    from kimicua.model.generation_config import INSTRUCT_MAX_NEW_TOKENS, THINKING_MAX_NEW_TOKENS

    plain = LocalPolicy(ckpt)  # no generation_config.json: greedy, the Instruct budget
    assert (plain.temperature, plain.top_p, plain.max_new_tokens) == (0.0, 1.0, INSTRUCT_MAX_NEW_TOKENS)
    thinking = LocalPolicy(ckpt_2506)  # its generation_config.json: temperature 0.8; a thinking budget
    assert thinking.defaults.thinking
    assert (thinking.temperature, thinking.top_p, thinking.max_new_tokens) == (0.8, 1.0, THINKING_MAX_NEW_TOKENS)
    mine = make_policy(str(ckpt_2506), temperature=0.0, top_p=0.9, max_new_tokens=64)
    assert (mine.temperature, mine.top_p, mine.max_new_tokens) == (0.0, 0.9, 64)
    unset = make_policy(str(ckpt_2506), temperature=None)  # an unset CLI flag keeps the checkpoint's
    assert unset.temperature == 0.8


def test_reply_ends_with_the_stop_token_and_carries_routing_when_asked(ckpt, monkeypatch):
    policy = LocalPolicy(ckpt, max_new_tokens=MAX_NEW)
    free = policy.act(prompt_with(screenshot(96, 64)))
    stop = free.token_ids[1]
    # the tiny model's third token as a stop id: the answer ends on it
    monkeypatch.setattr(type(policy.processor), "stop_token_ids", property(lambda self: (stop,)))
    reply = policy.act(prompt_with(screenshot(96, 64)))
    cut = free.token_ids.index(stop)
    assert reply.token_ids == free.token_ids[: cut + 1] and reply.token_ids[-1] == stop
    assert reply.logprobs == pytest.approx(free.logprobs[: cut + 1], abs=1e-5)
    assert reply.text == policy.processor.decode(free.token_ids[:cut])
    assert reply.routing is None  # off by default
    routed = LocalPolicy(ckpt, max_new_tokens=MAX_NEW, record_routing=True).act(prompt_with(screenshot(96, 64)))
    cfg = policy.model.config.text
    assert routed.routing.shape == (len(routed.token_ids), cfg.num_layers - cfg.first_k_dense_replace,
                                    cfg.num_experts_per_tok)
