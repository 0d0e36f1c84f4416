"""Routing records (routing.py) and the stop token in the response, on the tiny checkpoint in fp32.

The record is checked against the router itself: the test hooks the routers' INPUTS, calls each
router directly on them, and compares with what the engine recorded.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kimicua.model.engine import BatchEngine, ModelInputs, SamplingParams, generate, generate_batch
from kimicua.model.moe import MoE

MAX_NEW = 6


def routers(model):
    return [layer.mlp.gate for layer in model.language_model.model.layers if isinstance(layer.mlp, MoE)]


def prompt(processor, text: str, seed: int = 1) -> ModelInputs:
    image = np.random.default_rng(seed).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    b = processor([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}], [image])
    return ModelInputs(b["input_ids"], b["pixel_values"], b["image_grid_hws"])


def run(model, p: ModelInputs, **kw):
    return generate(model, p.input_ids, p.pixel_values, p.image_grid_hws, max_new_tokens=MAX_NEW, **kw)


def test_off_by_default_and_no_hook_stays(loaded):
    model, processor = loaded
    gen = run(model, prompt(processor, "Click OK."))
    assert gen.routing is None
    run(model, prompt(processor, "Click OK."), record_routing=True)
    assert all(not r._forward_hooks for r in routers(model))  # recording took its hooks off again


def test_record_is_what_the_router_computes_per_token_and_layer(loaded):
    model, processor = loaded
    p = prompt(processor, "Where is the search box?")
    seen: list[list[torch.Tensor]] = [[] for _ in routers(model)]
    handles = [r.register_forward_pre_hook(lambda m, args, j=j: seen[j].append(args[0].clone()))
               for j, r in enumerate(routers(model))]
    try:
        gen = run(model, p, record_routing=True)
    finally:
        for h in handles:
            h.remove()
    plain = run(model, p)
    assert gen.token_ids == plain.token_ids  # recording changes no answer
    cfg = model.config.text
    n_moe = sum(cfg.is_moe_layer(i) for i in range(cfg.num_layers))
    assert gen.routing.shape == (len(gen.response_ids), n_moe, cfg.num_experts_per_tok)
    assert gen.routing.dtype == np.uint8
    for j, router in enumerate(routers(model)):
        # call 0 is the prefill (the prompt's last position chose token 0); call i the decode of token i-1
        for i in range(len(gen.response_ids)):
            with torch.inference_mode():
                want = router(seen[j][i][-1:])[0].sort(dim=-1).values[0].numpy()
            assert (gen.routing[i, j] == want).all(), (i, j)
    assert (gen.routing < cfg.n_routed_experts).all()
    assert len({tuple(gen.routing[i].ravel()) for i in range(len(gen.routing))}) > 1  # not one row repeated


def test_stop_token_belongs_to_the_response(loaded):
    model, processor = loaded
    p = prompt(processor, "Click OK.")
    free = run(model, p)
    stop = free.token_ids[2]
    cut = free.token_ids.index(stop)
    gen = run(model, p, stop_token_ids=(stop,), record_routing=True)
    assert gen.finish_reason == "stop"
    assert gen.token_ids == free.token_ids[:cut]  # the text's tokens: without the stop
    assert gen.stop_token == stop
    assert gen.stop_logprob == pytest.approx(free.logprobs[cut], abs=1e-5)
    assert gen.response_ids == free.token_ids[: cut + 1]
    assert gen.response_logprobs == pytest.approx(free.logprobs[: cut + 1], abs=1e-5)
    assert len(gen.routing) == cut + 1  # the stop token has its routing row
    assert free.stop_token is None and free.response_ids == free.token_ids  # ended on length


def test_batched_records_equal_each_prompt_alone(loaded):
    model, processor = loaded
    ps = [prompt(processor, "Click OK.", 1), prompt(processor, "Type hello into the box please.", 2)]
    params = [SamplingParams(MAX_NEW), SamplingParams(3)]
    batched = generate_batch(model, ps, params, record_routing=True)
    for p, sp, b in zip(ps, params, batched):
        single = run(model, p, record_routing=True) if sp.max_new_tokens == MAX_NEW else \
            generate(model, p.input_ids, p.pixel_values, p.image_grid_hws, max_new_tokens=3, record_routing=True)
        assert b.token_ids == single.token_ids
        assert (b.routing == single.routing).all()


def test_a_prefill_between_steps_records_its_own_slot(loaded):
    model, processor = loaded
    a, b = prompt(processor, "Click OK.", 1), prompt(processor, "Open the menu.", 2)
    engine = BatchEngine(model, 2, 256, record_routing=True)
    try:
        engine.add(a.input_ids, a.pixel_values, a.image_grid_hws, SamplingParams(MAX_NEW))
        done = engine.step()
        engine.add(b.input_ids, b.pixel_values, b.image_grid_hws, SamplingParams(MAX_NEW))  # joins mid-way
        while engine.busy:
            done.update(engine.step())
    finally:
        engine.close()
    assert (done[0].routing == run(model, a, record_routing=True).routing).all()
    assert (done[1].routing == run(model, b, record_routing=True).routing).all()
