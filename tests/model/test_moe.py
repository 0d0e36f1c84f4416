"""Grouped MoE against a straightforward per-expert reference on random tiny weights."""

import math

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from kimicua.model.config import TextConfig
from kimicua.model.moe import MoE

CFG = TextConfig(hidden_size=16, moe_intermediate_size=8, n_routed_experts=8, num_experts_per_tok=3,
                 n_shared_experts=2, routed_scaling_factor=2.446)


def make_moe(seed=0):
    torch.manual_seed(seed)
    moe = MoE(CFG)
    for p in moe.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return moe


def reference(moe: MoE, x: torch.Tensor) -> torch.Tensor:
    """Per token, per chosen expert, with the weights read out of the stacked bank by hand."""
    I = CFG.moe_intermediate_size
    w13, w2 = moe.experts.w13.detach(), moe.experts.w2.detach()
    gate_w, bias = moe.gate.weight.detach(), moe.gate.e_score_correction_bias.detach()
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        scores = [1 / (1 + math.exp(-float(gate_w[e] @ x[t]))) for e in range(CFG.n_routed_experts)]
        chosen = sorted(range(CFG.n_routed_experts), key=lambda e: scores[e] + float(bias[e]), reverse=True)[:3]
        total = sum(scores[e] for e in chosen)
        for e in chosen:
            gate, up = w13[e, :I] @ x[t], w13[e, I:] @ x[t]
            out[t] += scores[e] / total * 2.446 * (w2[e] @ (F.silu(gate) * up))
    s = moe.shared_experts
    shared = s.down_proj.weight @ (F.silu(s.gate_proj.weight @ x.T) * (s.up_proj.weight @ x.T))
    return out + shared.T


def test_grouped_moe_equals_per_expert_reference():
    moe = make_moe()
    x = torch.randn(37, CFG.hidden_size)
    with torch.no_grad():
        got = moe(x.view(1, 37, -1))[0]
    assert torch.allclose(got, reference(moe, x), atol=1e-5, rtol=1e-5)


def test_grouped_moe_single_token_decode_and_batch_shape():
    moe = make_moe(1)
    x = torch.randn(2, 1, CFG.hidden_size)
    with torch.no_grad():
        got = moe(x)
    assert got.shape == (2, 1, CFG.hidden_size)
    assert torch.allclose(got.view(2, -1), reference(moe, x.view(2, -1)), atol=1e-5, rtol=1e-5)


def test_unused_experts_do_not_matter():
    moe = make_moe(2)
    x = torch.randn(5, CFG.hidden_size)
    ids, _ = moe.gate(x)
    unused = sorted(set(range(CFG.n_routed_experts)) - set(ids.flatten().tolist()))
    assert unused, "pick a case where some expert is idle"
    with torch.no_grad():
        before = moe(x[None])
        moe.experts.w13[unused] = float("nan")  # an idle expert's weights must never be read
        moe.experts.w2[unused] = float("nan")
        after = moe(x[None])
    assert torch.equal(before, after)


def test_gathered_decode_path_equals_grouped_and_reference():
    moe = make_moe(3)
    x = torch.randn(2, CFG.hidden_size)
    ids, w = moe.gate(x)
    with torch.no_grad():
        gathered = moe.experts.gathered(x, ids, w)
        grouped = moe.experts.grouped(x, ids, w)
        full = gathered + moe.shared_experts(x)
    assert torch.allclose(gathered, grouped, atol=1e-5)
    assert torch.allclose(full, reference(moe, x), atol=1e-5, rtol=1e-5)


PATHS = ("grouped", "gathered", "grouped_mm")  # grouped_mm runs F.grouped_mm's CPU fallback here


@settings(max_examples=15, deadline=None)
@given(tokens=st.integers(1, 24), seed=st.integers(0, 2**16))
def test_every_expert_path_matches_reference_for_any_token_count(tokens, seed):
    moe = make_moe(seed)
    x = torch.randn(tokens, CFG.hidden_size, generator=torch.Generator().manual_seed(seed))
    want = reference(moe, x)
    with torch.no_grad():
        assert torch.allclose(moe(x[None])[0], want, atol=1e-5, rtol=1e-5)
        ids, w = moe.gate(x)
        shared = moe.shared_experts(x)
        for path in PATHS:
            got = getattr(moe.experts, path)(x, ids, w) + shared
            assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), path


def test_cpu_gathers_tiny_experts_and_groups_big_ones(monkeypatch):
    """Gathering copies the chosen experts: only where they are small (tiny models, per-call
    overhead dominates); big experts are read in place, once per active expert."""
    moe = make_moe(4)
    x = torch.randn(3, CFG.hidden_size)
    called = []
    for path in PATHS:
        real = getattr(moe.experts, path)
        monkeypatch.setattr(moe.experts, path, lambda *a, _p=path, _r=real: called.append(_p) or _r(*a))
    with torch.no_grad():
        moe(x[None])
        monkeypatch.setattr("kimicua.model.moe.GATHER_MAX_BYTES", 0)
        moe(x[None])
    assert called == ["gathered", "grouped"]
