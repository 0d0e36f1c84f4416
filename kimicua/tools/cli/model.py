"""`kimicua model ...`: inspect, write a tiny checkpoint, generate."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Kimi-VL model tools.")


def _fail(message: str) -> None:
    message = " ".join(message.split("\n"))  # one line, even if a file's text reached the message
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def inspect(
    config: Path | None = typer.Option(None, "--config", help="An official Kimi-VL config.json."),
    preset: str | None = typer.Option(None, "--preset", help="A named config instead: kimi-vl-a3b-instruct or tiny."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of {name, shape}."),
) -> None:
    """List the checkpoint tensors a config implies (built on the meta device: no memory)."""
    from kimicua.model.config import KimiVLConfig, preset_names
    from kimicua.model.inspect import checkpoint_tensors, parameter_counts

    if (config is None) == (preset is None):
        _fail(f"give either --config FILE or --preset NAME ({', '.join(preset_names())}), not {'both' if config else 'neither'}")
    try:
        cfg = KimiVLConfig.from_json(config) if config is not None else KimiVLConfig.preset(preset)
    except ValueError as e:  # CheckpointError included: one line naming the file
        _fail(str(e))
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
    from kimicua.model.engine import generate as run_generate
    from kimicua.model.image_processor import load_image
    from kimicua.model.weights import load_checkpoint

    # every bad input (image or checkpoint file, hub id) is a ValueError naming it: one line, exit 2
    try:
        img = load_image(image)
        model, processor, _ = load_checkpoint(checkpoint)
    except ValueError as e:
        _fail(str(e))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
    try:
        inputs = processor(messages, [img])
    except ValueError as e:  # an image the processor cannot use (say a sliver a few pixels high)
        _fail(f"{image}: {e}")
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
