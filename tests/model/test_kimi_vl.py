"""Full VLM on tiny random weights: image scatter, KV cache decode vs recompute, generation."""

import pytest
import torch

from kimicua.model import KimiVL
from kimicua.model.config import TINY
from kimicua.model.engine import generate, new_cache, sample
from kimicua.model.tiny import random_init

MP = TINY.media_placeholder_token_id


@pytest.fixture(scope="module")
def model():
    m = KimiVL(TINY)
    random_init(m, 0)
    return m.eval()


def prompt():
    torch.manual_seed(0)
    grid = torch.tensor([[4, 6], [2, 2]])  # 6 + 1 image tokens
    pv = torch.randn(28, 3, 14, 14)
    ids = torch.tensor([[1, 2, 3] + [MP] * 6 + [5] + [MP] + [7, 8, 9]])
    return ids, pv, grid


def test_placeholder_count_mismatch_names_both_counts(model):
    ids, pv, grid = prompt()
    bad = ids.clone()
    bad[0, 3] = 4  # 6 placeholders left, images give 7 tokens
    with pytest.raises(ValueError, match=r"\(7 tokens\).*\(6,"):
        model(bad, pv, grid)
    with pytest.raises(ValueError, match="7 image placeholder tokens but no pixel_values"):
        model(ids)


def test_image_features_land_in_placeholder_positions(model):
    ids, pv, grid = prompt()
    with torch.no_grad():
        emb = model.embed(ids, pv, grid)
        feats = model.image_features(pv, grid)
        plain = model.language_model.model.embed_tokens(ids)
    pos = (ids[0] == MP).nonzero().flatten()
    assert torch.equal(emb[0, pos], feats)  # in order
    other = (ids[0] != MP).nonzero().flatten()
    assert torch.equal(emb[0, other], plain[0, other])


def test_decode_with_latent_cache_equals_full_recompute(model):
    ids, pv, grid = prompt()
    with torch.no_grad():
        caches = new_cache(model, 1, 32)
        logits = model.step(ids, caches, 0, pv, grid)
        assert torch.allclose(logits[0, -1], model(ids, pv, grid)[0, -1], atol=1e-5)
        seq = ids
        for tok in [11, 12, 13, 14]:
            nxt = torch.tensor([[tok]])
            logits = model.step(nxt, caches, seq.shape[1])
            seq = torch.cat([seq, nxt], 1)
            assert torch.allclose(logits[0, -1], model(seq, pv, grid)[0, -1], atol=1e-5)
        chunk = torch.tensor([[3, 4, 5]])  # several new tokens on top of a cache: masked absorbed path
        logits = model.step(chunk, caches, seq.shape[1])
        seq = torch.cat([seq, chunk], 1)
        assert torch.allclose(logits[0, -1], model(seq, pv, grid)[0, -1], atol=1e-5)
    # the cache holds the latent (kv_lora_rank) and one rope key, not per-head K/V
    assert caches[0].latent.shape == (1, 32, TINY.text.kv_lora_rank)
    assert caches[0].k_rope.shape == (1, 32, TINY.text.qk_rope_head_dim)


def test_greedy_generation_is_deterministic_and_matches_argmax(model):
    ids, pv, grid = prompt()
    a = generate(model, ids, pv, grid, max_new_tokens=6)
    b = generate(model, ids, pv, grid, max_new_tokens=6)
    assert a.token_ids == b.token_ids and a.finish_reason == "length" and len(a.token_ids) == 6
    with torch.no_grad():
        seq = ids
        for tok, lp in zip(a.token_ids, a.logprobs):
            logits = model(seq, pv, grid)[0, -1]
            logits[MP] = float("-inf")  # the engine never generates an image placeholder
            assert int(logits.argmax()) == tok
            assert abs(float(torch.log_softmax(logits, -1)[tok]) - lp) < 1e-4
            seq = torch.cat([seq, torch.tensor([[tok]])], 1)


def test_placeholder_is_never_generated(model):
    """A model that prefers the image placeholder still decodes: the placeholder is
    masked out (feeding it back would need image features there are none of)."""
    ids, pv, grid = prompt()
    first = generate(model, ids, pv, grid, max_new_tokens=1).token_ids[0]
    head = model.language_model.lm_head.weight
    saved = head[MP].clone()
    with torch.no_grad():
        head[MP] = head[first] * 4  # now the placeholder's logit beats every other
        assert int(model(ids, pv, grid)[0, -1].argmax()) == MP
        out = generate(model, ids, pv, grid, max_new_tokens=4)
        head[MP] = saved
    assert MP not in out.token_ids and len(out.token_ids) == 4


def test_stop_token_ends_generation(model):
    ids, pv, grid = prompt()
    a = generate(model, ids, pv, grid, max_new_tokens=6)
    stop = a.token_ids[2]
    b = generate(model, ids, pv, grid, max_new_tokens=6, stop_token_ids=[stop])
    first = a.token_ids.index(stop)
    assert b.finish_reason == "stop" and b.token_ids == a.token_ids[:first]


def test_seeded_sampling_is_reproducible(model):
    ids, pv, grid = prompt()
    kw = dict(max_new_tokens=8, temperature=5.0, top_p=0.95)
    a = generate(model, ids, pv, grid, seed=3, **kw)
    b = generate(model, ids, pv, grid, seed=3, **kw)
    c = generate(model, ids, pv, grid, seed=4, **kw)
    assert a.token_ids == b.token_ids and a.token_ids != c.token_ids


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    g = torch.Generator().manual_seed(0)
    drawn = {int(sample(logits, 1.0, 0.75, g)) for _ in range(300)}
    assert drawn == {0, 1}  # 0.5 + 0.3 reaches 0.75: tokens 2 and 3 are cut
    assert int(sample(logits, 0.0, 1.0, None)) == 0


def test_absorbed_weights_follow_in_place_weight_changes(model):
    ids, pv, grid = prompt()
    attn = model.language_model.model.layers[2].self_attn
    original = attn.kv_b_proj.weight.detach().clone()
    try:
        with torch.no_grad():
            caches = new_cache(model, 1, 32)
            model.step(ids, caches, 0, pv, grid)
            model.step(torch.tensor([[11]]), caches, ids.shape[1])  # fills the absorbed-weight cache
            attn.kv_b_proj.weight.mul_(1.5)
            caches = new_cache(model, 1, 32)
            model.step(ids, caches, 0, pv, grid)
            got = model.step(torch.tensor([[11]]), caches, ids.shape[1])[0, -1]
            want = model(torch.cat([ids, torch.tensor([[11]])], 1), pv, grid)[0, -1]
        assert torch.allclose(got, want, atol=1e-5)
    finally:
        with torch.no_grad():
            attn.kv_b_proj.weight.copy_(original)


def test_batched_decode_rows_match_single_sequences(model):
    torch.manual_seed(1)
    ids = torch.randint(0, 700, (2, 9))
    with torch.no_grad():
        caches = new_cache(model, 2, 16)
        model.step(ids, caches, 0)
        nxt = torch.tensor([[5], [6]])
        both = model.step(nxt, caches, 9)[:, -1]
        for b in range(2):
            alone = model(torch.cat([ids[b : b + 1], nxt[b : b + 1]], 1))[0, -1]
            assert torch.allclose(both[b], alone, atol=1e-5)
