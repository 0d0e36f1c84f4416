"""GPU speed and memory of the full-size Kimi-VL-A3B (random bf16 weights), against in-run peers.

Measures: prefill latency for one 1920x1080 screenshot (grid 48x86 -> 1032 image tokens) + 100
text tokens; decode ms/token at batch 1 and 8 over a 1132-token cache; peak GPU memory; and
decode as a fraction of the bandwidth bound (weights read per token x 2 bytes / HBM bandwidth,
the bandwidth measured in this run with a large device-to-device copy). Needs ~36 GB of GPU
memory; exits with a message when CUDA is not available.

    .venv/bin/python benchmarks/model_gpu.py [--decode-tokens 32] [--batches 1,8]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

GRID, TEXT_TOKENS = (48, 86), 100


def cuda_time(fn, reps: int = 3) -> float:
    """Best-of-reps seconds of fn() on the GPU (after one warm-up)."""
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def hbm_bandwidth(nbytes: int = 4 << 30) -> float:
    src = torch.empty(nbytes // 2, dtype=torch.bfloat16, device="cuda").fill_(1.0)
    dst = torch.empty_like(src)
    bw = 2 * nbytes / cuda_time(lambda: dst.copy_(src), reps=5)  # read + write
    del src, dst
    torch.cuda.empty_cache()
    return bw


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--batches", default="1,8")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("model_gpu.py needs a CUDA GPU (torch.cuda.is_available() is False); "
                 "run benchmarks/model_cpu.py on CPU")

    from kimicua.model import KimiVL
    from kimicua.model.config import KimiVLConfig
    from kimicua.model.engine import new_cache
    from kimicua.model.inspect import active_parameters
    from kimicua.model.vision import flash_attn_varlen_func

    cfg = KimiVLConfig.preset("kimi-vl-a3b")
    print(f"device: {torch.cuda.get_device_name()}, flash-attn: {flash_attn_varlen_func is not None}")
    bw = hbm_bandwidth()
    print(f"HBM copy bandwidth {bw / 1e12:.2f} TB/s")

    with torch.device("meta"):
        model = KimiVL(cfg)
    model = model.to(torch.bfloat16).to_empty(device="cuda")
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    model.eval()
    weights_gb = sum(p.numel() for p in model.parameters()) * 2 / 1e9
    print(f"weights {weights_gb:.1f} GB (bf16)")

    h, w = GRID
    n_img = h * w // 4
    L = TEXT_TOKENS + n_img
    ids = torch.randint(0, 1000, (1, L), device="cuda")
    ids[0, 10 : 10 + n_img] = cfg.media_placeholder_token_id
    pv = torch.randn(h * w, 3, 14, 14, device="cuda", dtype=torch.bfloat16)
    grid = torch.tensor([GRID])

    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        def prefill():
            caches = new_cache(model, 1, L + args.decode_tokens)
            return model.step(ids, caches, 0, pv, grid)

        t_pre = cuda_time(prefill)
        t_vis = cuda_time(lambda: model.image_features(pv, grid))
        print(f"prefill 1080p screenshot ({L} tokens): {t_pre * 1e3:.0f} ms "
              f"(vision+projector {t_vis * 1e3:.0f} ms)")

        nbytes = active_parameters(cfg) * 2
        for B in (int(b) for b in args.batches.split(",")):
            caches = new_cache(model, B, L + args.decode_tokens + 1)
            model.step(torch.randint(0, 1000, (B, L), device="cuda"), caches, 0)  # text-only prefill
            tok = torch.zeros(B, 1, dtype=torch.long, device="cuda")

            def decode():
                nonlocal tok
                for i in range(args.decode_tokens):
                    tok = model.step(tok, caches, L + i)[:, -1].argmax(-1, keepdim=True)

            t = cuda_time(decode, reps=1) / args.decode_tokens
            # batch > 1 touches more experts: the bound below is the batch-1 one (a lower bound)
            bound_ms = nbytes / bw * 1e3
            print(f"decode batch {B}: {t * 1e3:.1f} ms/token ({B / t:.0f} tok/s); bandwidth bound "
                  f"{bound_ms:.2f} ms/token ({nbytes / 1e9:.2f} GB read) -> {bound_ms / (t * 1e3):.0%} of bound")
    print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
