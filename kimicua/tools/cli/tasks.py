"""`kimicua tasks ...`: list a suite's tasks, check OSWorld task files for support, score
with one metric."""

from __future__ import annotations

import json
from pathlib import Path

import typer

OSWORLD_HELP = "Your copy of OSWorld's evaluation_examples, for task ids and suite names (or $KIMICUA_OSWORLD)."

app = typer.Typer(no_args_is_help=True, help="Task suites and the OSWorld support report.")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command("list")
def list_tasks(
    suite: str = typer.Argument("all", help="A built-in suite name, a task id, or a task/suite file or folder."),
    osworld: Path | None = typer.Option(None, help=OSWORLD_HELP),
) -> None:
    """List the tasks of a suite: domain, id, env kind and instruction."""
    from kimicua.tasks.schema import TaskError
    from kimicua.tasks.suites import resolve

    try:
        loaded = resolve(suite, osworld)
    except TaskError as err:
        _fail(str(err))
    for domain, task in loaded.tasks:
        instruction = " ".join(task.instruction.split())
        typer.echo(f"{domain:<12} {task.id:<40} {task.env_kind:<8} {instruction[:90]}")
    for error in loaded.errors:
        typer.echo(f"error: {error}", err=True)
    typer.echo(f"{len(loaded.tasks)} task(s), {len(loaded.errors)} load error(s)")


@app.command()
def check(
    path: str = typer.Argument(..., help="An OSWorld task file, suite file, domain folder or examples root."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="One line per task."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    offline: bool = typer.Option(False, "--offline", help="Judge the local desktop without the network."),
    allow_url: list[str] = typer.Option([], help="A URL filter the run allows (as kimicua run --allow-url)."),
    osworld: Path | None = typer.Option(None, help=OSWORLD_HELP),
) -> None:
    """Print the OSWorld support report: for each task whether it runs on the local
    desktop and on OSWorld's VM (osworld-vm env), or exactly why not (missing app,
    network, unsupported setup step, getter or metric), the commands it runs, and the
    totals per domain."""
    from kimicua.env.guard import UrlPolicy
    from kimicua.tasks.osworld import by_domain, report
    from kimicua.tasks.risk import commands, needs_network, remote_fetches
    from kimicua.tasks.schema import TaskError
    from kimicua.tasks.setup import SUPPORTED_STEPS
    from kimicua.tasks.suites import resolve

    try:
        loaded = resolve(path, osworld)
    except TaskError as err:
        _fail(str(err))
    rep = report((task for _, task in loaded.tasks), offline=offline, policy=UrlPolicy(allow=tuple(allow_url)))
    domains = [d for d, _ in loaded.tasks]
    table = by_domain(domains, rep)
    ran = {task.id: commands(task) for _, task in loaded.tasks}
    network = {task.id: needs_network(task) for _, task in loaded.tasks}
    fetches = {task.id: remote_fetches(task) for _, task in loaded.tasks}
    if as_json:
        typer.echo(json.dumps({
            "loaded": rep.total, "load_errors": loaded.errors, "runnable": rep.runnable,
            "runnable_vm": rep.runnable_vm, "offline": offline, "domains": table,
            "setup_types": dict(rep.setup_types.most_common()), "metrics": dict(rep.metrics.most_common()),
            "getters": dict(rep.getters.most_common()), "unsupported": dict(rep.unsupported.most_common()),
            "tasks": [{"id": s.task_id, "domain": d, "steps": list(s.steps), "getters": list(s.getters),
                       "metrics": list(s.metrics),
                       "local": {"supported": s.ok, "reasons": s.reasons()},
                       "vm": {"supported": v.ok, "reasons": v.reasons()},
                       "network": network[s.task_id], "fetches": fetches[s.task_id],
                       "commands": [{"where": c.where, "command": c.command, "shell": c.shell}
                                    for c in ran[s.task_id]]}
                      for d, s, v in zip(domains, rep.per_task, rep.per_task_vm)],
        }, indent=2))
        return
    typer.echo(f"loaded {rep.total} task(s), {len(loaded.errors)} load error(s)")
    for error in loaded.errors:
        typer.echo(f"  error: {error}")
    typer.echo(f"supported on the local desktop: {rep.runnable} of {rep.total}"
               f"{' (offline)' if offline else ''}; on OSWorld's VM (osworld-vm env): {rep.runnable_vm} of {rep.total}")
    typer.echo(f"{'domain':<22} {'tasks':>5} {'local':>6} {'vm':>5}")
    for domain, row in table.items():
        typer.echo(f"{domain:<22} {row['tasks']:>5} {row['local']:>6} {row['vm']:>5}")
    typer.echo("setup step types (count in config):")
    for name, count in rep.setup_types.most_common():
        typer.echo(f"  {name:<24} {count:>5}  {'ok' if name in SUPPORTED_STEPS else 'unsupported'}")
    if rep.unsupported:
        typer.echo("what tasks lack (tasks needing it; 'local' only on the local desktop):")
        for name, count in rep.unsupported.most_common():
            typer.echo(f"  {count:>5}  {name}")
    with_commands = [t for t, c in ran.items() if c]
    typer.echo(f"tasks that run commands: {len(with_commands)} "
               f"({sum(any(c.shell for c in ran[t]) for t in with_commands)} through a shell); "
               f"they run in the sandbox unless --no-sandbox")
    typer.echo(f"tasks whose apps need the network: {sum(network.values())}; "
               f"tasks that fetch files from the internet: {sum(bool(f) for f in fetches.values())}")
    if verbose or rep.total <= 5:
        typer.echo("per task:")
        for domain, s, v in zip(domains, rep.per_task, rep.per_task_vm):
            net = ", apps need the network" if network[s.task_id] else ""
            typer.echo(f"  {domain}/{s.task_id}{net}")
            for where, sup in (("local", s), ("vm", v)):
                typer.echo(f"    {where:<5} {'supported' if sup.ok else 'unsupported: ' + '; '.join(sup.reasons())}")
            for c in ran[s.task_id]:
                typer.echo(f"    runs {c}")


def _metric_input(text: str, what: str):
    """A path when ``text`` names an existing file or folder, else its JSON value."""
    from pathlib import Path

    if Path(text).exists():
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        _fail(f"{what} {text!r} is neither an existing file nor JSON (quote a string: '\"text\"')")


@app.command()
def metric(
    name: str = typer.Argument(..., help="An OSWorld metric name, e.g. compare_table."),
    result: str = typer.Argument(..., help="The result: a path to an existing file, else a JSON literal."),
    expected: str | None = typer.Argument(None, help="The expected value, as RESULT; leave out for metrics without one."),
    options: str = typer.Option("{}", "--options", help="The task's options object, as JSON."),
) -> None:
    """Score RESULT (and EXPECTED) with one OSWorld metric and print the score.

    A metric that fails with an error scores 0 and its reason is printed beside it:
    how an evaluator's verdict is debugged."""
    import difflib

    from kimicua.tasks.metrics import METRICS

    if name not in METRICS:
        close = difflib.get_close_matches(name, list(METRICS), n=3)
        _fail(f"unknown metric {name!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
    try:
        kwargs = json.loads(options)
    except json.JSONDecodeError as err:
        _fail(f"--options is not JSON: {err}")
    if not isinstance(kwargs, dict):
        _fail(f"--options must be a JSON object, got {type(kwargs).__name__}")
    args = [_metric_input(result, "RESULT")]
    if expected is not None:
        args.append(_metric_input(expected, "EXPECTED"))
    try:
        score = float(METRICS[name](*args, **kwargs))
    except Exception as err:  # noqa: BLE001 - a metric that raises scores 0, as in an evaluation
        reason = str(err).splitlines()[0] if str(err) else ""
        typer.echo(f"0 ({type(err).__name__}: {reason})")
        return
    typer.echo(f"{score:g}")
