"""The engine's decode step, eager or replayed from CUDA graphs (one capture per row bucket).

A decode step launches a few hundred small kernels; at batch 1 a GPU finishes each before the
host has issued the next, so the step runs at the host's pace, not at HBM bandwidth. A CUDA graph
records the step once and replays it with one launch. The step's shapes are static: the cache is
preallocated, each row's position lives in the engine's `pos` tensor, the new tokens in `tok`
below, the logits land in the engine's `logits`, all updated in place; the MoE takes a path
without host reads while a graph captures (moe.py), and `KimiVL.decode` skips the prompt-only
image checks. Rows are padded up to a bucket (1, 2, 4, 8, ...; at most the slots): rows past the
last busy one are free slots, which write a throwaway entry at their position 0 (the next prefill
of that slot overwrites it), so padding changes no answer and saves captures.

Attention reads the cache up to a span that covers the longest row, rounded up to a power of two
(at least SPAN_MIN, at most T): the step's cost follows what the rows hold, not the slot size,
and shapes (graphs, and oneDNN's kernels on CPU) repeat. Graphs are keyed by (rows, span).
Legend: S slots, n rows run this step, T positions per slot, V vocab.
"""

from __future__ import annotations

import warnings

import torch

from kimicua.model.attention import LayerCache
from kimicua.model.kimi_vl import KimiVL


SPAN_MIN = 256


class DecodeStep:
    """Runs rows 0..n-1 of the slot caches one token on: logits[:n] = model(tok[:n]) at pos[:n]."""

    def __init__(self, model: KimiVL, caches: list[LayerCache], pos: torch.Tensor, logits: torch.Tensor,
                 cuda_graphs: bool, compiled: bool = False):
        """`compiled`: the forward through torch.compile (static shapes; inductor fuses the step's
        small elementwise kernels, about a third fewer ms/token under graphs on an H200, see
        benchmarks/model_gpu.py); the first step of each new (rows, span) shape compiles."""
        self.model, self.caches, self.pos, self.logits = model, caches, pos, logits
        if compiled:
            from torch import _dynamo

            # every (rows, span) shape is its own static graph; past dynamo's default of 8 it would go eager
            _dynamo.config.recompile_limit = max(_dynamo.config.recompile_limit, 64)
        self._decode = torch.compile(model.decode, dynamic=False) if compiled else model.decode
        self.tok = torch.zeros(pos.shape[0], 1, dtype=torch.long, device=pos.device)  # [S, 1] the new tokens
        self.cuda_graphs = cuda_graphs
        self._graphs: dict[tuple[int, int], torch.cuda.CUDAGraph] = {}
        self._pool = None  # one memory pool for every capture: they never run at once

    def __call__(self, tok: torch.Tensor, n: int, length: int) -> None:
        """Feed tok [>= n] to rows 0..n-1 whose longest holds `length` positions once this token
        is in (their pos advances outside: the engine owns it)."""
        self.tok[:n, 0] = tok[:n]
        T = self.caches[0].kv.shape[1]
        span = min(max(SPAN_MIN, 1 << (length - 1).bit_length()), T)
        if not self.cuda_graphs:
            self._forward(n, span)
            return
        n = min(1 << (n - 1).bit_length(), self.tok.shape[0])  # the bucket
        graph = self._graphs.get((n, span))
        if graph is None:
            self._capture(n, span)  # its warm-up runs this step
        else:
            graph.replay()

    def _forward(self, n: int, span: int) -> None:
        out = self._decode(self.tok[:n], self.caches, self.pos[:n], span)  # [n, 1, V]
        self.logits[:n] = out[:, -1]

    def _capture(self, n: int, span: int) -> None:
        """Warm up on a side stream (lazy cuBLAS/attention set-up must not be captured), then capture.

        The warm-up IS this step: it writes the same cache entries and logits that a replay
        would, so running it twice changes nothing. A capture that fails (an op that reads the
        host, say) turns graphs off with a warning: decode goes on eagerly.
        """
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self._forward(n, span)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        try:
            self._pool = self._pool or torch.cuda.graph_pool_handle()
            with torch.cuda.graph(graph, pool=self._pool):
                self._forward(n, span)
        except RuntimeError as err:
            self.cuda_graphs = False
            warnings.warn(f"CUDA graph capture of the decode step failed ({' '.join(str(err).split())[:200]}); "
                          "decoding without graphs", RuntimeWarning, stacklevel=3)
            return
        self._graphs[n, span] = graph
