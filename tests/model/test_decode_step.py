"""The engine's decode step: attention spans that follow the rows' lengths, and where graphs apply.

Tiny random weights, fp32; every answer is checked against the same prompt generated alone.
"""

import pytest
import torch

import kimicua.model.graphs as graphs
from kimicua.model import KimiVL
from kimicua.model.config import TINY
from kimicua.model.engine import BatchEngine, SamplingParams, generate
from kimicua.model.tiny import random_init


@pytest.fixture(scope="module")
def model():
    m = KimiVL(TINY)
    random_init(m, 3)
    return m.eval()


def prompts(lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 700, (1, n), generator=g) for n in lengths]


def test_attention_reads_only_the_span_the_rows_fill(model, monkeypatch):
    """2048-position slots holding ~40 tokens: attention spans a power of two just past the
    longest busy row (here at least 8), growing and shrinking with it; the answers are the prompts' own."""
    monkeypatch.setattr(graphs, "SPAN_MIN", 8)
    spans = []
    real = model.decode
    monkeypatch.setattr(model, "decode", lambda ids, caches, pos, span=None: spans.append(span) or real(ids, caches, pos, span))
    rows = prompts([5, 17, 30])
    params = [SamplingParams(max_new_tokens=n) for n in (12, 6, 9)]
    engine = BatchEngine(model, slots=3, max_tokens=2048)
    for ids, p in zip(rows, params):
        engine.add(ids, params=p)
    done = engine.run()
    monkeypatch.setattr(model, "decode", real)
    for i, (ids, p) in enumerate(zip(rows, params)):
        assert done[i].token_ids == generate(model, ids, max_new_tokens=p.max_new_tokens).token_ids
    # row 2 (30 prompt tokens, then up to 39 positions) sets it until it ends, then row 0 (5 + 11 fed)
    assert spans[0] == 32 and max(spans) == 64 and spans[-1] == 16
    assert all(s & (s - 1) == 0 for s in spans)


def test_span_never_drops_below_a_long_row_when_short_rows_remain(model, monkeypatch):
    """Mixed lengths: the span covers the longest busy row, so the short rows and the long one
    both answer as alone (a span cut to the short row would hide the long row's prompt)."""
    monkeypatch.setattr(graphs, "SPAN_MIN", 8)
    rows = prompts([3, 60], seed=1)
    engine = BatchEngine(model, slots=2, max_tokens=1024)
    for ids in rows:
        engine.add(ids, params=SamplingParams(max_new_tokens=5))
    done = engine.run()
    for i, ids in enumerate(rows):
        assert done[i].token_ids == generate(model, ids, max_new_tokens=5).token_ids


def test_cuda_graphs_are_off_on_cpu_and_refused_when_asked(model):
    assert BatchEngine(model, 1, 16).cuda_graphs is False
    with pytest.raises(ValueError, match="CUDA graphs need the whole model on one CUDA device, not cpu"):
        BatchEngine(model, 1, 16, cuda_graphs=True)
