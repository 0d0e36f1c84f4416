"""Image preprocessing speed: kimicua's Kimi-VL image processor vs transformers' Qwen2-VL one.

Both take the same 1920x1080 screenshot-like uint8 array (what screen capture gives) and return
normalised float32 patches. The peer is transformers' `Qwen2VLImageProcessor` on its PIL/numpy
path, with max_pixels set so that it yields a similar number of tokens. Its resize rule differs
(it rounds each side to a multiple of 28 within min/max pixels, giving 1176x672 here, where
Kimi-VL's token-limit rule gives 1196x672 padded to 1204x672), so the work is comparable, not
identical. Runs alternate between the two so that load from other processes hits both alike.
Our output is also checked against a plain PIL + numpy implementation of the same rule.

    .venv/bin/python benchmarks/preprocess.py [--runs 30]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
import warnings

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from kimicua.model.image_processor import ImageProcessorConfig, KimiImageProcessor

sys.path.insert(0, str(Path(__file__).parent))
from _frames import screenshot_like  # noqa: E402

GOAL = 3.0


def reference(img: np.ndarray, cfg: ImageProcessorConfig) -> np.ndarray:
    """The rule the obvious way (pad_input true): PIL resize + paste, float normalise, reshape."""
    pil = Image.fromarray(img)
    w, h = pil.size
    p, m = cfg.patch_size, cfg.merge_kernel_size[0] * cfg.patch_size
    if (w // p) * (h // p) > cfg.in_token_limit:
        s = math.sqrt(cfg.in_token_limit / ((w // p) * (h // p)))
        pil = pil.resize((int(w * s), int(h * s)), Image.BICUBIC)
    canvas = Image.new("RGB", (math.ceil(pil.width / m) * m, math.ceil(pil.height / m) * m))
    canvas.paste(pil, (0, 0))
    x = (np.asarray(canvas).astype(np.float32) / 255.0 - np.float32(cfg.image_mean)) / np.float32(cfg.image_std)
    H, W = x.shape[:2]
    return x.transpose(2, 0, 1).reshape(3, H // p, p, W // p, p).transpose(1, 3, 0, 2, 4).reshape(-1, 3, p, p)


def qwen_processor(max_tokens: int):
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as Qwen
    except ImportError:  # older transformers: the PIL/numpy path is the plain class
        from transformers import Qwen2VLImageProcessor as Qwen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Qwen(min_pixels=4 * 28 * 28, max_pixels=max_tokens * 28 * 28,
                    image_mean=[0.5] * 3, image_std=[0.5] * 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()

    img = screenshot_like()
    cfg = ImageProcessorConfig(in_token_limit=4096, pad_input=True, image_mean=(0.5,) * 3, image_std=(0.5,) * 3)
    ours = {"pil": KimiImageProcessor(cfg), "torch": KimiImageProcessor(cfg, resize="torch")}
    out = ours["pil"](img)
    g = out.geometry
    ref = reference(img, cfg)
    ok = np.allclose(out.pixel_values.numpy(), ref, rtol=0, atol=1e-5)
    # torch's resize rounds a few values a uint8 level or two apart: 1/255/std each after normalising.
    diff = np.abs(ours["torch"](img).pixel_values.numpy() - ref)
    level = 1 / 255 / min(cfg.image_std)
    qwen = qwen_processor(g.n_tokens)
    q = qwen(images=img, return_tensors="pt")
    q_tokens = int(q["image_grid_thw"][0].prod()) // 4

    calls = {"ours (PIL resize)": lambda: ours["pil"](img), "ours (torch resize)": lambda: ours["torch"](img),
             "qwen": lambda: qwen(images=img, return_tensors="pt")}
    wall = {k: [] for k in calls}
    cpu = {k: [] for k in calls}  # process CPU time, all threads: the work, whatever the load
    for _ in range(2):  # warm-up: thread pool, allocator, lazy imports
        for f in calls.values():
            f()
    for _ in range(args.runs):
        for name, f in calls.items():
            c0, t0 = time.process_time(), time.perf_counter()
            f()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    w = {k: statistics.median(v) * 1e3 for k, v in wall.items()}
    c = {k: statistics.median(v) * 1e3 for k, v in cpu.items()}

    print(f"image 1920x1080 screenshot-like, {args.runs} runs each (alternating), median; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; ours -> {g.resized[0]}x{g.resized[1]} "
          f"padded {g.padded[0]}x{g.padded[1]}, grid {g.grid_hw[0]}x{g.grid_hw[1]}, {g.n_tokens} tokens")
    print(f"  transformers Qwen2-VL (PIL): {w['qwen']:7.2f} ms wall, {c['qwen']:7.2f} ms CPU -> grid "
          f"{q['image_grid_thw'][0, 1]}x{q['image_grid_thw'][0, 2]}, {q_tokens} tokens (its own resize rule)")
    for name in ("ours (PIL resize)", "ours (torch resize)"):
        r = w["qwen"] / w[name]
        print(f"  kimicua {name:19s}: {w[name]:7.2f} ms wall, {c[name]:7.2f} ms CPU -> {r:.2f}x faster "
              f"(goal >= {GOAL:.0f}x: {'met' if r >= GOAL else 'NOT met'}), {c['qwen'] / c[name]:.2f}x less CPU")
    print(f"  PIL resize equals the plain PIL + numpy reference (atol 1e-5): {ok}")
    print(f"  torch resize vs the reference: max {diff.max() / level:.2f} uint8 level(s), "
          f"{(diff > 1e-5).mean():.3%} of values differ")
    if not ok or diff.max() > 2.01 * level:
        raise SystemExit(1)

if __name__ == "__main__":
    main()
