"""Hand-checked small cases, expectations computed independently of the model code."""

import dataclasses
import math

import torch

from kimicua.model.config import TINY, TextConfig
from kimicua.model.moe import Router
from kimicua.model.norm import RMSNorm
from kimicua.model.rope import apply_rope, text_rope_angles, vision_rope_angles
from kimicua.model.vision import MoonViT, merge_patches


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def test_router_bias_changes_choice_but_not_weights():
    cfg = TextConfig(hidden_size=2, n_routed_experts=4, num_experts_per_tok=2, routed_scaling_factor=2.446)
    r = Router(cfg)
    with torch.no_grad():
        r.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]))
        r.e_score_correction_bias.zero_()
    x = torch.tensor([[2.0, 1.0]])  # logits 2, 1, -2, -1
    ids, w = r(x)
    assert sorted(ids[0].tolist()) == [0, 1]
    with torch.no_grad():
        r.e_score_correction_bias.copy_(torch.tensor([0.0, -1.0, 0.0, 0.6]))
    ids, w = r(x)  # biased: 0.88, -0.27, 0.12, 0.87 -> experts 0 and 3
    got = dict(zip(ids[0].tolist(), w[0].tolist()))
    assert sorted(got) == [0, 3]
    s0, s3 = sig(2.0), sig(-1.0)  # unbiased scores of the chosen experts
    assert math.isclose(got[0], s0 / (s0 + s3) * 2.446, rel_tol=1e-6)
    assert math.isclose(got[3], s3 / (s0 + s3) * 2.446, rel_tol=1e-6)
    assert w.dtype == torch.float32


def test_router_scores_in_float32_for_bf16_input():
    cfg = TextConfig(hidden_size=8, n_routed_experts=4, num_experts_per_tok=2)
    torch.manual_seed(0)
    r = Router(cfg)
    with torch.no_grad():  # parameters start uninitialised (torch.empty): give them values
        r.weight.normal_(0.0, 0.5)
    r = r.to(torch.bfloat16)
    x = torch.randn(3, 8).bfloat16()
    _, w = r(x)
    assert w.dtype == torch.float32
    assert torch.allclose(w.sum(-1), torch.full((3,), 2.446), atol=1e-5)


def test_vision_rope_axis_order():
    # head_dim 8 -> 4 complex pairs, theta_i = 10000^(-4i/8): 1 and 0.01
    h, w = 2, 3
    ang = vision_rope_angles(h, w, 8, 10000.0)
    x = torch.tensor([1.0, 0.0] * 4).expand(h * w, 1, 8)  # every pair = 1 + 0j
    out = apply_rope(x, ang)[:, 0]
    for r in range(h):
        for c in range(w):
            row = out[r * w + c]
            want = [c * 1.0, r * 1.0, c * 0.01, r * 0.01]  # pair 2i: column, pair 2i+1: row
            for j, a in enumerate(want):
                assert math.isclose(row[2 * j].item(), math.cos(a), abs_tol=1e-6)
                assert math.isclose(row[2 * j + 1].item(), math.sin(a), abs_tol=1e-6)


def test_merger_sub_patch_order():
    x = torch.arange(4 * 6, dtype=torch.float32).unsqueeze(-1)  # one 4x6 image, value = index
    m = merge_patches(x, [(4, 6)], (2, 2))[..., 0]
    assert m.shape == (6, 4)
    assert m[0].tolist() == [0, 1, 6, 7]  # (0,0), (0,1), (1,0), (1,1)
    assert m[1].tolist() == [2, 3, 8, 9]
    assert m[3].tolist() == [12, 13, 18, 19]


def test_decoder_rope_is_interleaved_gptj():
    theta, pos = 800000.0, 7
    x = torch.randn(1, 1, 4)  # [T, H, R] with R = 4: pairs (x0, x1), (x2, x3)
    out = apply_rope(x, text_rope_angles(torch.tensor([pos]), 4, theta))[0, 0]
    a0, a1 = pos * 1.0, pos * theta ** (-2 / 4)
    x0, x1, x2, x3 = x[0, 0].tolist()
    want = [
        x0 * math.cos(a0) - x1 * math.sin(a0), x1 * math.cos(a0) + x0 * math.sin(a0),
        x2 * math.cos(a1) - x3 * math.sin(a1), x3 * math.cos(a1) + x2 * math.sin(a1),
    ]
    assert torch.allclose(out, torch.tensor(want), atol=1e-5)


def test_decoder_rope_scores_match_reference_deinterleave_rotate_half():
    # the reference: view (R/2, 2), transpose, then rotate-half with cos/sin of cat(freqs, freqs)
    R, theta = 8, 800000.0
    q, k = torch.randn(5, 1, R), torch.randn(5, 1, R)
    pos = torch.arange(5)
    inv = 1.0 / theta ** (torch.arange(0, R, 2).float() / R)
    f = torch.outer(pos.float(), inv)
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()

    def ref(t):
        t = t[:, 0].view(5, R // 2, 2).transpose(1, 2).reshape(5, R)
        rot = torch.cat([-t[:, R // 2 :], t[:, : R // 2]], -1)
        return t * cos + rot * sin

    ours_q = apply_rope(q, text_rope_angles(pos, R, theta))[:, 0]
    ours_k = apply_rope(k, text_rope_angles(pos, R, theta))[:, 0]
    assert torch.allclose(ours_q @ ours_k.T, ref(q) @ ref(k).T, atol=1e-5)


def test_rmsnorm_float32_then_weight_in_input_dtype():
    torch.manual_seed(0)
    n = RMSNorm(64, eps=1e-5).bfloat16()
    with torch.no_grad():
        n.weight.copy_(torch.randn(64) * 3)
    x = (torch.randn(32, 64) * 10).bfloat16()
    got = n(x)
    xf = x.double()
    normed = (xf / torch.sqrt((xf**2).mean(-1, keepdim=True) + 1e-5)).float().bfloat16()
    want = n.weight * normed  # weight applied after the cast back to bf16
    assert got.dtype == torch.bfloat16
    assert torch.equal(got, want)
    naive = n.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))  # all in bf16
    assert not torch.equal(got, naive)


def test_vision_packed_images_attend_only_within_their_own_image():
    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY.vision, num_layers=2)
    vit = MoonViT(cfg)
    for p in vit.parameters():
        torch.nn.init.normal_(p, std=0.2)
    vit.eval()
    a, b = torch.randn(4 * 6, 3, 14, 14), torch.randn(2 * 4, 3, 14, 14)
    with torch.no_grad():
        packed = vit(torch.cat([a, b]), torch.tensor([[4, 6], [2, 4]]))
        alone_a = vit(a, torch.tensor([[4, 6]]))
        alone_b = vit(b, torch.tensor([[2, 4]]))
    assert packed.shape == (8, 4, cfg.hidden_size)
    assert torch.allclose(packed, torch.cat([alone_a, alone_b]), atol=1e-5)


def test_vision_pos_emb_bicubic_resize():
    cfg = TINY.vision
    vit = MoonViT(cfg)
    torch.nn.init.normal_(vit.patch_embed.pos_emb.weight)
    table = vit.patch_embed.pos_emb.weight
    same = vit.patch_embed.pos_emb(cfg.pos_emb_height, cfg.pos_emb_width)
    assert torch.equal(same, table.flatten(0, 1))
    # align_corners=False, scale 2 upsampling of a constant-along-rows table keeps rows constant
    with torch.no_grad():
        table.copy_(torch.arange(cfg.pos_emb_height).float()[:, None, None].expand_as(table))
    up = vit.patch_embed.pos_emb(2 * cfg.pos_emb_height, 3).view(2 * cfg.pos_emb_height, 3, -1)
    assert torch.allclose(up[:, 0], up[:, 2])
    # align_corners=False: output row 5 samples source row (5 + 0.5) / 2 - 0.5 = 2.25; the
    # bicubic kernel is Keys' with a = -0.75 (PyTorch's), taps at rows 1..4 (values 1..4)
    def keys(d: float, a: float = -0.75) -> float:
        d = abs(d)
        if d <= 1:
            return (a + 2) * d**3 - (a + 3) * d**2 + 1
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a

    want = sum(row * keys(2.25 - row) for row in (1, 2, 3, 4))
    assert math.isclose(up[5, 0, 0].item(), want, abs_tol=1e-5)


def test_latent_attention_products_equal_sdpa():
    """The CUDA decode path (two products around a float32 softmax) equals SDPA, masked positions included."""
    from kimicua.model.attention import attention_products

    g = torch.Generator().manual_seed(0)
    q, kv = torch.randn(2, 1, 16, 72, generator=g), torch.randn(2, 1, 40, 72, generator=g)
    hidden = torch.arange(40) > torch.tensor([30, 12]).view(2, 1, 1, 1)  # row 0 sees 31 positions, row 1 sees 13
    mask = torch.zeros(2, 1, 16, 40).masked_fill_(hidden, float("-inf"))
    want = torch.nn.functional.scaled_dot_product_attention(q, kv, kv, attn_mask=mask, scale=0.1)
    torch.testing.assert_close(attention_products(q, kv, mask, 0.1), want, rtol=1e-5, atol=1e-5)
    unmasked = torch.nn.functional.scaled_dot_product_attention(q, kv, kv, scale=0.1)
    assert not torch.allclose(attention_products(q, kv, mask, 0.1), unmasked, atol=1e-3)
