"""`kimicua screenspot run|score`: grounding benchmarks (ScreenSpot v1, v2, Pro, OSWorld-G).

Exit codes: 0 done, 1 the model failed part way (the predictions so far are kept; run
again to resume), 2 bad input or a run that could not start (one line says why),
130 Ctrl-C (the predictions so far are kept).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import typer

EXIT_OK, EXIT_MODEL_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Grounding benchmarks: ScreenSpot v1, v2, Pro and OSWorld-G.")

_DATA = "The benchmark's folder (or one annotation file)."
_FORMAT = "v1, v2, pro or osworld-g."
_IMAGES = "The screenshots' folder (default: images/, screenspot_imgs/ or screenspotv2_image/ in --data)."
_STYLE = "ScreenSpot-Pro: instruction, action or description (the annotation field asked)."
_LANGUAGE = "ScreenSpot-Pro: en, or cn (instruction_cn)."
_GT = "ScreenSpot-Pro: positive, or negative (only a decline is correct)."


class _Fail(Exception):
    """Bad input found by this module: one line, exit 2."""


def _consoles():
    from rich.console import Console

    def make(stream):
        return Console(file=stream, width=None if stream.isatty() else 400, soft_wrap=False)

    return make(sys.stdout), make(sys.stderr)


def _error(err: BaseException, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
    return typer.Exit(code)


def _dataset(data: Path, fmt: str, images: Path | None, inst_style, language, gt_type):
    """The benchmark's samples and its images folder; ValueError (one line) on bad input."""
    from kimicua.tasks.screenspot import FORMATS, ProOptions, find_images, load
    from kimicua.tasks.screenspot.images import image_size

    if fmt not in FORMATS:
        raise _Fail(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    given = {"--inst-style": inst_style, "--language": language, "--gt-type": gt_type}
    if fmt != "pro" and any(v is not None for v in given.values()):
        names = ", ".join(k for k, v in given.items() if v is not None)
        raise _Fail(f"{names} apply to --format pro only")
    pro = ProOptions(inst_style or "instruction", language or "en", gt_type or "positive")
    folder = find_images(data, fmt, images)
    dataset = load(data, fmt, pro=pro, sizes=lambda name: image_size(folder, name))
    settings = {"format": fmt, "data": str(data)}
    if fmt == "pro":
        settings.update(inst_style=pro.inst_style, language=pro.language, gt_type=pro.gt_type)
    return dataset, folder, settings


def _finish(dataset, predictions_path: Path, out: Path, settings: dict, console) -> None:
    """Score the predictions, write metrics.json, print the notes and the tables."""
    from kimicua.tasks.screenspot import coverage_notes, read_predictions, tally, verdicts
    from kimicua.tools.screenspot import METRICS, metrics_json, print_report, write_metrics

    predictions = read_predictions(predictions_path)
    report = tally(dataset, verdicts(dataset.samples, predictions))
    notes = [*dataset.notes, *predictions.notes, *coverage_notes(dataset, predictions)]
    write_metrics(out / METRICS, metrics_json(report, settings, notes))
    print_report(console, report, notes)
    console.print(f"predictions: {predictions_path}  metrics: {out / METRICS}", soft_wrap=True)


def _policy_options(model: str, temperature, max_tokens, device, dtype) -> dict:
    server = model.strip().startswith(("http://", "https://"))
    options = {"temperature": temperature, ("max_tokens" if server else "max_new_tokens"): max_tokens}
    if device is not None or dtype is not None:
        if server:
            raise _Fail("--device and --dtype are for a local checkpoint, not a server")
        options.update(device=device, dtype=dtype)
    return options


@app.command("run")
def run_command(
    data: Path = typer.Option(..., "--data", help=_DATA),
    fmt: str = typer.Option(..., "--format", help=_FORMAT),
    model: str = typer.Option(..., "--model", help="A checkpoint dir or hub id, a http(s):// server, or 'tiny'."),
    dialect: str = typer.Option("kimi", "--dialect", help="Prompt and answer format: kimi, uitars, uitars1, qwen25vl, pyautogui."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N samples."),
    out: Path | None = typer.Option(None, "--out", help="Where predictions.jsonl and metrics.json go (default: runs/screenspot/<format>/<dialect>/<model>)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Samples per model call (local: decoded together; server: requests in flight)."),
    images: Path | None = typer.Option(None, "--images", help=_IMAGES),
    inst_style: str | None = typer.Option(None, "--inst-style", help=_STYLE),
    language: str | None = typer.Option(None, "--language", help=_LANGUAGE),
    gt_type: str | None = typer.Option(None, "--gt-type", help=_GT),
    temperature: float | None = typer.Option(None, help="Sampling temperature (default: greedy)."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Most tokens per answer (thinking checkpoints need thousands)."),
    device: str | None = typer.Option(None, help="Local checkpoint: cpu, cuda, cuda:1, ..."),
    dtype: str | None = typer.Option(None, help="Local checkpoint: bf16, fp16 or fp32."),
) -> None:
    """Ask the model every sample, then write metrics.json and print the tables.

    A run into an --out that already holds predictions asks only the samples it lacks."""
    from kimicua.agent.dialects import get_dialect
    from kimicua.env.geometry import Size
    from kimicua.tools.runner.options import model_dir_name
    from kimicua.tools.screenspot import PREDICTIONS, check_run_record

    console, err_console = _consoles()
    try:
        dataset, folder, settings = _dataset(data, fmt, images, inst_style, language, gt_type)
        d = get_dialect(dialect)
        d.grounding_messages("probe", image=Size(1, 1))  # a dialect without a grounding prompt fails here
        if model.strip() == "scripted":
            raise _Fail("model 'scripted' plays a task's actions; it cannot answer grounding prompts")
        options = _policy_options(model, temperature, max_tokens, device, dtype)
        dataset = replace(dataset, samples=dataset.samples[:limit])
        out = out or Path("runs/screenspot") / fmt / dialect / model_dir_name(model)
        settings.update(dialect=dialect, model=model)
        check_run_record(out, {k: v for k, v in settings.items() if k not in ("data", "gt_type")})
    except (_Fail, ValueError, OSError) as err:
        raise _error(err) from None
    settings.update(limit=limit, batch=batch)
    code = _ask(dataset, folder, model, options, d, out, batch, console, err_console)
    if code in (EXIT_OK, EXIT_MODEL_FAILED):
        try:
            _finish(dataset, out / PREDICTIONS, out, settings, console)
        except (ValueError, OSError) as err:
            raise _error(err) from None
    raise typer.Exit(code)


def _ask(dataset, folder, model, options, dialect, out, batch, console, err_console) -> int:
    """Make the policy and answer every pending sample; the exit code."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from kimicua.agent.backends import BackendError, make_policy
    from kimicua.tasks.screenspot import FormatError
    from kimicua.tools.screenspot import PREDICTIONS, answerer, predict

    try:
        policy = make_policy(model, **options)
        policy.check()
    except (ValueError, OSError) as err:
        raise _error(err) from None
    if policy.notice:
        err_console.print(f"[bold yellow]notice:[/] {escape(policy.notice)}", soft_wrap=True)
    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=err_console, transient=True)
    task = bar.add_task(f"{dataset.format} with {escape(policy.name)}", total=None)
    answered = 0

    def on_progress(p) -> None:
        nonlocal answered
        answered = p.done
        bar.update(task, completed=p.done, total=p.todo)

    try:
        with bar:
            predict(dataset.samples, answerer(policy), dialect, out, folder, batch=batch, on_progress=on_progress)
    except FormatError as err:
        raise _error(err) from None
    except KeyboardInterrupt:
        print(f"interrupted: {answered} answer(s) of this run kept in {out / PREDICTIONS}; "
              "run again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (BackendError, RuntimeError, ValueError, OSError) as err:
        print(f"error: {' '.join(str(err).split())} ({answered} answer(s) of this run kept in "
              f"{out / PREDICTIONS}; run again to resume)", file=sys.stderr)
        return EXIT_MODEL_FAILED
    finally:
        policy.close()
    return EXIT_OK


@app.command("score")
def score_command(
    data: Path = typer.Option(..., "--data", help=_DATA),
    fmt: str = typer.Option(..., "--format", help=_FORMAT),
    predictions: Path = typer.Option(..., "--predictions", help="JSON lines: id (or img_filename and instruction) and point [x, y] in image pixels."),
    out: Path | None = typer.Option(None, "--out", help="Where metrics.json goes (default: beside the predictions)."),
    images: Path | None = typer.Option(None, "--images", help=_IMAGES),
    inst_style: str | None = typer.Option(None, "--inst-style", help=_STYLE),
    language: str | None = typer.Option(None, "--language", help=_LANGUAGE),
    gt_type: str | None = typer.Option(None, "--gt-type", help=_GT),
) -> None:
    """Score predictions made elsewhere: write metrics.json and print the tables."""
    console, _ = _consoles()
    try:
        if not predictions.is_file():
            raise _Fail(f"{predictions}: no such predictions file")
        dataset, _, settings = _dataset(data, fmt, images, inst_style, language, gt_type)
        settings["predictions"] = str(predictions)
        _finish(dataset, predictions, out or predictions.parent, settings, console)
    except (_Fail, ValueError, OSError) as err:
        raise _error(err) from None
    raise typer.Exit(EXIT_OK)
