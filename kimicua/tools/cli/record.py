"""`kimicua record` and `kimicua replay`: human demonstrations, and trajectories played again.

Exit codes of record: 0 recorded (whatever it scored), 1 the recording ended in an
error (the display went away, the evaluation failed), 2 bad input or a recording that
could not start (one line says why). Ctrl-C stops a recording normally.
Exit codes of replay: 0 replayed (whatever it scored) and, with --check, every frame
matched; 1 --check found a step that diverges, or the replay ended in an error; 2 bad
input (one line).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from kimicua.env.geometry import Size

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _fail(err: BaseException | str) -> typer.Exit:
    print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
    return typer.Exit(EXIT_BAD_INPUT)


def _options(results: Path, model: str, model_name: str | None, dialect: str, screen: str, scale: float,
             display: str | None, sandbox: bool, network: bool, allow_url: list[str], deny_key: list[str]):
    from kimicua.env.core import check_screen
    from kimicua.env.guard import DEFAULT_DENY_KEYS
    from kimicua.tools.runner import RunOptions

    try:
        size = Size.parse(screen)
        check_screen(size, scale)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--screen") from None
    if not sandbox:
        print("warning: --no-sandbox: the episode's apps run as your user", file=sys.stderr)
    return RunOptions(model=model, model_name=model_name, dialect=dialect, results=results, screen=size, scale=scale,
                      display=display, sandbox=sandbox, network=network, allow_urls=tuple(allow_url),
                      deny_keys=(*DEFAULT_DENY_KEYS, *deny_key))


def _score(score: float | None) -> str:
    return "no score" if score is None else f"score {score:g}"


def record_command(
    task: str | None = typer.Argument(None, help="A task id or task file: its setup runs first and its evaluator scores the end. Omit it with --instruction."),
    instruction: str | None = typer.Option(None, help="Record a free-form task instead: no setup, no score."),
    env: str = typer.Option("desktop", help="The env of a free-form task: desktop or browser."),
    results: Path = typer.Option(Path("runs"), help="Results root (the layout of kimicua run)."),
    model_name: str = typer.Option("human", help="The recording's model folder in the results."),
    screen: str = typer.Option("1920x1080", help="Screen size WxH of the private display."),
    scale: float = typer.Option(1.0, help="Device scale factor."),
    display: str | None = typer.Option(None, help="Record on this X display (e.g. :0; desktop tasks) instead of a private Xvfb."),
    until_idle: float | None = typer.Option(None, min=0.1, help="Stop after this many seconds without input."),
    duration: float | None = typer.Option(None, min=0.1, help="Stop after this many seconds."),
    fail: bool = typer.Option(False, "--fail", help="End with FAIL (the task cannot be done) instead of DONE."),
    osworld: Path | None = typer.Option(None, help="Your copy of OSWorld's evaluation_examples (or $KIMICUA_OSWORLD)."),
    sandbox: bool = typer.Option(True, help="Run the episode's apps in bubblewrap."),
    network: bool = typer.Option(False, help="Give the sandboxed apps the network."),
    allow_url: list[str] = typer.Option([], help="Also allow navigation to URLs matching this Chromium URL filter (repeatable)."),
    deny_key: list[str] = typer.Option([], help="Also refuse this key chord in the env (repeatable)."),
) -> None:
    """Record a person doing a task on a display, as a trajectory of our actions.

    Stop with Ctrl-C, --until-idle or --duration; the recording then ends with DONE
    (--fail: FAIL) and the task's evaluator scores it."""
    from kimicua.tools.record.session import ACTION_SPACE, StopWhen, record

    if (task is None) == (instruction is None):
        raise _fail("give a task (an id or a file) or --instruction TEXT, not both")
    if env not in ("desktop", "browser"):
        raise _fail(f"--env must be desktop or browser, not {env!r}")
    opts = _options(results, "human", model_name, ACTION_SPACE, screen, scale, display, sandbox, network,
                    allow_url, deny_key)

    def started(live_env, directory: Path) -> None:
        shown = live_env.display
        stops = ["Ctrl-C", *([f"{until_idle:g} s without input"] if until_idle else []),
                 *([f"after {duration:g} s"] if duration else [])]
        print(f"recording on display {shown.name} (XAUTHORITY={shown.env.get('XAUTHORITY', '')}); "
              f"stops on {', '.join(stops)}", file=sys.stderr, flush=True)

    try:
        result = record(opts, task=task, instruction=instruction, kind=env, osworld=osworld,
                        stop=StopWhen(until_idle, duration), end="fail" if fail else "done", on_start=started)
    except (ValueError, OSError, RuntimeError) as err:  # TaskError, RecordError, ResultsBusy, SetupError, EnvError
        raise _fail(err) from None
    verdict = f" ({result.verdict})" if result.verdict else ""
    print(f"{result.status}: {result.steps} actions, {_score(result.score)}{verdict}")
    if result.ignored:
        print(f"note: {result.ignored} input events made no action (unnamed keys, extra buttons)", file=sys.stderr)
    if result.error:
        print(f"error: {' '.join(result.error.split())}", file=sys.stderr)
    print(f"trajectory: {result.directory.resolve()}")
    raise typer.Exit(EXIT_FAILED if result.status == "error" else EXIT_OK)


def replay_command(
    episode: Path = typer.Argument(..., help="An episode directory (it holds traj.jsonl): recorded, or written by a run."),
    results: Path = typer.Option(Path("runs"), help="Results root for the replayed episode."),
    task: str | None = typer.Option(None, help="The task to set up and evaluate (default: the episode's own, by its id)."),
    check: bool = typer.Option(False, "--check", help="Compare each replayed frame with the recorded one; report the first step that diverges."),
    tolerance: int = typer.Option(0, min=0, help="With --check: changed 16x16 tiles a frame may have and still match."),
    model_name: str | None = typer.Option(None, help="The replay's model folder (default: <recorded model>-replay)."),
    screen: str = typer.Option("1920x1080", help="Screen size, for an episode that does not say its own."),
    osworld: Path | None = typer.Option(None, help="Your copy of OSWorld's evaluation_examples (or $KIMICUA_OSWORLD)."),
    sandbox: bool = typer.Option(True, help="Run the episode's apps in bubblewrap."),
    network: bool = typer.Option(False, help="Give the sandboxed apps the network."),
    allow_url: list[str] = typer.Option([], help="Also allow navigation to URLs matching this Chromium URL filter (repeatable)."),
    deny_key: list[str] = typer.Option([], help="Also refuse this key chord (repeatable)."),
) -> None:
    """Play a trajectory's actions again on a fresh env after its task's setup, evaluate
    it, and write the replay as a run does."""
    from kimicua.tools.record.session import replay

    if not (episode / "traj.jsonl").is_file():
        raise _fail(f"{episode}: not an episode directory (no traj.jsonl)")
    opts = _options(results, "replay", model_name, "computer13", screen, 1.0, None, sandbox, network,
                    allow_url, deny_key)
    try:
        result = replay(episode, opts, task=task, osworld=osworld, check=check, tolerance=tolerance)
    except (ValueError, OSError, RuntimeError) as err:  # ReplayError, TaskError, ResultsBusy, EnvError
        raise _fail(err) from None
    rec = result.record
    print(f"{rec.status}: {rec.steps} of {result.actions} actions replayed, {_score(rec.score)}")
    if rec.error:
        print(f"error: {' '.join(rec.error.split())}", file=sys.stderr)
    code = EXIT_FAILED if rec.status == "error" else EXIT_OK
    if result.check is not None:
        found = result.check
        if found.divergence is not None:
            print(f"diverges at {found.divergence.describe()}")
            code = EXIT_FAILED
        else:
            largest = f"; the largest difference tolerated: step {found.largest[0]}, " \
                      f"{found.largest[1].describe()}" if found.largest else ""
            print(f"matches the recording: {found.compared} frames compared{largest}")
    print(f"trajectory: {rec.directory.resolve()}")
    raise typer.Exit(code)
