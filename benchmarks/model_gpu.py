"""GPU speed and memory of the full-size Kimi-VL-A3B (random bf16 weights), in one prepared run.

What it measures (issue 13, section 5), all in one process, weights built on the device:
1. prefill: one 1920x1080 screenshot (grid 48x86 -> 1032 image tokens) + 100 text tokens;
2. decode through BatchEngine at batch 1 and 8 over that prompt's cache, with and without
   CUDA graphs: ms per step (= ms/token for each sequence), tok/s, % of the HBM bound, and the
   host syncs per eager step (expected: 1, the sampled tokens);
3. bf16 logits against fp32 on a short prompt (a small image + text), the same weights upcast in
   place (the first decoder layers only when fp32 would not fit);
4. peak memory.
Attention: flash-attn for prefill and vision where it imports, SDPA otherwise; decode attention
is SDPA over the absorbed latent cache (head dim 576, beyond flash-attn) either way.
HBM bound: bytes a step must read / bandwidth, both the device's nominal bandwidth (from its name)
and a measured device-to-device copy. Bytes: every decoder weight but the embedding and idle
experts (B rows touch E(1 - (1 - A/E)^B) experts per layer under uniform routing) plus the cache.

    .venv/bin/python benchmarks/model_gpu.py                      # on a GPU, ~1-2 minutes
    .venv/bin/python benchmarks/model_gpu.py --device cpu --layers 2 --image 448x252 --decode-tokens 4
                                                                   # the same code path on CPU (no graphs)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback
import warnings

os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")  # before CUDA starts: less fragmentation
import torch  # noqa: E402

NOMINAL_TBPS = {"H200": 4.8, "H100 NVL": 3.9, "H100 PCIe": 2.0, "H100": 3.35, "A100-SXM4-80GB": 2.04,
                "A100 80GB PCIe": 1.94, "A100": 1.56, "L40S": 0.864, "B200": 8.0}


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, dev: torch.device, reps: int = 3) -> float:
    """Best-of-reps seconds of fn() (after one warm-up)."""
    fn()
    sync(dev)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync(dev)
        best = min(best, time.perf_counter() - t)
    return best


def bandwidths(dev: torch.device) -> tuple[float | None, float]:
    """(nominal bytes/s from the device name or None, measured copy bytes/s: read + write)."""
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else ""
    nominal = next((v * 1e12 for k, v in NOMINAL_TBPS.items() if k in name), None)
    n = (4 << 30) if dev.type == "cuda" else (1 << 30)
    src = torch.ones(n // 2, dtype=torch.bfloat16, device=dev)
    dst = torch.empty_like(src)
    measured = 2 * n / timed(lambda: dst.copy_(src), dev, reps=5)
    del src, dst
    return nominal, measured


def build(cfg, dev: torch.device):
    """The model with random bf16 weights made on the device: norms 1, biases 0, matrices N(0, 0.02)."""
    from kimicua.model import KimiVL

    with torch.device("meta"):
        model = KimiVL(cfg)
    model = model.to(torch.bfloat16).to_empty(device=dev)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.fill_(1.0) if "norm" in name.rsplit(".", 2)[-2] else p.zero_()
            else:
                p.normal_(0.0, 0.02)
    return model.eval()


def prompt(cfg, width: int, height: int, text_tokens: int, dev: torch.device, seed: int = 0):
    """input_ids [1, L] with the image's placeholders after 10 text tokens, pixel_values, grid."""
    from kimicua.model.image_processor import KimiImageProcessor

    gh, gw = KimiImageProcessor().plan(width, height).grid_hw
    gh, gw = gh + gh % 2, gw + gw % 2  # whole 2x2 merge blocks, as the padded published processor gives
    g = torch.Generator().manual_seed(seed)
    n_img = gh * gw // 4
    ids = torch.randint(0, 1000, (1, text_tokens + n_img), generator=g)
    ids[0, 10 : 10 + n_img] = cfg.media_placeholder_token_id
    pv = torch.randn(gh * gw, 3, 14, 14, generator=g).to(dev, torch.bfloat16)
    return ids.to(dev), pv, torch.tensor([[gh, gw]])


def step_bytes(cfg, rows: int, span: int) -> float:
    """Bytes one decode step must read in bf16 for `rows` rows over `span` cached positions."""
    from kimicua.model.inspect import meta_model

    t = cfg.text
    lm = meta_model(cfg).language_model
    total = sum(p.numel() for p in lm.parameters()) - lm.model.embed_tokens.weight.numel()
    n_moe = sum(t.is_moe_layer(i) for i in range(t.num_layers))
    E, A = t.n_routed_experts, t.num_experts_per_tok
    touched = E * (1 - (1 - A / E) ** rows)
    idle = n_moe * (E - touched) * 3 * t.hidden_size * t.moe_intermediate_size
    cache = t.num_layers * rows * span * (t.kv_lora_rank + t.qk_rope_head_dim)
    return 2.0 * (total - idle + cache)


def decode(model, cfg, image: tuple[int, int], text_tokens: int, rows: int, steps: int, graphs: bool,
           dev: torch.device, compiled: bool = False) -> dict:
    """Median seconds per engine step over `steps`, `rows` screenshot prompts decoding together
    (each its own text and pixels, so rows route to different experts). `compiled`: the decode
    forward through torch.compile (inductor fuses the elementwise kernels) under the graphs."""
    from kimicua.model.engine import BatchEngine, SamplingParams
    from kimicua.model.graphs import SPAN_MIN

    prompts = [prompt(cfg, *image, text_tokens, dev, seed=r) for r in range(rows)]
    L = prompts[0][0].shape[1]
    engine = BatchEngine(model, rows, L + steps + 8, cuda_graphs=graphs, compiled=compiled)
    for ids, pv, grid in prompts:
        engine.add(ids, pv, grid, SamplingParams(max_new_tokens=steps + 6))
    for _ in range(3):  # warm-up; captures the graph
        engine.step()
    times, syncs = [], 0
    for i in range(steps):
        count = dev.type == "cuda" and not graphs and i == 0
        if count:
            torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t = time.perf_counter()
            engine.step()
            times.append(time.perf_counter() - t)
        if count:
            torch.cuda.set_sync_debug_mode(0)
            syncs = sum("synchroniz" in str(w.message) for w in caught)
    span = min(max(SPAN_MIN, 1 << (L + steps + 2).bit_length()), engine.max_tokens)
    out = {"step": statistics.median(times), "best": min(times), "syncs": syncs, "span": span,
           "graphs": engine.cuda_graphs}
    del engine
    return out


def profile(model, cfg, image: tuple[int, int], text_tokens: int, rows: int, dev: torch.device, steps: int = 3) -> None:
    """Where one eager decode step's device time goes: the kernels by total time over `steps` steps
    (device time per kernel is what a graph replay still pays; launch gaps are what it saves)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from kimicua.model.engine import BatchEngine, SamplingParams

    prompts = [prompt(cfg, *image, text_tokens, dev, seed=r) for r in range(rows)]
    engine = BatchEngine(model, rows, prompts[0][0].shape[1] + steps + 16, cuda_graphs=False)
    for ids, pv, grid in prompts:
        engine.add(ids, pv, grid, SamplingParams(max_new_tokens=steps + 8))
    for _ in range(3):
        engine.step()
    sync(dev)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with torch_profile(activities=acts) as prof:
        for _ in range(steps):
            engine.step()
        sync(dev)
    if dev.type == "cuda":
        stats = prof.key_averages()
        launches = sum(e.count for e in stats if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC"))
        print(f"profile, batch {rows}, eager: {launches / steps:.0f} kernel launches/step, "
              f"{stats.total_average().self_device_time_total / steps / 1e3:.2f} ms device time/step")
    key = "device_time_total" if dev.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=18, max_name_column_width=60))
    del engine


def routing_check(model, cfg, dev: torch.device, tokens: int = 24) -> str:
    """--record-routing on this device: the routing record of a greedy answer with CUDA graphs
    against the same answer decoded eagerly (ids, and the record, token by token), and the
    cost of recording per decode step."""
    from kimicua.model.engine import BatchEngine, SamplingParams

    ids, pv, grid = prompt(cfg, 448, 252, 24, dev, seed=3)
    runs = {}
    for graphs in ((False, True) if dev.type == "cuda" else (False,)):
        for record in (False, True):
            engine = BatchEngine(model, 1, ids.shape[1] + tokens + 8, cuda_graphs=graphs, record_routing=record)
            engine.add(ids, pv, grid, SamplingParams(max_new_tokens=tokens, stop_token_ids=()))
            done, times = {}, []
            while not done:
                sync(dev)
                t = time.perf_counter()
                done = engine.step()
                sync(dev)
                times.append(time.perf_counter() - t)
            engine.close()
            runs[graphs, record] = (done[0], statistics.median(times[4:]) if len(times) > 8 else float("nan"))
    eager = runs[False, True][0]
    line = (f"routing records ({tokens} tokens, {eager.routing.shape[1]} MoE layers x top-{eager.routing.shape[2]}): "
            f"eager step {runs[False, False][1] * 1e3:.2f} ms, recording {runs[False, True][1] * 1e3:.2f} ms")
    if (True, True) in runs:
        graphed = runs[True, True][0]
        same_ids = graphed.token_ids == eager.token_ids
        n = min(len(graphed.routing), len(eager.routing))
        agree = float((graphed.routing[:n] == eager.routing[:n]).mean())
        line += (f"; graphs step {runs[True, False][1] * 1e3:.2f} ms, recording {runs[True, True][1] * 1e3:.2f} ms; "
                 f"graphs vs eager: same tokens {same_ids}, routing ids equal {agree:.1%}")
    return line


def precision_check(model, cfg, dev: torch.device, layers: int) -> list[str]:
    """bf16 vs fp32 logits of a short prompt after 1, 2, 4, ... and `layers` decoder layers (weights
    upcast in place at the end): random weights route on near-ties, so the gap grows with depth."""
    lm = model.language_model
    full = lm.model.layers
    depths = sorted({d for d in (1, 2, 4, 8, layers) if d <= layers})
    ids, pv, grid = prompt(cfg, 224, 224, 24, dev, seed=1)
    low = {}
    with torch.inference_mode():
        for d in depths:
            lm.model.layers = full[:d]
            low[d] = model(ids, pv, grid).float()
        kept = lm.model.layers = full[:layers]
        del full  # the layers past `layers` go: fp32 needs their room
        sync(dev)
        model.float()
        lines = []
        for d in depths:
            lm.model.layers = kept[:d]
            high = model(ids, pv, grid).float()  # the vision tower casts pixels to its weights' dtype
            diff = (low[d] - high).abs()
            agree = (low[d].argmax(-1) == high.argmax(-1)).float().mean().item()
            lines.append(f"bf16 vs fp32 logits, {ids.shape[1]} tokens (224x224 image + 24 text), {d:2d} decoder layers: "
                         f"max |diff| {diff.max().item():.3g} = {diff.max().item() / high.abs().max().item():.2%} of max |logit|, "
                         f"mean |diff| {diff.mean().item():.3g}, top-1 agreement {agree:.0%}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--layers", type=int, help="decoder layers (default all 27); vision layers follow unless given")
    ap.add_argument("--vision-layers", type=int)
    ap.add_argument("--image", default="1920x1080", help="screenshot size WxH")
    ap.add_argument("--text-tokens", type=int, default=100)
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--no-fp32-check", action="store_true")
    ap.add_argument("--routing", action="store_true", help="also check --record-routing: graphs vs eager, its cost")
    ap.add_argument("--compile", action="store_true", help="also decode through torch.compile (+c rows)")
    ap.add_argument("--profile", action="store_true", help="also profile one eager decode step per batch size")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("model_gpu.py: no CUDA GPU here (torch.cuda.is_available() is False); "
                 "for the CPU code path run --device cpu --layers 2")

    import dataclasses

    from kimicua.model.attention import flash_attn_func
    from kimicua.model.config import KimiVLConfig
    from kimicua.model.moe import native_grouped_mm

    base = KimiVLConfig.preset("kimi-vl-a3b")
    layers = args.layers or base.text.num_layers
    vision_layers = args.vision_layers or min(layers, base.vision.num_layers)
    cfg = dataclasses.replace(base, vision=dataclasses.replace(base.vision, num_layers=vision_layers),
                              text=dataclasses.replace(base.text, num_layers=layers))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    nominal, measured = bandwidths(dev)
    model = build(cfg, dev)
    weights = sum(p.numel() for p in model.parameters()) * 2
    probe = torch.zeros(1, dtype=torch.bfloat16, device=dev)
    print(f"device {name}; torch {torch.__version__}; flash-attn {'yes' if flash_attn_func else 'no (SDPA)'}; "
          f"MoE grouped_mm kernel {'yes' if native_grouped_mm(probe) else 'no'}")
    print(f"model: {layers} decoder + {vision_layers} vision layers, bf16 weights {weights / 1e9:.1f} GB; "
          f"bandwidth nominal {nominal / 1e12 if nominal else float('nan'):.2f} TB/s, measured copy {measured / 1e12:.2f} TB/s")

    w, h = (int(v) for v in args.image.split("x"))
    ids, pv, grid = prompt(cfg, w, h, args.text_tokens, dev)
    L = ids.shape[1]
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    from kimicua.model.engine import new_cache

    with torch.inference_mode():
        t_pre = timed(lambda: model.step(ids, new_cache(model, 1, L + 1), 0, pv, grid), dev)
        t_vis = timed(lambda: model.image_features(pv, grid), dev)
    print(f"prefill {w}x{h} screenshot + {args.text_tokens} text = {L} tokens: {t_pre * 1e3:.0f} ms "
          f"(vision+projector {t_vis * 1e3:.0f} ms), {L / t_pre:.0f} tok/s")

    print(f"{'batch':>5s} {'graphs':>6s} {'ms/step':>8s} {'best':>6s} {'tok/s':>7s} {'bound ms':>8s} "
          f"{'% nominal':>9s} {'% copy bw':>9s} {'syncs/step':>10s}")
    modes = [(False, False), (True, False)] if dev.type == "cuda" else [(False, False)]
    if args.compile:
        modes.append((dev.type == "cuda", True))
    for B in (int(b) for b in args.batches.split(",")):
        for graphs, compiled in modes:
            try:
                r = decode(model, cfg, (w, h), args.text_tokens, B, args.decode_tokens, graphs, dev, compiled)
            except Exception as e:  # one failed configuration must not lose the others' figures
                print(f"{B:5d} {'on' if graphs else 'off':>6s} failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
                traceback.print_exc(limit=-3)
                continue
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            nbytes = step_bytes(cfg, B, r["span"])
            nom = f"{nbytes / nominal / r['step']:.0%}" if nominal else "-"
            syncs = str(r["syncs"]) if dev.type == "cuda" and not graphs else "-"
            used = ("on" if r["graphs"] else ("off" if not graphs else "FAILED")) + ("+c" if compiled else "")
            print(f"{B:5d} {used:>6s} {r['step'] * 1e3:8.2f} {r['best'] * 1e3:6.2f} {B / r['step']:7.0f} "
                  f"{nbytes / measured * 1e3:8.2f} {nom:>9s} {nbytes / measured / r['step']:9.0%} {syncs:>10s}")
    if args.routing:
        try:
            print(routing_check(model, cfg, dev))
        except Exception as e:
            print(f"routing check failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            traceback.print_exc(limit=-3)
    if args.profile:
        for B in (int(b) for b in args.batches.split(",")):
            profile(model, cfg, (w, h), args.text_tokens, B, dev)
    if dev.type == "cuda":
        print(f"peak memory (bf16 runs) {torch.cuda.max_memory_allocated(dev) / 2**30:.1f} GiB "
              f"of {torch.cuda.get_device_properties(dev).total_memory / 2**30:.0f} GiB")
    if not args.no_fp32_check:
        keep = layers
        if dev.type == "cuda":  # fp32 doubles the weights: keep the decoder layers that fit in 85% of memory
            torch.cuda.empty_cache()
            room = 0.85 * torch.cuda.get_device_properties(dev).total_memory
            sizes = [4 * sum(p.numel() for p in layer.parameters()) for layer in model.language_model.model.layers]
            fixed = 2 * weights - sum(sizes)  # everything else in fp32
            keep = max(1, sum(1 for i in range(layers) if fixed + sum(sizes[: i + 1]) <= room))
        try:
            print("\n".join(precision_check(model, cfg, dev, keep)))
        except Exception as e:
            print(f"bf16 vs fp32 check failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            traceback.print_exc(limit=-3)


if __name__ == "__main__":
    main()
