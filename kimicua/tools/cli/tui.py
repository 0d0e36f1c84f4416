"""`kimicua tui`: the terminal UI (Textual) to pick tasks, watch and steer episodes,
approve or edit actions, and browse finished runs."""

from __future__ import annotations

from pathlib import Path

import typer

from kimicua.env.geometry import Size


def tui_command(
    tasks: str = typer.Option("small", help="What the start screen has: a built-in suite, a task id, a path, an OSWorld suite file, or the instruction of a free-form episode (with --source desktop/browser)."),
    source: str = typer.Option("suite", help="What --tasks names: suite, path, osworld, desktop or browser (a free-form instruction)."),
    model: str = typer.Option("scripted", help="A checkpoint dir or hub id, a http(s):// server, 'scripted' or 'tiny'."),
    dialect: str = typer.Option("kimi", help="Output dialect of the model."),
    mode: str = typer.Option("autonomous", help="autonomous, step (pause after each turn) or approve (each action)."),
    max_steps: int = typer.Option(15, help="Step budget per episode."),
    results: Path = typer.Option(Path("runs"), help="Results root (OSWorld's layout); the run browser opens it."),
    model_name: str | None = typer.Option(None, help="The model's folder in the results path (default: from --model)."),
    screen: str = typer.Option("1920x1080", help="Screen size WxH."),
    osworld: Path | None = typer.Option(None, help="Your copy of OSWorld's evaluation_examples (or $KIMICUA_OSWORLD)."),
    sandbox: bool = typer.Option(True, help="Run the desktop's apps and the browser in bubblewrap."),
    network: bool = typer.Option(False, help="Give the sandboxed apps the network."),
    resume: bool = typer.Option(True, help="Skip tasks whose directory already has result.txt."),
    images: str | None = typer.Option(None, help="Screenshots as: auto, halfblock, tgp or sixel (default $KIMICUA_TUI_IMAGES, else auto)."),
    browse: bool = typer.Option(False, "--browse", help="Open the run browser on --results first."),
    run: bool = typer.Option(False, "--run", help="Start the run at once, as picked by the options."),
) -> None:
    """Watch, steer and teach the agent in the terminal."""
    from kimicua.env.core import check_screen
    from kimicua.tools.runner import RunOptions
    from kimicua.tools.tui.app import KimicuaTui
    from kimicua.tools.tui.choice import RunChoice
    from kimicua.tools.tui.images import images_mode

    try:
        size = Size.parse(screen)
        check_screen(size, 1.0)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--screen") from None
    try:
        shown_as = images_mode(images)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--images") from None
    try:
        choice = RunChoice(source=source, tasks=tasks, model=model, dialect=dialect, mode=mode,
                           max_steps=max_steps, osworld=osworld,
                           options=RunOptions(results=results, screen=size, model_name=model_name,
                                              sandbox=sandbox, network=network, resume=resume))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    KimicuaTui(choice, images=shown_as, browse=browse, autorun=run).run()
