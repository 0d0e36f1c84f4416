"""Checkpoint IO: the ONLY module that knows the official tensor names.

Module names mirror the checkpoint, except the routed experts: the checkpoint stores
`...mlp.experts.{e}.{gate,up,down}_proj.weight` per expert, the model one stacked
`experts.w13` [E, 2I, D] (gate rows then up rows) and `experts.w2` [E, D, I].
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from kimicua.model.config import KimiVLConfig
from kimicua.model.files import CheckpointError, one_line, read_json, resolve
from kimicua.model.kimi_vl import KimiVL

__all__ = ["CheckpointError", "load_checkpoint", "load_pretrained", "resolve", "save_pretrained", "shard_files"]

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
INV_FREQ = re.compile(r"^language_model\.model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")


@dataclass(frozen=True)
class Slot:
    """Where one checkpoint tensor lives in the model: param name + index into it."""

    param: str
    index: tuple  # () for the whole parameter, or (expert, row slice)


def layout(model: KimiVL) -> Iterator[tuple[str, Slot]]:
    """(checkpoint name, slot) for every tensor the checkpoint holds, in module order."""
    for name, p in model.named_parameters():
        if name.endswith("mlp.experts.w13"):
            prefix, n_experts, hidden = name[: -len("w13")], p.shape[0], p.shape[1] // 2
            w2 = name[: -len("w13")] + "w2"
            for e in range(n_experts):
                yield f"{prefix}{e}.gate_proj.weight", Slot(name, (e, slice(0, hidden)))
                yield f"{prefix}{e}.up_proj.weight", Slot(name, (e, slice(hidden, 2 * hidden)))
                yield f"{prefix}{e}.down_proj.weight", Slot(w2, (e,))
        elif name.endswith("mlp.experts.w2"):
            continue  # emitted together with w13
        else:
            yield name, Slot(name, ())


def checkpoint_tensors(model: KimiVL, include_inv_freq: bool = False) -> list[tuple[str, tuple[int, ...]]]:
    """Official (name, shape) list; with include_inv_freq also the stored RoPE buffers [R/2]."""
    params = dict(model.named_parameters())
    out = []
    for name, slot in layout(model):
        out.append((name, tuple(params[slot.param][slot.index].shape)))
        if include_inv_freq and name.endswith("self_attn.o_proj.weight"):
            half = model.config.text.qk_rope_head_dim // 2
            out.append((name.replace("o_proj.weight", "rotary_emb.inv_freq"), (half,)))
    return out


def default_dtype(device: str | torch.device) -> torch.dtype:
    """bf16 on CUDA and on CPUs with AMX; fp32 on other CPUs.

    Measured on an AVX512-BF16 CPU without AMX (benchmarks/model_cpu.py): oneDNN's bf16
    matmul ran at about half the fp32 MKL rate (155 vs 300 GFLOP/s), so prefill, which
    dominates a screenshot turn, is faster in fp32 there; AMX tiles make bf16 several times
    faster than fp32. Pass dtype= to choose (bf16 halves memory).
    """
    if torch.device(device).type == "cuda":
        return torch.bfloat16
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return torch.float32
    return torch.bfloat16 if "amx_bf16" in flags else torch.float32


def shard_files(ckpt: Path) -> dict[Path, set[str]]:
    """Each safetensors file of a checkpoint dir -> the tensor names its index puts there (an
    empty set for a lone model.safetensors); every file checked to exist."""
    index = ckpt / INDEX
    if index.is_file():
        weight_map = read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{index}: no weight_map object of tensor name -> shard file")
        shards: dict[Path, set[str]] = {}
        for name, file in weight_map.items():
            if not isinstance(file, str) or not file or Path(file).name != file:
                raise CheckpointError(f"{index}: tensor {name} maps to {file!r}, not a file name in {ckpt}")
            shards.setdefault(ckpt / file, set()).add(name)
        shards = dict(sorted(shards.items()))  # read in file order
    elif (ckpt / SINGLE).is_file():
        shards = {ckpt / SINGLE: set()}
    else:
        raise CheckpointError(f"{ckpt}: no {INDEX} or {SINGLE} in this checkpoint directory")
    for f in shards:
        if not f.is_file():
            raise CheckpointError(f"{f}: no such shard file (named in {INDEX})")
    return shards


def load_state(model: KimiVL, ckpt: Path) -> None:
    """Copy every checkpoint tensor into the (already allocated) model, one shard at a time."""
    from safetensors import SafetensorError, safe_open

    slots = dict(layout(model))
    params = dict(model.named_parameters())
    seen: set[str] = set()
    with torch.no_grad():
        for f, indexed in shard_files(ckpt).items():
            try:
                with safe_open(str(f), framework="pt", device="cpu") as sf:
                    names = set(sf.keys())
                    absent = sorted(indexed - names)
                    if absent:
                        raise CheckpointError(f"{ckpt / INDEX}: puts {absent[0]} in {f.name}, which does not hold it"
                                              + (f" ({len(absent)} such tensors)" if len(absent) > 1 else ""))
                    for name in sorted(names):
                        if INV_FREQ.match(name):
                            continue  # recomputed from rope_theta; newer savers omit it
                        if name not in slots:
                            raise CheckpointError(f"{f}: unexpected tensor {name} (not part of this Kimi-VL)")
                        slot = slots[name]
                        dst = params[slot.param][slot.index]
                        src = sf.get_tensor(name)
                        if tuple(src.shape) != tuple(dst.shape):
                            raise CheckpointError(f"{f}: {name} has shape {list(src.shape)}, "
                                                  f"config.json gives {list(dst.shape)}")
                        dst.copy_(src)
                        seen.add(name)
            except SafetensorError as e:
                raise CheckpointError(f"{f}: not a readable safetensors file ({one_line(e)})") from None
            except OSError as e:
                raise CheckpointError(f"{f}: cannot read it ({e.strerror or type(e).__name__})") from None
    missing = [n for n in slots if n not in seen]
    if missing:
        raise CheckpointError(f"{ckpt}: {len(missing)} tensors missing from the shards, e.g. {', '.join(missing[:3])}")


def load_pretrained(path_or_id, dtype=None, device="cpu", device_map=None, max_memory=None) -> KimiVL:
    """Build on the meta device, allocate once on the target, fill shard by shard.

    device_map (a dict or "auto") dispatches with accelerate after loading on CPU: modules
    mapped to "cpu" stay there and are streamed to the GPU at forward time (offload).
    """
    ckpt = resolve(path_or_id)
    cfg = KimiVLConfig.from_json(ckpt / "config.json")
    shard_files(ckpt)  # fail on a bad index or a missing shard before allocating anything
    target = "cpu" if device_map is not None else device
    dtype = dtype or default_dtype("cuda" if device_map is not None and torch.cuda.is_available() else device)
    with torch.device("meta"):
        model = KimiVL(cfg)
    model = model.to(dtype=dtype).to_empty(device=target)
    load_state(model, ckpt)
    model.eval()
    if device_map is not None:
        model = dispatch(model, device_map, max_memory)
    return model


def load_checkpoint(path_or_id, dtype=None, device="cpu", device_map=None):
    """(model, processor, directory) of a checkpoint dir or hub id, checked against each other.

    The processor's small files are read first, so a bad tokenizer or preprocessor file fails
    before gigabytes of weights are read. Every bad file is a one-line CheckpointError.
    """
    from kimicua.model.processor import KimiVLProcessor

    ckpt = resolve(path_or_id)
    processor = KimiVLProcessor.from_pretrained(ckpt)
    processor.check_model(KimiVLConfig.from_json(ckpt / "config.json"), ckpt / "config.json")
    model = load_pretrained(ckpt, dtype=dtype, device=device, device_map=device_map)
    return model, processor, ckpt


def dispatch(model: KimiVL, device_map, max_memory=None) -> KimiVL:
    """Place a CPU-loaded model across devices with accelerate (CPU offload for what does not fit)."""
    from accelerate import dispatch_model, infer_auto_device_map

    if device_map == "auto":
        device_map = infer_auto_device_map(
            model, max_memory=max_memory, no_split_module_classes=["DecoderLayer", "MoonViT", "Projector"]
        )
    devices = set(device_map.values())
    if devices <= {"cpu"}:
        return model
    first = next(d for d in device_map.values() if d not in ("cpu", "disk"))  # the main device
    main = torch.device(f"cuda:{first}" if isinstance(first, int) else first)
    model = dispatch_model(model, device_map=device_map, main_device=main)
    model.execution_device = main
    return model


def parse_size(size: int | str) -> int:
    """'5GB' / '500MB' / '2KiB' / bytes -> bytes."""
    if isinstance(size, int):
        return size
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B\s*", size, re.IGNORECASE)
    if not m:
        raise ValueError(f"bad shard size {size!r}; use e.g. '5GB', '500MB' or a byte count")
    base = 1024 if m.group(3) else 1000
    return int(float(m.group(1)) * base ** " KMGT".index(m.group(2).upper() or " "))


def save_pretrained(model: KimiVL, out_dir, max_shard_size: int | str = "5GB", include_inv_freq: bool = False) -> Path:
    """Write config.json, `model-0000i-of-0000n.safetensors` shards and the index, official names."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    limit = parse_size(max_shard_size)
    params = dict(model.named_parameters())
    tensors: list[tuple[str, torch.Tensor]] = []
    for name, slot in layout(model):
        tensors.append((name, params[slot.param][slot.index]))
        if include_inv_freq and name.endswith("self_attn.o_proj.weight"):
            t = model.config.text
            inv = 1.0 / t.rope_theta ** (torch.arange(0, t.qk_rope_head_dim, 2, dtype=torch.float32) / t.qk_rope_head_dim)
            tensors.append((name.replace("o_proj.weight", "rotary_emb.inv_freq"), inv.to(model.dtype)))
    shards, size = [[]], 0
    for name, t in tensors:
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > limit:
            shards.append([])
            size = 0
        shards[-1].append((name, t))
        size += nbytes
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        # clone: expert slices share storage with the stacked tensor, safetensors refuses that
        save_file({n: t.detach().to("cpu").clone() for n, t in shard}, str(out / fname), metadata={"format": "pt"})
        for n, t in shard:
            weight_map[n] = fname
            total += t.numel() * t.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out / INDEX).write_text(json.dumps(index, indent=2) + "\n")
    (out / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2) + "\n")
    return out
