"""Batched generation: B prompts decoded together give each prompt's answer alone.

The tiny checkpoint in fp32, real processor inputs: prompts of different lengths, with no
image, one image or two, of different sizes; per-row stop ids so rows finish at different steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kimicua.model.engine import BatchEngine, ModelInputs, SamplingParams, generate, generate_batch

MAX_NEW = 8


def shot(width: int, height: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def prompts(loaded) -> list[ModelInputs]:
    _, processor = loaded
    convs = [
        ([{"role": "user", "content": "hi"}], []),
        ([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Click OK."}]}], [shot(96, 64, 1)]),
        ([{"role": "user", "content": [{"type": "text", "text": "Where is the search box on this page?"},
                                       {"type": "image"}]}], [shot(200, 120, 2)]),
        ([{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "Diff?"}]}],
         [shot(64, 64, 3), shot(120, 80, 4)]),
    ]
    out = []
    for messages, images in convs:
        b = processor(messages, images)
        out.append(ModelInputs(b["input_ids"], b["pixel_values"], b["image_grid_hws"]))
    return out


def alone(model, p: ModelInputs, sp: SamplingParams):
    return generate(model, p.input_ids, p.pixel_values, p.image_grid_hws, max_new_tokens=sp.max_new_tokens,
                    temperature=sp.temperature, top_p=sp.top_p, seed=sp.seed, stop_token_ids=sp.stop_token_ids)


def assert_same(batched, single) -> None:
    assert batched.token_ids == single.token_ids
    assert batched.finish_reason == single.finish_reason
    assert batched.prompt_tokens == single.prompt_tokens
    assert len(batched.logprobs) == len(single.logprobs)
    assert np.allclose(batched.logprobs, single.logprobs, atol=1e-4, rtol=0)


def staggered_stops(model, prompts) -> list[SamplingParams]:
    """Per-row stop ids taken from each row's own greedy answer, so rows stop at different steps."""
    free = [generate(model, p.input_ids, p.pixel_values, p.image_grid_hws, max_new_tokens=MAX_NEW) for p in prompts]
    params = []
    for i, g in enumerate(free):
        at = (1, 3, None, 5)[i % 4]  # row 2 runs to its length limit
        stop = () if at is None or at >= len(g.token_ids) else (g.token_ids[at],)
        params.append(SamplingParams(max_new_tokens=MAX_NEW, stop_token_ids=stop))
    return params


def test_prompts_differ_in_length_and_images(prompts):
    lengths = [p.input_ids.shape[1] for p in prompts]
    assert len(set(lengths)) == len(lengths)
    assert prompts[0].pixel_values is None and prompts[3].image_grid_hws.shape[0] == 2
    assert prompts[1].image_grid_hws.tolist() != prompts[2].image_grid_hws.tolist()


def test_greedy_batch_equals_each_prompt_alone(loaded, prompts):
    model, _ = loaded
    params = staggered_stops(model, prompts)
    singles = [alone(model, p, sp) for p, sp in zip(prompts, params)]
    batched = generate_batch(model, prompts, params)
    for b, s in zip(batched, singles):
        assert_same(b, s)
    assert {g.finish_reason for g in singles} == {"stop", "length"}
    assert len({len(g.token_ids) for g in singles}) >= 3  # rows really finish at different steps


def test_sampled_batch_with_per_row_seeds_equals_each_seed_alone(loaded, prompts):
    model, _ = loaded
    params = [SamplingParams(max_new_tokens=MAX_NEW, temperature=3.0, top_p=0.9, seed=10 + i) for i in range(4)]
    params[2] = SamplingParams(max_new_tokens=MAX_NEW)  # a greedy row among sampled ones
    singles = [alone(model, p, sp) for p, sp in zip(prompts, params)]
    batched = generate_batch(model, prompts, params)
    for b, s in zip(batched, singles):
        assert_same(b, s)
    # each row drew from its own generator: another seed gives another answer
    other = alone(model, prompts[0], SamplingParams(max_new_tokens=MAX_NEW, temperature=3.0, top_p=0.9, seed=99))
    assert other.token_ids != singles[0].token_ids


def test_a_freed_slot_takes_a_new_prompt_between_steps(loaded, prompts):
    """What continuous batching does: the long prompt's row finishes, a shorter prompt joins in its
    slot while the other row is mid-decode; the slot's stale entries past the new length stay masked."""
    model, _ = loaded
    short, long_, other = prompts[0], prompts[2], prompts[1]
    assert short.input_ids.shape[1] < long_.input_ids.shape[1]
    p_long, p_other, p_short = (SamplingParams(max_new_tokens=n) for n in (3, MAX_NEW, MAX_NEW))
    engine = BatchEngine(model, slots=2, max_tokens=long_.input_ids.shape[1] + MAX_NEW)
    assert engine.add(long_.input_ids, long_.pixel_values, long_.image_grid_hws, p_long) == 0
    assert engine.add(other.input_ids, other.pixel_values, other.image_grid_hws, p_other) == 1
    with pytest.raises(RuntimeError, match="all 2 slots are busy"):
        engine.add(short.input_ids, params=p_short)
    done = {}
    for _ in range(3):
        done.update(engine.step())
    assert list(done) == [0] and engine.busy == [1] and len(engine.tokens(1)) == 3
    assert engine.add(short.input_ids, params=p_short) == 0  # the freed slot, mid-decode of slot 1
    late = engine.run()
    assert sorted(late) == [0, 1] and engine.busy == [] and engine.step() == {}
    assert_same(done[0], alone(model, long_, p_long))
    assert_same(late[1], alone(model, other, p_other))
    assert_same(late[0], alone(model, short, p_short))


def test_per_row_positions_decode_equals_full_recompute(loaded):
    """Independent of the engine: rows at different lengths decoded in one step with a position
    per row give the logits of running each whole sequence through the model without a cache."""
    from kimicua.model.engine import new_cache

    model, _ = loaded
    torch.manual_seed(0)
    seqs = [torch.randint(0, 700, (1, n)) for n in (5, 11, 8)]
    with torch.inference_mode():
        caches = new_cache(model, 3, 16)
        for i, s in enumerate(seqs):
            row = [c.rows(i, i + 1) for c in caches]
            model.step(s, row, 0)
        nxt = torch.tensor([[21], [22], [23]])
        got = model.step(nxt, caches, torch.tensor([5, 11, 8]))[:, -1]
        for i, s in enumerate(seqs):
            want = model(torch.cat([s, nxt[i : i + 1]], 1))[0, -1]
            assert torch.allclose(got[i], want, atol=1e-5)


def test_placeholder_is_never_generated_in_a_batch(loaded, prompts):
    model, _ = loaded
    mp = model.config.media_placeholder_token_id
    first = generate(model, prompts[0].input_ids, max_new_tokens=1).token_ids[0]
    head = model.language_model.lm_head.weight
    saved = head[mp].clone()
    try:
        with torch.no_grad():
            head[mp] = head[first] * 4  # now the placeholder's logit beats every other for prompt 0
            assert int(model(prompts[0].input_ids)[0, -1].argmax()) == mp
            out = generate_batch(model, prompts[:2], SamplingParams(max_new_tokens=4))
    finally:
        with torch.no_grad():
            head[mp] = saved
    assert all(mp not in g.token_ids and len(g.token_ids) == 4 for g in out)


def test_limits_and_bad_requests_fail_clearly(loaded, prompts):
    model, _ = loaded
    L = prompts[0].input_ids.shape[1]
    engine = BatchEngine(model, slots=1, max_tokens=L + 2)
    with pytest.raises(ValueError, match=f"prompt of {L} tokens plus max_new_tokens 3 exceeds the {L + 2} positions"):
        engine.add(prompts[0].input_ids, params=SamplingParams(max_new_tokens=3))
    assert engine.busy == [] and engine.free == 1
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0.0)
    with pytest.raises(ValueError, match="2 prompts but 1 SamplingParams"):
        generate_batch(model, prompts[:2], [SamplingParams()])
    slot = engine.add(prompts[0].input_ids, params=SamplingParams(max_new_tokens=2))
    engine.cancel(slot)
    assert engine.free == 1 and engine.step() == {}


def test_compiled_decode_answers_as_eager(loaded, prompts):
    """BatchEngine(compiled=True) runs the decode forward through torch.compile: the same greedy
    answers and logprobs as each prompt decoded alone, eagerly."""
    model, _ = loaded
    sp = SamplingParams(max_new_tokens=6)
    engine = BatchEngine(model, 2, 512, compiled=True)
    assert engine._decode._decode is not model.decode  # the compiled callable, not the bound method
    slots = [engine.add(p.input_ids, p.pixel_values, p.image_grid_hws, sp) for p in prompts[:2]]
    done = {}
    while len(done) < 2:
        done.update(engine.step())
    for slot, p in zip(slots, prompts[:2]):
        assert_same(done[slot], alone(model, p, sp))
