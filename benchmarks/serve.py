"""Throughput and latency of `kimicua serve` with 1, 4 and 8 concurrent clients, against the same
requests served one at a time (the peer, measured in this run on the same server).

Workload: N different requests (each its own screenshot and instruction), every answer exactly
--max-tokens long (ignore_eos), greedy. A client sends its next request when its last answer
came; with C clients up to C requests are in flight and the server batches them (--max-batch 8).
Throughput is answer tokens over wall time (preprocessing, prefills and HTTP included); latency
is each request's time from send to its whole answer (median, p90). Greedy answers must be the
same however many clients there are: the run checks it.

Models: the tiny checkpoint, and full widths of Kimi-VL-A3B with 3 decoder layers (1 dense +
2 MoE) and 4 vision layers on random weights (as benchmarks/model_cpu.py), with the tiny
checkpoint's tokenizer and image processor (answer ids past its vocabulary are decoded as
nothing). The server runs in this process on a thread (uvicorn + the scheduler thread), the
clients on threads of their own; other processes sharing the cores skew every figure: compare
the ratios. Each model's line "engine alone" times one decode step with 1, 4 and 8 busy rows
without the server: what batching can gain at most, and where the server's own cost begins.

    .venv/bin/python benchmarks/serve.py [--models tiny,full] [--clients 1,4,8] [--dtype fp32]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from kimicua.model import KimiVL
from kimicua.model.config import KimiVLConfig
from kimicua.model.tiny import write_tiny_checkpoint
from kimicua.model.weights import load_checkpoint
from kimicua.tools.serve.app import ServerState
from kimicua.tools.serve.run import BackgroundServer
from kimicua.tools.serve.scheduler import Scheduler

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
INSTRUCTIONS = ["Click the OK button.", "Type hello into the search box.", "Scroll down to the footer.",
                "Open the File menu.", "Close this dialog.", "Select the second row.", "Press Enter.",
                "Drag the slider to the middle."]


class WideVocab:
    """A processor for a model whose vocabulary is wider than the tokenizer's: ids past the
    tokenizer's are decoded as nothing (random weights pick them most of the time)."""

    def __init__(self, processor):
        self._processor = processor
        self._n = processor.tokenizer.vocab_size

    def __getattr__(self, name):
        return getattr(self._processor, name)

    def __call__(self, *args, **kwargs):
        return self._processor(*args, **kwargs)

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return self._processor.decode([i for i in ids if i < self._n], skip_special_tokens)


def full_width(processor, layers: int, vision_layers: int, dtype: torch.dtype) -> KimiVL:
    base = KimiVLConfig.preset("kimi-vl-a3b")
    cfg = dataclasses.replace(
        base,
        media_placeholder_token_id=processor.tokenizer.media_pad_id,  # the tiny tokenizer's placeholder
        vision=dataclasses.replace(base.vision, num_layers=vision_layers),
        text=dataclasses.replace(base.text, num_layers=layers),
    )
    with torch.device("meta"):
        model = KimiVL(cfg)
    model = model.to(dtype).to_empty(device="cpu")
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    return model.eval()


def payloads(name: str, n: int, size: tuple[int, int], max_tokens: int) -> list[bytes]:
    out = []
    for i in range(n):
        rgb = np.random.default_rng(i).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
        url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        content = [{"type": "image_url", "image_url": {"url": url}},
                   {"type": "text", "text": INSTRUCTIONS[i % len(INSTRUCTIONS)]}]
        out.append(json.dumps({"model": name, "messages": [{"role": "user", "content": content}],
                               "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True}).encode())
    return out


def post(url: str, body: bytes) -> dict:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=3600) as resp:
        return json.loads(resp.read())


def run_clients(url: str, bodies: list[bytes], clients: int) -> tuple[float, list[float], list[list[int]], int]:
    """(wall s, latency of each request, answer ids in request order, answer tokens) with `clients` threads."""
    latencies: list[float] = [0.0] * len(bodies)
    answers: list[list[int]] = [[] for _ in bodies]
    todo = iter(range(len(bodies)))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            t = time.perf_counter()
            answers[i] = post(url, bodies[i])["choices"][0]["token_ids"]
            latencies[i] = time.perf_counter() - t

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t0, latencies, answers, sum(len(a) for a in answers)


def engine_steps(model, processor, rows: list[int], label: str) -> None:
    """The engine alone, no server: one decode step's time with n busy rows (what batching can gain)."""
    from kimicua.model.engine import BatchEngine, SamplingParams

    ids = processor([{"role": "user", "content": "Click the OK button."}])["input_ids"]
    parts = []
    for n in rows:
        engine = BatchEngine(model, n, ids.shape[1] + 16)
        for _ in range(n):
            engine.add(ids, params=SamplingParams(max_new_tokens=12))
        engine.step()  # warm-up
        times = []
        for _ in range(5):
            t = time.perf_counter()
            engine.step()
            times.append(time.perf_counter() - t)
        step = statistics.median(times)
        parts.append(f"{n} row(s) {step * 1e3:.0f} ms ({n / step:.1f} tok/s)")
    print(f"[{label}] engine alone, one decode step: " + ", ".join(parts))


def p90(values: list[float]) -> float:
    return float(np.percentile(values, 90))


def bench(label: str, model, processor, args, n: int, size: tuple[int, int], max_tokens: int) -> None:
    name = f"bench-{label}"
    scheduler = Scheduler(model, processor, max_batch=args.max_batch, max_model_len=args.max_model_len)
    with BackgroundServer(ServerState(name=name, scheduler=scheduler)) as server:
        url = server.url + "/v1/chat/completions"
        bodies = payloads(name, n, size, max_tokens)
        post(url, bodies[0])  # warm-up: first-call allocations, thread pools
        print(f"[{label}] {n} requests, a {size[0]}x{size[1]} screenshot each, {max_tokens} answer tokens each; "
              f"--max-batch {args.max_batch}")
        peer = None
        for clients in args.clients:
            wall, lat, answers, tokens = run_clients(url, bodies, clients)
            rate = tokens / wall
            if peer is None:
                peer = (rate, answers)
            same = "same answers" if answers == peer[1] else "ANSWERS DIFFER from one at a time"
            note = "(the peer: one at a time)" if clients == args.clients[0] else f"-> {rate / peer[0]:.2f}x the peer"
            print(f"[{label}] {clients} client(s): {rate:8.1f} tok/s {note}; latency median "
                  f"{statistics.median(lat):.2f} s, p90 {p90(lat):.2f} s; {same}")
        engine_steps(model, processor, sorted({1, *args.clients}), label)
        stats = scheduler.stats
        print(f"[{label}] scheduler: {stats.steps} decode steps, up to {stats.max_rows} rows in one step, "
              f"{stats.joined_busy} of {stats.admitted} requests joined a batch already decoding")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="tiny,full", help="tiny and/or full (3-layer full-width config)")
    ap.add_argument("--clients", default="1,4,8", help="concurrent clients; the first is the peer (keep it 1)")
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--max-model-len", type=int, default=2048)
    ap.add_argument("--dtype", default="fp32", choices=sorted(DTYPES))
    ap.add_argument("--tiny-requests", type=int, default=32)
    ap.add_argument("--tiny-tokens", type=int, default=64)
    ap.add_argument("--full-requests", type=int, default=8)
    ap.add_argument("--full-tokens", type=int, default=16)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--vision-layers", type=int, default=4)
    args = ap.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    print(f"{torch.get_num_threads()} torch threads, cpu capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{args.dtype}")
    with tempfile.TemporaryDirectory() as tmp:
        model, processor, _ = load_checkpoint(write_tiny_checkpoint(Path(tmp) / "tiny"), dtype=DTYPES[args.dtype])
        models = args.models.split(",")
        if "tiny" in models:
            bench("tiny", model.eval(), processor, args, args.tiny_requests, (320, 200), args.tiny_tokens)
        if "full" in models:
            t = time.perf_counter()
            wide = full_width(processor, args.layers, args.vision_layers, DTYPES[args.dtype])
            print(f"[full] built {args.layers} decoder + {args.vision_layers} vision layers at full widths "
                  f"in {time.perf_counter() - t:.0f} s")
            bench("full", wide, WideVocab(processor), args, args.full_requests, (448, 252), args.full_tokens)


if __name__ == "__main__":
    main()
