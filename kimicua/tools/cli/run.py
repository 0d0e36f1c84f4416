"""`kimicua run` and `kimicua demo`: play tasks as episodes and print the results."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from kimicua.env.geometry import Size


def _table(rows, title: str):
    from rich.table import Table

    table = Table(title=title)
    for col in ("domain", "task", "status", "score", "steps", "time", "note"):
        table.add_column(col, justify="right" if col in ("score", "steps", "time") else "left",
                         no_wrap=col != "note", overflow="ellipsis")
    for r in rows:
        table.add_row(r.domain, r.task_id, r.status, "-" if r.score is None else f"{r.score:.2f}",
                      str(r.steps), f"{r.seconds:.1f}s", r.note or "")
    scored = [r.score for r in rows if r.score is not None]
    if scored:
        table.caption = f"mean score {sum(scored) / len(scored):.3f} over {len(scored)} scored task(s)"
    return table


def _progress(console):
    """Print one line per event, so a long run shows what it is doing."""
    from kimicua.agent.events import ActionExecuted, EpisodeEnded, EpisodeStarted, ModelAnswered

    def on_event(event) -> None:
        match event:
            case EpisodeStarted():
                console.print(f"[bold]{event.task_id}[/]: {event.instruction}")
            case ModelAnswered(error=str(err)):
                console.print(f"  [yellow]turn {event.turn}: unparseable answer[/]: {err}")
            case ActionExecuted(result=None):
                console.print(f"  step {event.step}: {event.action.type} vetoed")
            case ActionExecuted(result=res):
                mark = "ok" if res.ok else f"[red]error: {res.error}[/]"
                console.print(f"  step {event.step}: {event.action.type} {mark}")
            case EpisodeEnded(result=res):
                score = "-" if res.score is None else f"{res.score:.2f}"
                console.print(f"  -> {res.status}, score {score}, {res.steps} steps, {res.duration_s:.1f}s")

    return on_event


def play(spec: str, opts, console) -> int:
    """Run the tasks ``spec`` names; print the table; exit code 0 unless nothing ran."""
    from kimicua.tasks.suites import resolve
    from kimicua.tools.runner import Runner

    loaded = resolve(spec)
    for err in loaded.errors:
        console.print(f"[red]skipped:[/] {err}")
    if not loaded.tasks:
        console.print(f"[red]no task to run in {spec!r}[/]")
        return 2
    with Runner(opts, on_event=_progress(console)) as runner:
        if runner.notice:
            console.print(f"[bold yellow]notice:[/] {runner.notice}")
        rows = runner.run(loaded.tasks)
    console.print(_table(rows, f"{spec} with {runner.model_name} ({opts.dialect})"))
    console.print(f"trajectories: {opts.results.resolve()}")
    return 0


def run_command(
    tasks: str = typer.Argument(..., help="A built-in suite (all, small), a task file, a suite file or a folder of tasks."),
    model: str = typer.Option("tiny", help="A checkpoint dir or hub id, a http(s):// server, 'scripted' or 'tiny'."),
    dialect: str = typer.Option("kimi", help="Output dialect of the model."),
    results: Path = typer.Option(Path("runs"), help="Results root (OSWorld's layout)."),
    max_steps: int = typer.Option(15, help="Step budget per episode."),
    screen: str = typer.Option("1920x1080", help="Screen size WxH."),
    scale: float = typer.Option(1.0, help="Device scale factor (browser)."),
    display: str | None = typer.Option(None, help="Use this X display (e.g. :0) instead of a private Xvfb."),
    seed: int = typer.Option(0, help="Episode seed."),
    temperature: float | None = typer.Option(None, help="Sampling temperature (local/server models)."),
    max_images: int = typer.Option(3, help="Screenshots in the prompt, the current one included."),
    resume: bool = typer.Option(True, help="Skip tasks whose directory already has result.txt."),
) -> None:
    """Run tasks as episodes and print a results table."""
    from rich.console import Console

    from kimicua.tools.runner import RunOptions

    console = Console()
    try:
        size = Size.parse(screen)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--screen") from None
    opts = RunOptions(model=model, dialect=dialect, results=results, max_steps=max_steps, screen=size,
                      scale=scale, display=display, seed=seed, max_images=max_images, resume=resume,
                      policy_options={"temperature": temperature})
    try:
        code = play(tasks, opts, console)
    except (ValueError, OSError) as err:  # TaskError, BackendError, bad paths: one line
        console.print(f"[red]error:[/] {err}")
        code = 2
    raise typer.Exit(code)


def demo_command(
    model: str | None = typer.Option(None, help="Defaults to $KIMICUA_CHECKPOINT when set, else 'tiny'."),
    results: Path = typer.Option(Path("runs/demo"), help="Where the trajectories go."),
    max_steps: int = typer.Option(5, help="Step budget per episode."),
    suite: str = typer.Option("all", help="The built-in suite to run."),
) -> None:
    """Run the built-in suite on a private Xvfb desktop and headless Chromium.

    First with the scripted solutions (a check that the world and the evaluators
    work), then with the model.
    """
    import os

    from rich.console import Console

    from kimicua.tools.runner import RunOptions

    console = Console()
    model = model or os.environ.get("KIMICUA_CHECKPOINT") or "tiny"
    if model == "tiny":
        console.print("[bold yellow]notice:[/] no Kimi-VL checkpoint given (--model or $KIMICUA_CHECKPOINT): "
                      "using the tiny random checkpoint, whose actions are random; expect scores of 0.")
    code = 0
    for name, budget in (("scripted", 40), (model, max_steps)):
        console.rule(f"built-in suite with {name}")
        opts = RunOptions(model=name, results=results, max_steps=budget, resume=False)
        code = max(code, play(suite, opts, console))
    sys.exit(code)
