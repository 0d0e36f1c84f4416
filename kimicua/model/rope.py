"""Rotary position embeddings: 2D for MoonViT, 1D interleaved (GPT-J) for the decoder.

Both rotate consecutive channel pairs (2j, 2j+1) as one complex number, in float32.
Legend: B batch rows, T tokens, P = head_dim/2 complex pairs, H heads.
"""

from __future__ import annotations

import torch


def vision_rope_angles(h: int, w: int, head_dim: int, theta: float, device=None) -> torch.Tensor:
    """Angles [h*w, head_dim/2] for one h x w patch grid, row-major.

    With theta_i = theta^(-4i/head_dim), pair 2i rotates by column*theta_i and pair 2i+1 by
    row*theta_i (the axis order of every public implementation's code).
    """
    n = head_dim // 4
    inv = theta ** (-torch.arange(0, 4 * n, 4, device=device, dtype=torch.float32) / head_dim)
    rows = torch.arange(h, device=device, dtype=torch.float32).repeat_interleave(w)  # [h*w]
    cols = torch.arange(w, device=device, dtype=torch.float32).repeat(h)  # [h*w]
    ang = torch.stack([torch.outer(cols, inv), torch.outer(rows, inv)], dim=-1)  # [hw, n, 2]
    return ang.reshape(h * w, 2 * n)


def text_rope_angles(positions: torch.Tensor, rope_dim: int, theta: float) -> torch.Tensor:
    """Angles [..., rope_dim/2] for integer positions [...] (inv_freq = theta^(-2j/d))."""
    inv = theta ** (
        -torch.arange(0, rope_dim, 2, device=positions.device, dtype=torch.float32) / rope_dim
    )
    return positions.float().unsqueeze(-1) * inv


def rotation(angles: torch.Tensor) -> torch.Tensor:
    """Angles [..., T, P] -> complex cos + i sin [..., T, 1, P] (broadcast over heads): compute
    once, rotate many tensors (every decoder layer's q and k)."""
    return torch.polar(torch.ones_like(angles), angles).unsqueeze(-2)


def rotate(x: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[2j], x[2j+1]) of x [..., T, H, 2P] as complex numbers by rot [(B,) T, 1, P]."""
    f32 = x.dtype == torch.float32  # skip two no-op calls: decode is call-bound on small models
    pairs = torch.view_as_complex((x if f32 else x.float()).unflatten(-1, (-1, 2)))  # [..., T, H, P]
    out = torch.view_as_real(pairs * rot).flatten(-2)
    return out if f32 else out.to(x.dtype)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[2j], x[2j+1]) of x [..., T, H, 2P] by angles [T, P] (float32 math).

    Angles [B, T, P] give each row of x [B, T, H, 2P] its own positions (batched decode).

    For the decoder this is the interleaved (GPT-J) RoPE: the reference's de-interleave +
    rotate-half gives the same values in permuted channel order, and q.k is unchanged.
    """
    return rotate(x, rotation(angles))
