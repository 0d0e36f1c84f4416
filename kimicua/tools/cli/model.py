"""`kimicua model ...`: inspect, write a tiny checkpoint, generate."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Kimi-VL model tools.")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def inspect(
    config: Path = typer.Option(..., "--config", help="An official Kimi-VL config.json."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {name, shape}."),
) -> None:
    """List the checkpoint tensors a config implies (built on the meta device: no memory)."""
    from kimicua.model.config import KimiVLConfig
    from kimicua.model.inspect import checkpoint_tensors, parameter_counts

    try:
        cfg = KimiVLConfig.from_json(config)
    except FileNotFoundError as e:
        _fail(str(e))
    except (ValueError, KeyError) as e:
        _fail(f"{config}: not a Kimi-VL config ({type(e).__name__}: {e})")
    tensors = checkpoint_tensors(cfg)
    if as_json:
        typer.echo(json.dumps([{"name": t.name, "shape": list(t.shape)} for t in tensors]))
        return
    width = max(len(t.name) for t in tensors)
    for t in tensors:
        typer.echo(f"{t.name:<{width}}  {list(t.shape)}")
    counts = parameter_counts(cfg)
    typer.echo(f"\n{len(tensors)} tensors")
    for part, n in counts.items():
        typer.echo(f"{part:<22} {n / 1e9:8.3f}B parameters")


@app.command()
def tiny(
    out_dir: Path = typer.Argument(..., help="Where to write the checkpoint."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights."),
) -> None:
    """Write a tiny random checkpoint in the official layout."""
    from kimicua.model.tiny import write_tiny_checkpoint

    path = write_tiny_checkpoint(out_dir, seed=seed)
    typer.echo(str(path))


@app.command()
def generate(
    checkpoint: str = typer.Option(..., "--checkpoint", help="Checkpoint dir or hub id."),
    image: Path = typer.Option(..., "--image", help="Image file (e.g. a screenshot)."),
    prompt: str = typer.Option(..., "--prompt", help="The user's text."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens"),
    temperature: float = typer.Option(0.0, "--temperature"),
    top_p: float = typer.Option(1.0, "--top-p"),
    seed: int | None = typer.Option(None, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="Also print ids, logprobs and timings."),
) -> None:
    """Answer a prompt about one image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image) as im:
            img = im.convert("RGB")
    except FileNotFoundError:
        _fail(f"image not found: {image}")
    except (UnidentifiedImageError, OSError) as e:
        _fail(f"cannot read image {image}: {type(e).__name__}")

    from kimicua.model import KimiVL, KimiVLProcessor
    from kimicua.model.engine import generate as run_generate
    from kimicua.model.weights import CheckpointError

    try:
        model = KimiVL.from_pretrained(checkpoint)
        processor = KimiVLProcessor.from_pretrained(model_dir(checkpoint))
    except (FileNotFoundError, CheckpointError) as e:
        _fail(str(e))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    inputs = processor(messages, [img])
    out = run_generate(
        model,
        inputs["input_ids"],
        inputs["pixel_values"],
        inputs["image_grid_hws"],
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        stop_token_ids=processor.stop_token_ids,
    )
    text = processor.decode(out.token_ids)
    if not as_json:
        typer.echo(text)
        return
    typer.echo(json.dumps({
        "text": text,
        "token_ids": out.token_ids,
        "logprobs": out.logprobs,
        "finish_reason": out.finish_reason,
        "prompt_tokens": out.prompt_tokens,
        "prefill_s": out.prefill_s,
        "decode_s": out.decode_s,
    }))


def model_dir(checkpoint: str) -> Path:
    """The local directory of a checkpoint dir or an (already downloaded) hub id."""
    from kimicua.model.weights import resolve

    return resolve(checkpoint)
