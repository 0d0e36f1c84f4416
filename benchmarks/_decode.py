"""Decode-step measurements shared by model_cpu.py: our engine's step against transformers'
DeepseekV3 on the same weights (interleaved, so outside load hits both alike), and one step
timed component by component beside each component's bandwidth floor (bytes it must read /
measured read bandwidth).
"""

from __future__ import annotations

import statistics
import time

import torch

from kimicua.model import KimiVL
from kimicua.model.engine import BatchEngine, SamplingParams
from kimicua.model.graphs import SPAN_MIN


def engine_with_prompt(model: KimiVL, ids, pv, grid, steps: int) -> BatchEngine:
    """A one-slot engine holding the prompt (prefilled), ready for `steps` decode steps."""
    engine = BatchEngine(model, 1, ids.shape[1] + steps + 2)
    engine.add(ids, pv, grid, SamplingParams(max_new_tokens=steps + 1))
    return engine


def ours_vs_deepseek(model: KimiVL, ids, pv, grid, steps: int) -> tuple[list[float], list[float]]:
    """Seconds per decode step: (our engine.step(), DeepseekV3ForCausalLM forward + argmax), each at
    the same cache length (the prompt, with its image features as input embeddings, then i tokens)."""
    from kimicua.model.peer import deepseek_v3

    peer = deepseek_v3(model.language_model)
    engine = engine_with_prompt(model, ids, pv, grid, steps)
    with torch.inference_mode():
        out = peer(inputs_embeds=model.embed(ids, pv, grid), use_cache=True, logits_to_keep=1)
    cache, tok = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)

    def theirs():
        nonlocal tok
        with torch.inference_mode():
            logits = peer(input_ids=tok, cache=cache, use_cache=True, logits_to_keep=1).logits
        tok = logits[:, -1].argmax(-1, keepdim=True)

    ours_s, theirs_s = [], []
    for i in range(steps):
        t = time.perf_counter()
        engine.step()
        ours_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        theirs()
        theirs_s.append(time.perf_counter() - t)
    return ours_s[1:], theirs_s[1:]  # the first step of each warms up


def bound_fractions(model: KimiVL, ids, pv, grid, steps: int, nbytes: float) -> tuple[list[float], list[float]]:
    """(step seconds, fraction of the bandwidth bound) for `steps` engine steps, each next to a read
    of a 1 GiB buffer: on a host whose memory bandwidth swings (neighbours), each step is held
    against the bandwidth of its own moment."""
    engine = engine_with_prompt(model, ids, pv, grid, steps)
    buf = torch.ones(1 << 28)  # 1 GiB of float32
    engine.step()  # warm-up
    times, fractions = [], []
    for _ in range(steps - 1):
        t = time.perf_counter()
        buf.sum()
        bw = buf.numel() * 4 / (time.perf_counter() - t)
        t = time.perf_counter()
        engine.step()
        step = time.perf_counter() - t
        times.append(step)
        fractions.append(nbytes / bw / step)
    return times, fractions


def components(model: KimiVL) -> dict[str, list[torch.nn.Module]]:
    """The decoder's modules by component, each timed on its own (leaves: no double counting)."""
    lm = model.language_model
    parts: dict[str, list[torch.nn.Module]] = {"lm_head": [lm.lm_head], "norms": [lm.model.norm]}
    for layer in lm.model.layers:
        parts.setdefault("attention (MLA, absorbed)", []).append(layer.self_attn)
        parts["norms"] += [layer.input_layernorm, layer.post_attention_layernorm]
        mlp = layer.mlp
        if hasattr(mlp, "experts"):
            parts.setdefault("router", []).append(mlp.gate)
            parts.setdefault("routed experts", []).append(mlp.experts)
            parts.setdefault("shared experts", []).append(mlp.shared_experts)
        else:
            parts.setdefault("dense MLP", []).append(mlp)
    return parts


def floor_bytes(model: KimiVL, span: int) -> dict[str, float]:
    """Bytes each component must read for one token (active experts only; cache up to span)."""
    t = model.config.text
    elt = model.dtype.itemsize

    def size(modules):
        return sum(p.numel() for m in modules for p in m.parameters()) * elt

    parts = components(model)
    out = {k: float(size(v)) for k, v in parts.items()}
    out["attention (MLA, absorbed)"] += t.num_layers * span * (t.kv_lora_rank + t.qk_rope_head_dim) * elt
    n_moe = len(parts.get("routed experts", []))
    out["routed experts"] = n_moe * t.num_experts_per_tok * 3 * t.hidden_size * t.moe_intermediate_size * elt
    out["router"] = n_moe * t.n_routed_experts * t.hidden_size * elt
    return out


def profile_step(model: KimiVL, ids, pv, grid, steps: int) -> tuple[dict[str, float], float, int]:
    """Median seconds per component over `steps` engine steps, the median step, and the span read."""
    engine = engine_with_prompt(model, ids, pv, grid, steps)
    spent: dict[str, float] = {}
    handles = []
    for name, modules in components(model).items():
        for m in modules:
            def pre(mod, args):
                mod._t0 = time.perf_counter()

            def post(mod, args, out, _name=name):
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - mod._t0

            handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    per_step: list[dict[str, float]] = []
    totals = []
    try:
        engine.step()  # warm-up
        for _ in range(steps - 1):
            spent.clear()
            t = time.perf_counter()
            engine.step()
            totals.append(time.perf_counter() - t)
            per_step.append(dict(spent))
    finally:
        for h in handles:
            h.remove()
    median = {k: statistics.median(s[k] for s in per_step) for k in per_step[0]}
    length = ids.shape[1] + steps
    span = min(max(SPAN_MIN, 1 << (length - 1).bit_length()), engine.max_tokens)
    return median, statistics.median(totals), span


def print_profile(tag: str, model: KimiVL, ids, pv, grid, steps: int, read_bw: float) -> None:
    times, step, span = profile_step(model, ids, pv, grid, steps)
    floors = floor_bytes(model, span)
    print(f"{tag} one decode step by component (median of {steps - 1} steps; floor = bytes / {read_bw / 1e9:.0f} GB/s):")
    print(f"{tag}   {'component':27s} {'ms':>7s} {'MB read':>8s} {'floor ms':>8s} {'floor/ms':>8s}")
    for name in sorted(times, key=lambda k: -times[k]):
        ms, mb = times[name] * 1e3, floors.get(name, 0.0) / 1e6
        fl = floors.get(name, 0.0) / read_bw * 1e3
        print(f"{tag}   {name:27s} {ms:7.2f} {mb:8.1f} {fl:8.2f} {fl / ms:8.0%}")
    rest = step - sum(times.values())
    print(f"{tag}   {'other (embed, sampling, glue)':27s} {rest * 1e3:7.2f}")
    total_floor = sum(floors.values()) / read_bw
    print(f"{tag}   {'step':27s} {step * 1e3:7.2f} {sum(floors.values()) / 1e6:8.1f} {total_floor * 1e3:8.2f} "
          f"{total_floor / step:8.0%}")
