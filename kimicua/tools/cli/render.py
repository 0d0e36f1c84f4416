"""`kimicua render`: pictures of an episode, or of every episode of a run.

Exit codes: 0 rendered, 1 some episodes of a run could not be rendered (each is
named, the others are), 2 bad input (one line says why).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _fail(message: str) -> typer.Exit:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return typer.Exit(EXIT_BAD_INPUT)


def render_command(
    directory: Path = typer.Argument(..., help="An episode directory (it holds traj.jsonl) or a run directory with episodes below it."),
    out: Path | None = typer.Option(None, "--out", help="Where to write (default: <episode>/render, and the run's index.html in the run directory)."),
    hold: float = typer.Option(1.0, help="Seconds each step is shown in the video and the GIF."),
    gif_width: int = typer.Option(640, help="Width of the GIF in pixels (it is scaled down to stay light)."),
) -> None:
    """Render episodes: an MP4 and a GIF with each action marked and captioned, and a
    report.html per episode (an index.html for a run) that opens offline."""
    from kimicua.agent.trajectory import TrajectoryError
    from kimicua.tools.render import VideoError, mp4_available, render_episode, render_run

    if not directory.is_dir():
        raise _fail(f"{directory}: not a directory")
    if not mp4_available():
        print("notice: no MP4: OpenCV is not installed (pip install 'kimicua[data]'); writing the GIF and report",
              file=sys.stderr)
    try:
        if (directory / "traj.jsonl").is_file():
            for path in render_episode(directory, out, hold_s=hold, gif_width=gif_width):
                print(path)
            raise typer.Exit(EXIT_OK)
        run = render_run(directory, out, hold_s=hold, gif_width=gif_width)
    except (TrajectoryError, VideoError, OSError, ValueError) as err:
        raise _fail(str(err)) from None
    for line in run.errors:
        print(f"not rendered: {' '.join(line.split())}", file=sys.stderr)
    print(f"{run.index} ({len(run.reports)} episode(s) rendered"
          + (f", {len(run.errors)} not)" if run.errors else ")"))
    raise typer.Exit(EXIT_SOME_FAILED if run.errors else EXIT_OK)
