"""Grounding throughput of the local model: samples per second at batch 1 and batch 8.

Workload: synthetic ScreenSpot-Pro-sized screenshots (3840x2160, benchmarks/_frames.py), each
with the Kimi dialect's grounding prompt (the model card's) and its own instruction; the tiny
random checkpoint (written to a temporary directory), fp32, greedy, up to 24 new tokens (about
the length of `pyautogui.click(x=0.1234, y=0.5678)`). Random weights stop at random, the same
tokens in both modes.
Peer, measured in this run: B=1, LocalPolicy.act on each sample in turn. Against it: B=8,
LocalPolicy.act_batch on the 8 samples at once (one preprocess + prefill per sample, one
batched decode). Both alternate, best of --reps; each prints samples/s, decode tok/s and the
share of the wall time spent preprocessing (resizing and patching the 4K screenshot).

    .venv/bin/python benchmarks/grounding.py [--batch 8] [--reps 3] [--max-new-tokens 24]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_frames.py, run from anywhere

from _frames import screenshot_like  # noqa: E402

from kimicua.agent.dialects import get_dialect  # noqa: E402
from kimicua.agent.policy import Prompt  # noqa: E402
from kimicua.env.geometry import Size  # noqa: E402

WIDTH, HEIGHT = 3840, 2160
TARGETS = ("the Save button", "the search box", "the close icon of the second tab", "the File menu",
           "the blue folder on the desktop", "the volume slider", "the Settings gear in the top bar",
           "the first link in the results list")


def prompts(n: int) -> list[Prompt]:
    kimi = get_dialect("kimi")
    out = []
    for i in range(n):
        messages = kimi.grounding_messages(TARGETS[i % len(TARGETS)], image=Size(WIDTH, HEIGHT))
        out.append(Prompt(messages, [screenshot_like(WIDTH, HEIGHT, seed=i)]))
    return out


def measure(run, batch: list[Prompt]) -> tuple[float, list]:
    t0 = time.perf_counter()
    replies = run(batch)
    return time.perf_counter() - t0, replies


def report(name: str, wall: float, replies: list, decode_s: float) -> None:
    n = len(replies)
    tokens = sum(len(r.token_ids) for r in replies)
    pre = sum(r.timings["preprocess_s"] for r in replies)
    prefill = sum(r.timings["prefill_s"] for r in replies)
    print(f"{name}: {n / wall:.2f} samples/s ({wall:.2f} s for {n}); decode {tokens / decode_s:.0f} tok/s "
          f"({tokens} tokens in {decode_s:.2f} s); preprocess {pre / wall:.0%} of the time, prefill {prefill / wall:.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    from kimicua.agent.backends import LocalPolicy
    from kimicua.model.tiny import write_tiny_checkpoint

    batch = prompts(args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = write_tiny_checkpoint(Path(tmp) / "tiny", seed=0)
        policy = LocalPolicy(ckpt, dtype="fp32", device=args.device, max_new_tokens=args.max_new_tokens)
    print(f"tiny checkpoint, fp32 on {args.device}, {torch.get_num_threads()} threads; {args.batch} samples of "
          f"{WIDTH}x{HEIGHT}, up to {args.max_new_tokens} new tokens, best of {args.reps}")

    def one_by_one(ps: list[Prompt]) -> list:
        return [policy.act(p) for p in ps]

    one_by_one(batch[:2])  # warm-up of both paths
    policy.act_batch(batch[:2])
    best1 = best8 = (float("inf"), [])
    for _ in range(args.reps):  # alternated, so a burst of outside load hits both alike
        best1 = min(best1, measure(one_by_one, batch), key=lambda r: r[0])
        best8 = min(best8, measure(policy.act_batch, batch), key=lambda r: r[0])
    (wall1, replies1), (wall8, replies8) = best1, best8
    report("B=1 (act each)", wall1, replies1, sum(r.timings["decode_s"] for r in replies1))
    # the rows decode together: the batch's decode time is its longest row's
    report(f"B={args.batch} (act_batch)", wall8, replies8, max(r.timings["decode_s"] for r in replies8))
    same = sum(a.token_ids == b.token_ids for a, b in zip(replies1, replies8))
    print(f"B={args.batch} / B=1: {wall1 / wall8:.2f}x samples/s; answers equal in {same} of {args.batch}; "
          f"image tokens per sample {sum(t == policy.processor.tokenizer.media_pad_id for t in replies1[0].prompt_token_ids)}")
    if same != args.batch:
        sys.exit("batched answers differ from the one-by-one answers")


if __name__ == "__main__":
    main()
