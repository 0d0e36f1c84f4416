"""`kimicua export`: a run's trajectories as parquet or jsonl rows for RL trainers.

Warnings (episodes without a score or token ids, set-aside attempts, unreadable
episodes) go to stderr, one line each; the summary to stdout. Bad input (no episodes,
an unknown format or level, an --out that cannot be written) is one line
``error: ...`` and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import typer


def export_command(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A results folder, or any folder below it (one episode's included)."),
    out: Path = typer.Option(..., "--out", "-o", help="The file to write."),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="parquet or jsonl (default: jsonl when --out ends in .jsonl, else parquet)."),
    level: str = typer.Option(
        "step", "--level", help="step: one row per model turn; episode: token sequences with a response mask (verl)."),
    include_unscored: bool = typer.Option(
        False, "--include-unscored", help="Keep episodes without a score (interrupted, failed), with null rewards."),
) -> None:
    """Export trajectories as data for RL: rewards, returns and group advantages per model turn or episode."""
    from kimicua.tools.export import ExportError, export_run

    fmt = fmt or ("jsonl" if out.suffix == ".jsonl" else "parquet")
    try:
        report = export_run(run_dir, out, fmt=fmt, level=level, include_unscored=include_unscored)
    except ExportError as err:
        typer.echo(f"error: {' '.join(str(err).split())}", err=True)
        raise typer.Exit(2) from None
    for line in report.warnings(include_unscored):
        typer.echo(f"warning: {line}", err=True)
    typer.echo(f"wrote {report.rows} {level} row(s) from {report.episodes} episode(s) in {report.groups} "
               f"group(s) to {out}")
