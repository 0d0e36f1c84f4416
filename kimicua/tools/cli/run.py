"""`kimicua run` and `kimicua demo`: play tasks as episodes and print the results.

Exit codes: 0 every episode ran (whatever it scored), 1 some episodes ended in an
error, 2 bad input or a run that could not start (one line says why), 130 Ctrl-C.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from kimicua.env.geometry import Size

EXIT_OK, EXIT_EPISODE_ERRORS, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
ERROR_STATUSES = ("error", "skipped")


def _console(stream=None):
    """rich on ``stream``; when it is not a terminal (piped, a file) the width is not
    the 80 columns rich assumes there, so tables keep every column whole."""
    from rich.console import Console

    stream = stream or sys.stdout
    wide = None if stream.isatty() else 400
    return Console(file=stream, width=wide, soft_wrap=False)


MAX_TABLE_ROWS = 100  # longer runs print the per-domain table only (results.json has all)


def _table(rows, title: str):
    from rich.table import Table

    rollouts = any(r.rollout for r in rows)
    table = Table(title=title)
    for col in ("domain", "task", *(["rollout"] if rollouts else []), "status", "score", "steps", "time", "note"):
        table.add_column(col, justify="right" if col in ("rollout", "score", "steps", "time") else "left",
                         no_wrap=col != "note", overflow="fold")
    for r in rows:
        table.add_row(r.domain, r.task_id, *([str(r.rollout)] if rollouts else []), r.status,
                      "-" if r.score is None else f"{r.score:.2f}", str(r.steps), f"{r.seconds:.1f}s",
                      r.error or "")
    return table


def _stats_table(stats):
    from rich.table import Table

    table = Table(title="results by domain")
    for col in ("domain", "episodes", "success", "mean score", "mean steps", "errors"):
        table.add_column(col, justify="left" if col == "domain" else "right")
    for s in stats:
        pct = "-" if s.success_rate is None else f"{100 * s.success_rate:.1f}% ({s.solved})"
        table.add_row(s.name, str(s.episodes), pct, "-" if s.mean_score is None else f"{s.mean_score:.3f}",
                      "-" if s.mean_steps is None else f"{s.mean_steps:.1f}", str(s.errors),
                      style="bold" if s.name == "overall" else None)
    return table


def _progress(console):
    """Print one line per event, so a long run shows what it is doing."""
    from rich.markup import escape

    from kimicua.agent.events import ActionExecuted, EpisodeEnded, EpisodeStarted, ModelAnswered

    def on_event(event) -> None:
        match event:
            case EpisodeStarted():
                console.print(f"[bold]{escape(event.task_id)}[/]: {escape(event.instruction)}")
            case ModelAnswered(error=str(err)):
                console.print(f"  [yellow]turn {event.turn}: unparseable answer[/]: {escape(err)}")
            case ActionExecuted(result=None):
                console.print(f"  step {event.step}: {event.action.type} vetoed")
            case ActionExecuted(result=res):
                mark = "ok" if res.ok else f"[red]error: {escape(res.error or '')}[/]"
                console.print(f"  step {event.step}: {event.action.type} {mark}")
            case EpisodeEnded(result=res):
                score = "-" if res.score is None else f"{res.score:.2f}"
                console.print(f"  -> {res.status}, score {score}, {res.steps} steps, {res.duration_s:.1f}s")

    return on_event


def exit_code(rows, interrupted: bool = False) -> int:
    if interrupted or any(r.status == "interrupted" for r in rows):
        return EXIT_INTERRUPTED
    return EXIT_EPISODE_ERRORS if any(r.status in ERROR_STATUSES for r in rows) else EXIT_OK


def _rows_json(rows, stats) -> str:
    return json.dumps({"episodes": [r.to_json() for r in rows],
                       "domains": [{"domain": s.name, "episodes": s.episodes, "solved": s.solved,
                                    "success_rate": s.success_rate, "mean_score": s.mean_score,
                                    "mean_steps": s.mean_steps, "errors": s.errors} for s in stats]},
                      indent=1)


def play(spec: str, opts, console, *, approve: bool = False, as_json: bool = False,
         osworld: Path | None = None, verbose: bool = False, render: bool = False) -> int:
    """Run the tasks ``spec`` names; print the tables (or JSON); return the exit code."""
    from rich.markup import escape

    from kimicua.tasks.suites import resolve
    from kimicua.tools.runner import Runner, statistics
    from kimicua.tools.runner.progress import RunProgress

    loaded = resolve(spec, osworld)
    for err in loaded.errors:
        console.print(f"[red]skipped:[/] {escape(err)}")
    if not loaded.tasks:
        console.print(f"[red]no task to run in {escape(spec)!r}[/]")
        return EXIT_BAD_INPUT
    approver = None
    if approve:
        from kimicua.tools.cli.approve import TerminalApprover

        approver = TerminalApprover(console, opts.dialect)
    on_event = _progress(console) if verbose or approve else None
    with Runner(opts, on_event=on_event, approve=approver) as runner:
        if runner.notice:
            console.print(f"[bold yellow]notice:[/] {escape(runner.notice)}")
        total = len(loaded.tasks) * opts.rollouts
        with RunProgress(console, total, f"{spec} with {runner.model_name}") as progress:
            def finished(record) -> None:
                progress.finished(record)
                if render and record.directory is not None and record.status not in ("already done",):
                    _render(record.directory, console)

            rows = runner.run(loaded.tasks, on_record=finished)
        if render:
            _render_index(runner, console)
    code = exit_code(rows, runner.interrupted)
    stats = statistics(rows)
    if as_json:
        print(_rows_json(rows, stats), flush=True)
        return code
    if len(rows) <= MAX_TABLE_ROWS:
        console.print(_table(rows, f"{spec} with {runner.model_name} ({opts.dialect})"))
    console.print(_stats_table(stats))
    failed = [r for r in rows if r.status in ERROR_STATUSES]
    if failed and len(failed) == len(rows) and len({r.error for r in failed}) == 1:
        console.print(f"[red]every task failed the same way:[/] {escape(failed[0].error or '')}")
    console.print(f"trajectories: {opts.results.resolve()}  results: {runner.results.path.resolve()}")
    return code


def _render_index(runner, console) -> None:
    """``--render``: the run's index.html, linking every episode's report."""
    from kimicua.tools.render import render_run
    from kimicua.tools.runner import run_dir

    try:
        pictures = render_run(run_dir(runner.opts), rerender=False)
        console.print(f"pictures: {pictures.index.resolve()}", soft_wrap=True)
    except (OSError, ValueError, RuntimeError) as err:
        console.print(f"[yellow]render index: {err}[/]", soft_wrap=True)


def _render(directory: Path, console) -> None:
    """``--render``: the episode's video, GIF and report, beside its trajectory."""
    from rich.markup import escape

    from kimicua.tools.render import render_episode

    try:
        render_episode(directory)
    except (OSError, ValueError, RuntimeError) as err:  # a picture never ends the run (VideoError too)
        console.print(f"[yellow]render {escape(str(directory))}: {escape(str(err))}[/]", soft_wrap=True)


def fail_line(console, err: BaseException) -> int:
    """One line naming what went wrong (never wrapped, never read as markup); exit 2."""
    from rich.markup import escape

    console.print(f"[red]error:[/] {escape(' '.join(str(err).split()))}", soft_wrap=True)
    return EXIT_BAD_INPUT


ENV_KINDS = ("osworld-vm", "desktop", "browser")


def vm_options(env: str | None, vms: list[str], provider: str | None, image: Path | None,
               workers: int) -> str | None:
    """The env every task plays on (osworld-vm when VMs are given); BadParameter, one
    line, for VM options that do not fit together."""
    from kimicua.env.osworld_vm.client import normalise_url

    if env is not None and env not in ENV_KINDS:
        raise typer.BadParameter(f"{env!r} is not one of {', '.join(ENV_KINDS)}", param_hint="--env")
    if (vms or provider) and env is None:
        env = "osworld-vm"
    if env != "osworld-vm":
        if vms or provider or image:
            raise typer.BadParameter("--vm, --provider and --vm-image are for --env osworld-vm", param_hint="--env")
        return env
    if vms and provider:
        raise typer.BadParameter("give --vm URLs (VMs you started) or --provider docker, not both", param_hint="--vm")
    if provider is not None:
        if provider != "docker":
            raise typer.BadParameter(f"{provider!r}: the provider is 'docker'", param_hint="--provider")
        if image is None or not image.is_file():
            raise typer.BadParameter(f"--provider docker needs --vm-image PATH.qcow2 (an existing file), got {image}",
                                     param_hint="--vm-image")
        return env
    if not vms:
        raise typer.BadParameter("--env osworld-vm needs --vm http://HOST:5000 (one per worker) or "
                                 "--provider docker --vm-image PATH.qcow2", param_hint="--vm")
    try:
        urls = [normalise_url(u) for u in vms]
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--vm") from None
    if len(set(urls)) != len(urls):
        raise typer.BadParameter("each --vm must be a different VM", param_hint="--vm")
    if len(urls) != workers:
        raise typer.BadParameter(f"--workers {workers} needs {workers} --vm URL(s), one VM per worker; "
                                 f"got {len(urls)}", param_hint="--vm")
    return env


def run_command(
    tasks: str = typer.Argument(..., help="A built-in suite (all, small), a task id, a task file, a suite file or a folder of tasks."),
    model: str = typer.Option("tiny", help="A checkpoint dir or hub id, a http(s):// server, 'scripted' or 'tiny'."),
    dialect: str = typer.Option("kimi", help="Output dialect of the model."),
    results: Path = typer.Option(Path("runs"), help="Results root (OSWorld's layout)."),
    model_name: str | None = typer.Option(None, help="The model's folder in the results path (default: from --model)."),
    max_steps: int = typer.Option(15, help="Step budget per episode."),
    screen: str = typer.Option("1920x1080", help="Screen size WxH."),
    scale: float = typer.Option(1.0, help="Device scale factor (browser)."),
    display: str | None = typer.Option(None, help="Use this X display (e.g. :0) instead of a private Xvfb."),
    seed: int = typer.Option(0, help="Episode seed (rollout k of a task gets seed + k)."),
    rollouts: int = typer.Option(1, min=1, help="Episodes per task: a group for GRPO-style training (rollout_<k>/ folders)."),
    workers: int = typer.Option(1, min=1, help="Episodes in parallel on Ray (the scale extra), each worker with its own envs."),
    ray_address: str | None = typer.Option(None, help="Join this Ray cluster instead of starting one here."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="A line per step, not only per episode."),
    render: bool = typer.Option(False, help="Also write each episode's MP4, GIF and report.html."),
    temperature: float | None = typer.Option(None, help="Sampling temperature (local/server models)."),
    record_routing: bool = typer.Option(False, "--record-routing", help="Record the MoE experts each answer token was routed through (routing_turn_<n>.npy per turn; a local checkpoint only)."),
    max_images: int = typer.Option(3, help="Screenshots in the prompt, the current one included."),
    resume: bool = typer.Option(True, help="Skip tasks whose directory already has result.txt."),
    osworld: Path | None = typer.Option(None, help="Your copy of OSWorld's evaluation_examples (or $KIMICUA_OSWORLD)."),
    sandbox: bool = typer.Option(True, help="Run the desktop's apps and the browser in bubblewrap (--no-sandbox only for a trusted model or inside a VM)."),
    network: bool = typer.Option(False, help="Give the sandboxed apps the network (tasks that need it get it anyway)."),
    allow_url: list[str] = typer.Option([], help="Also allow navigation to URLs matching this Chromium URL filter (repeatable)."),
    deny_key: list[str] = typer.Option([], help="Also refuse this key chord, e.g. super+l (repeatable)."),
    approve: bool = typer.Option(False, help="Show each proposed action and accept, skip, edit it or stop."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout (progress goes to stderr)."),
    env: str | None = typer.Option(None, "--env", help="Play every task on this env: osworld-vm (OSWorld's official VMs, with --vm or --provider), desktop or browser. Default: each task's own."),
    vm: list[str] = typer.Option([], "--vm", help="The server of an OSWorld VM you started, http://HOST:5000 (repeatable: one VM per worker)."),
    provider: str | None = typer.Option(None, help="Start the VMs: 'docker' boots --vm-image in OSWorld's docker image, one per worker (needs docker and KVM)."),
    vm_image: Path | None = typer.Option(None, help="OSWorld's VM disk (Ubuntu.qcow2) for --provider docker."),
) -> None:
    """Run tasks as episodes and print a results table."""
    from kimicua.env.guard import DEFAULT_DENY_KEYS
    from kimicua.tools.runner import RunOptions

    console = _console(sys.stderr if as_json else None)
    from kimicua.env.core import check_screen

    try:
        size = Size.parse(screen)
        check_screen(size, scale)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--screen") from None
    env = vm_options(env, vm, provider, vm_image, workers)
    if record_routing and (model.strip().startswith(("http://", "https://")) or model.strip() == "scripted"):
        raise typer.BadParameter(f"{model!r} is not a local checkpoint: only the on-device engine can "
                                 "record expert routing", param_hint="--record-routing")
    if not sandbox and env != "osworld-vm":
        console.print("[bold yellow]warning:[/] --no-sandbox: the model's actions reach this machine as "
                      "your user (use it for a trusted model or inside a VM)")
    opts = RunOptions(model=model, dialect=dialect, results=results, max_steps=max_steps, screen=size,
                      scale=scale, display=display, seed=seed, max_images=max_images, resume=resume,
                      policy_options={"temperature": temperature, "record_routing": record_routing or None},
                      model_name=model_name, sandbox=sandbox,
                      network=network, allow_urls=tuple(allow_url),
                      deny_keys=(*DEFAULT_DENY_KEYS, *deny_key), rollouts=rollouts, workers=workers,
                      ray_address=ray_address, env=env, vms=tuple(vm), provider=provider, vm_image=vm_image)
    try:
        code = play(tasks, opts, console, approve=approve, as_json=as_json, osworld=osworld,
                    verbose=verbose, render=render)
    except (ValueError, OSError) as err:  # TaskError, BackendError, RunSetupError, bad paths
        code = fail_line(console, err)
    raise typer.Exit(code)


def demo_command(
    model: str | None = typer.Option(None, help="Defaults to $KIMICUA_CHECKPOINT when set, else 'tiny'."),
    results: Path | None = typer.Option(None, help="Where the trajectories go (default: a new runs/demo/<time> each run)."),
    max_steps: int = typer.Option(5, help="Step budget per episode."),
    suite: str = typer.Option("all", help="The built-in suite to run."),
) -> None:
    """Run the built-in suite on a private Xvfb desktop and headless Chromium.

    First with the scripted solutions (a check that the world and the evaluators
    work), then with the model. Each demo writes a fresh dated directory, so it runs
    the same way every time.
    """
    import os

    from kimicua.tools.runner import RunOptions

    console = _console()
    model = model or os.environ.get("KIMICUA_CHECKPOINT") or "tiny"
    results = results or Path("runs/demo") / time.strftime("%Y%m%d-%H%M%S")
    if model == "tiny":
        console.print("[bold yellow]notice:[/] no Kimi-VL checkpoint given (--model or $KIMICUA_CHECKPOINT): "
                      "using the tiny random checkpoint, whose actions are random; expect scores of 0.")
    code = EXIT_OK
    for name, budget in (("scripted", 40), (model, max_steps)):
        console.rule(f"built-in suite with {name}")
        opts = RunOptions(model=name, results=results, max_steps=budget, resume=True)
        try:
            code = max(code, play(suite, opts, console))
        except (ValueError, OSError) as err:
            code = max(code, fail_line(console, err))
    sys.exit(code)
