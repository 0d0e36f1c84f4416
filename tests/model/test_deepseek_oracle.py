"""Our decoder against transformers' own DeepseekV3ForCausalLM (the same architecture) on the same
tiny random weights, fp32: prefill logits at every position, then decode steps through our latent
cache (per-row positions, the engine's path) against theirs through its DynamicCache."""

import pytest
import torch

from kimicua.model import KimiVL
from kimicua.model.config import TINY
from kimicua.model.engine import generate, new_cache
from kimicua.model.tiny import random_init

pytest.importorskip("transformers.models.deepseek_v3")
from kimicua.model.peer import deepseek_v3  # noqa: E402

MP = TINY.media_placeholder_token_id


@pytest.fixture(scope="module")
def pair():
    model = KimiVL(TINY)
    random_init(model, 5)
    model.eval()
    return model, deepseek_v3(model.language_model)


def close(ours: torch.Tensor, theirs: torch.Tensor) -> bool:
    scale = theirs.abs().max()
    return bool((ours - theirs).abs().max() <= 1e-5 * scale + 1e-6)


def test_weights_are_shared_not_copied(pair):
    model, peer = pair
    ours = model.language_model.model.layers[1]
    theirs = peer.model.layers[1]
    assert theirs.mlp.experts.gate_up_proj.data_ptr() == ours.mlp.experts.w13.data_ptr()
    assert theirs.self_attn.kv_b_proj.weight.data_ptr() == ours.self_attn.kv_b_proj.weight.data_ptr()
    assert peer.lm_head.weight.data_ptr() == model.language_model.lm_head.weight.data_ptr()


def test_prefill_logits_equal_transformers(pair):
    model, peer = pair
    ids = torch.randint(0, 700, (2, 23), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model(ids)
        theirs = peer(input_ids=ids).logits
    assert ours.shape == theirs.shape == (2, 23, TINY.text.vocab_size)
    assert close(ours, theirs)


def test_decode_steps_equal_transformers_with_its_cache(pair):
    model, peer = pair
    from transformers import DynamicCache

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 700, (2, 13), generator=g)
    with torch.inference_mode():
        caches = new_cache(model, 2, 32)
        ours = model.step(ids, caches, 0)[:, -1]
        cache = DynamicCache(config=peer.config)
        theirs = peer(input_ids=ids, cache=cache, use_cache=True).logits[:, -1]
        assert close(ours, theirs)
        pos = torch.tensor([13, 13])
        for _ in range(4):
            tok = ours.argmax(-1, keepdim=True)  # [2, 1]: each row follows its own greedy path
            ours = model.decode(tok, caches, pos)[:, -1]
            theirs = peer(input_ids=tok, cache=cache, use_cache=True).logits[:, -1]
            assert close(ours, theirs)
            pos += 1


def test_greedy_generation_equals_transformers_generate(pair):
    """The engine end to end (sampling, placeholder mask, stop handling aside) against generate()."""
    model, peer = pair
    ids = torch.randint(0, 700, (1, 9), generator=torch.Generator().manual_seed(2))
    ours = generate(model, ids, max_new_tokens=10)
    theirs = peer.generate(ids, max_new_tokens=10, min_new_tokens=10, do_sample=False, eos_token_id=None,
                           pad_token_id=TINY.text.pad_token_id)[0, 9:].tolist()
    assert MP not in theirs  # else our engine's placeholder mask would rightly differ
    assert ours.token_ids == theirs
