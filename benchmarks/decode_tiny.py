"""Per-token overhead: the tiny checkpoint's decode rate through generate(), against peers in this run.

The tiny model (3 decoder layers, hidden 64, 8 experts) does almost no arithmetic, so its decode
rate measures what every step pays besides the weights: Python, op dispatch, small allocations,
host reads. Peers, measured in the same run on the same weights and prompt, greedy, same length:
- transformers' DeepseekV3ForCausalLM.generate (kimicua.model.peer: our weights, shared);
- with --baseline REV, our generate() as the code stood at git revision REV (exported with
  `git archive` into a temp dir, run in a subprocess with the same threads).
Every contender's rate is (N - 1) / (t(N new tokens) - t(1 new token)), best of --rounds: the
prefill and the set-up cancel out. Cores shared with other processes skew absolute figures;
the ratios are the comparable ones.

    .venv/bin/python benchmarks/decode_tiny.py [--tokens 200] [--rounds 5] [--baseline HEAD~3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
PROMPT = [{"role": "user", "content": "Open the settings and turn on dark mode."}]

# run by the baseline subprocess against the old code (PYTHONPATH) and by this process alike
MEASURE = """
import sys, time, torch
from kimicua.model.engine import generate
from kimicua.model.tiny import write_tiny_checkpoint
from kimicua.model.weights import load_checkpoint

def rates(ckpt, messages, n, rounds):
    model, processor, _ = load_checkpoint(ckpt, dtype=torch.float32)
    ids = processor(messages, [])["input_ids"]
    def run(k):
        t = time.perf_counter()
        g = generate(model.eval(), ids, max_new_tokens=k)
        assert len(g.token_ids) == k, "a stop token cut the run short"
        return time.perf_counter() - t
    run(n)  # warm-up
    best = 0.0
    for _ in range(rounds):
        best = max(best, (n - 1) / (run(n) - run(1)))
    return best
"""


def ours_and_peer(ckpt: str, n: int, rounds: int) -> tuple[float, float]:
    """(our tok/s, transformers' tok/s), alternated round by round so outside load hits both alike."""
    from kimicua.model.engine import generate
    from kimicua.model.peer import deepseek_v3
    from kimicua.model.weights import load_checkpoint

    model, processor, _ = load_checkpoint(ckpt, dtype=torch.float32)
    model.eval()
    ids = processor(PROMPT, [])["input_ids"]
    peer = deepseek_v3(model.language_model)
    pad = model.config.text.pad_token_id

    def ours(k: int) -> float:
        t = time.perf_counter()
        g = generate(model, ids, max_new_tokens=k)
        assert len(g.token_ids) == k, "a stop token cut the run short"
        return time.perf_counter() - t

    def theirs(k: int) -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            out = peer.generate(ids, max_new_tokens=k, min_new_tokens=k, do_sample=False, eos_token_id=None,
                                pad_token_id=pad)
        assert out.shape[1] == ids.shape[1] + k
        return time.perf_counter() - t

    ours(n), theirs(n)  # warm-up
    a = b = 0.0
    for _ in range(rounds):
        a = max(a, (n - 1) / (ours(n) - ours(1)))
        b = max(b, (n - 1) / (theirs(n) - theirs(1)))
    return a, b


def baseline(rev: str, ckpt: str, n: int, rounds: int) -> float:
    """Our generate() at git revision `rev`, in a subprocess over an export of that tree."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "kimicua"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        code = MEASURE + f"\nprint(rates({ckpt!r}, {PROMPT!r}, {n}, {rounds}))\n"
        env = {**os.environ, "PYTHONPATH": tmp}
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp, check=True, capture_output=True, text=True)
        return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=200, help="new tokens per timed run")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--baseline", metavar="REV", help="also time generate() of the code at this git revision")
    args = ap.parse_args()
    from kimicua.model.tiny import write_tiny_checkpoint

    print(f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} (2-core machine: "
          "other processes skew absolute rates)")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = str(write_tiny_checkpoint(Path(tmp) / "tiny", seed=0))
        ours, peer = ours_and_peer(ckpt, args.tokens, args.rounds)
        print(f"tiny decode, {args.tokens} tokens: kimicua generate() {ours:.0f} tok/s "
              f"({1e3 / ours:.2f} ms/token); transformers DeepseekV3 generate() {peer:.0f} tok/s -> {ours / peer:.1f}x")
        if args.baseline:
            old = baseline(args.baseline, ckpt, args.tokens, args.rounds)
            print(f"kimicua generate() at {args.baseline}: {old:.0f} tok/s -> now {ours / old:.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
