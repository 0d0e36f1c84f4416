"""MoonViT: the native-resolution vision tower of Kimi-VL.

Images of different sizes are packed into one sequence of patches; attention is NON-causal
and block-diagonal per image. Legend: N patches over all images, C hidden (1152),
H heads, D head dim (72), h/w patch rows/columns of one image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kimicua.model.config import VisionConfig
from kimicua.model.rope import apply_rope, vision_rope_angles

try:  # optional: varlen kernel for packed images on CUDA
    from flash_attn import flash_attn_varlen_func
except ImportError:
    flash_attn_varlen_func = None


class PosEmb(nn.Module):
    """Learned (H0, W0, C) table, bicubic-resized to each image's (h, w) grid."""

    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cfg.pos_emb_height, cfg.pos_emb_width, cfg.hidden_size))

    def forward(self, h: int, w: int) -> torch.Tensor:
        if (h, w) == tuple(self.weight.shape[:2]):
            return self.weight.flatten(0, 1)
        table = self.weight.float().permute(2, 0, 1).unsqueeze(0)  # [1, C, H0, W0]
        out = F.interpolate(table, size=(h, w), mode="bicubic", align_corners=False)
        return out.squeeze(0).permute(1, 2, 0).flatten(0, 1).to(self.weight.dtype)  # [h*w, C]


class PatchEmbed(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        p = cfg.patch_size
        self.proj = nn.Conv2d(3, cfg.hidden_size, kernel_size=p, stride=p)
        self.pos_emb = PosEmb(cfg)

    def forward(self, pixel_values: torch.Tensor, grid_hws: list[tuple[int, int]]) -> torch.Tensor:
        # a 14x14 conv with stride 14 on a 14x14 patch is one matmul: [N, 3*14*14] @ [3*14*14, C]
        w = self.proj.weight.flatten(1)
        x = F.linear(pixel_values.flatten(1).to(w.dtype), w, self.proj.bias)  # [N, C]
        pos = torch.cat([self.pos_emb(h, w_) for h, w_ in grid_hws])
        return x + pos


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc0 = nn.Linear(dim, hidden)
        self.fc1 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc1(F.gelu(self.fc0(x), approximate="tanh"))


def packed_attention(q, k, v, cu_seqlens: list[int]) -> torch.Tensor:
    """Block-diagonal non-causal attention over packed images. q, k, v: [N, H, D] -> [N, H, D]."""
    if flash_attn_varlen_func is not None and q.is_cuda and q.dtype in (torch.float16, torch.bfloat16):
        cu = torch.tensor(cu_seqlens, dtype=torch.int32, device=q.device)
        max_len = max(b - a for a, b in zip(cu_seqlens[:-1], cu_seqlens[1:]))
        return flash_attn_varlen_func(q, k, v, cu, cu, max_len, max_len, causal=False)
    # one SDPA call per image: no N x N mask to materialise, fused kernels stay usable
    # (4-D inputs: the CPU flash kernel is skipped for 3-D ones, falling back to the math path)
    outs = []
    for a, b in zip(cu_seqlens[:-1], cu_seqlens[1:]):
        qi, ki, vi = (t[a:b].transpose(0, 1).unsqueeze(0) for t in (q, k, v))  # [1, H, n, D]
        outs.append(F.scaled_dot_product_attention(qi, ki, vi)[0].transpose(0, 1))
    return torch.cat(outs)


class VisionBlock(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.num_heads = cfg.num_heads
        self.norm0 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.norm1 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.wqkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)
        self.wo = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.mlp = MLP(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x: torch.Tensor, angles: torch.Tensor, cu_seqlens: list[int]) -> torch.Tensor:
        n = x.shape[0]
        qkv = self.wqkv(self.norm0(x)).view(n, 3, self.num_heads, -1)  # [N, 3, H, D]
        q, k, v = qkv.unbind(1)
        q, k = apply_rope(q, angles), apply_rope(k, angles)
        attn = packed_attention(q, k, v, cu_seqlens).reshape(n, -1)
        x = x + self.wo(attn)
        return x + self.mlp(self.norm1(x))


class Encoder(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.blocks = nn.ModuleList(VisionBlock(cfg) for _ in range(cfg.num_layers))
        self.final_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x, angles, cu_seqlens):
        for block in self.blocks:
            x = block(x, angles, cu_seqlens)
        return self.final_layernorm(x)


def merge_patches(x: torch.Tensor, grid_hws: list[tuple[int, int]], kernel: tuple[int, int]) -> torch.Tensor:
    """Group kh x kw neighbours per image: [N, C] -> [N / (kh*kw), kh*kw, C].

    Sub-patch order inside a group is row-major: (0,0), (0,1), (1,0), (1,1) for 2x2.
    """
    kh, kw = kernel
    out, start = [], 0
    for h, w in grid_hws:
        xi = x[start : start + h * w].view(h // kh, kh, w // kw, kw, -1)
        out.append(xi.permute(0, 2, 1, 3, 4).reshape((h // kh) * (w // kw), kh * kw, -1))
        start += h * w
    return torch.cat(out)


class MoonViT(nn.Module):
    """pixel_values [N, 3, 14, 14] + grid_hws [n_images, 2] -> merged features [N/4, 4, C]."""

    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg)
        self.encoder = Encoder(cfg)

    def forward(self, pixel_values: torch.Tensor, image_grid_hws: torch.Tensor) -> torch.Tensor:
        grid = [(int(h), int(w)) for h, w in image_grid_hws.tolist()]
        kh, kw = self.cfg.merge_kernel
        for h, w in grid:
            if h % kh or w % kw:
                raise ValueError(f"image grid {h}x{w} is not a multiple of the merge kernel {kh}x{kw}")
        if sum(h * w for h, w in grid) != pixel_values.shape[0]:
            raise ValueError(
                f"pixel_values has {pixel_values.shape[0]} patches but image_grid_hws "
                f"describes {sum(h * w for h, w in grid)}"
            )
        cu = [0]
        for h, w in grid:
            cu.append(cu[-1] + h * w)
        # inside forward: under accelerate offload hooks the weights are on the execution device now
        pixel_values = pixel_values.to(self.patch_embed.proj.weight)
        dev = pixel_values.device
        angles = torch.cat(
            [vision_rope_angles(h, w, self.cfg.head_dim, self.cfg.rope_theta, dev) for h, w in grid]
        )  # [N, D/2]
        x = self.patch_embed(pixel_values, grid)
        x = self.encoder(x, angles, cu)
        return merge_patches(x, grid, self.cfg.merge_kernel)
