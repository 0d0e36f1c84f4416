"""``kimicua record`` and ``kimicua replay`` as plain functions, on the runner's pieces.

Both write where a run writes (``episode_dir`` under ``--results``), hold the
results folder's lock while they do, and list the episode in its results.json.
A recording is the model ``human`` (``--model-name``) in the ``computer13`` action
space, the form its lines' actions are in; a replay is ``<recorded model>-replay``
beside the recording's own action space.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter, read_episode
from kimicua.env.core import Env, EnvError, make_env
from kimicua.env.geometry import Size
from kimicua.tasks.osworld import support
from kimicua.tasks.run import TaskRun
from kimicua.tasks.schema import Task, TaskError
from kimicua.tasks.suites import resolve
from kimicua.tools.lock import ResultsLock
from kimicua.tools.record.human import SOURCE, RecordError, RecordResult, Recording
from kimicua.tools.record.replay import Check, ReplayError, first_divergence, replayable
from kimicua.tools.runner import Record, RunOptions, episode_dir, model_dir_name, run_dir
from kimicua.tools.runner.results import ResultsFile
from kimicua.tools.tui.freeform import DOMAIN as FREEFORM, FreeTask

ACTION_SPACE = "computer13"  # a recording's results folder: its lines' actions are computer_13


def find_task(spec: str, osworld: Path | None = None) -> tuple[str, Task]:
    """The one task ``spec`` names (an id, a task file), with its domain."""
    loaded = resolve(spec, osworld)
    if len(loaded.tasks) != 1:
        why = f": {loaded.errors[0]}" if loaded.errors else ""
        raise TaskError(f"{spec}: names {len(loaded.tasks)} tasks, not one{why}")
    domain, task = loaded.tasks[0]
    sup = support(task)
    if not sup.ok:
        raise TaskError(f"{task.id}: {sup.describe()}")
    return domain, task


@contextmanager
def _results(opts: RunOptions):
    """The results folder locked, and its results.json (a folder this made and nothing
    was written to is removed again, as a run that never started leaves none)."""
    lock = ResultsLock(opts.results)
    try:
        yield ResultsFile(run_dir(opts) / "results.json", opts.results / "summary.jsonl",
                          model_dir_name(opts.model, opts.model_name))
    except BaseException:
        lock.release(discard=True)
        raise
    lock.release()


def _env(kind: str, opts: RunOptions) -> Env:
    try:
        return make_env(kind, size=opts.screen, scale=opts.scale, display=opts.display, sandbox=opts.sandbox,
                        network=opts.network, guard=opts.guard())
    except (EnvError, OSError) as err:
        raise RecordError(f"the {kind} env cannot start: {str(err).strip().splitlines()[0]}") from None


@dataclass(frozen=True)
class StopWhen:
    """When a recording stops by itself (Ctrl-C always stops it)."""

    idle_s: float | None = None
    duration_s: float | None = None


def record(opts: RunOptions, *, task: str | None = None, instruction: str | None = None, kind: str = "desktop",
           osworld: Path | None = None, stop: StopWhen = StopWhen(), end: str = "done",
           on_start: Callable[[Env, Path], None] | None = None) -> RecordResult:
    """Record a person doing ``task`` (an id or a file: setup first, evaluated at the
    end) or a free-form ``instruction`` on a ``kind`` env; ``on_start`` is told the
    env and the episode folder once recording runs."""
    if (task is None) == (instruction is None):
        raise ValueError("record needs a task or an instruction (not both)")
    domain, spec = find_task(task, osworld) if task is not None else (FREEFORM, FreeTask(instruction, kind))
    kind = spec.env_kind
    if opts.display is not None and kind != "desktop":
        raise RecordError(f"--display records the desktop env; the {kind} env records on its own screen")
    with _results(opts) as results:
        env = _env(kind, opts)
        try:
            with _task_run(spec, env) as run:
                directory = episode_dir(opts, domain, run.id)
                meta = EpisodeMeta(task_id=run.id, instruction=run.instruction, domain=domain,
                                   model=model_dir_name(opts.model, opts.model_name), dialect=opts.dialect,
                                   rollout=0, group=f"{domain}/{run.id}", env=kind,
                                   screen=(env.screen.width, env.screen.height), source=SOURCE)
                alive = (lambda: env.windows()) if kind == "browser" else None  # Playwright reads its events
                with Recording(env, run, lambda: TrajectoryWriter(directory, meta, replace=True),
                               _verdict(run)) as recording:
                    recording.start()
                    if on_start is not None:
                        on_start(env, directory)
                    recording.wait(idle_s=stop.idle_s, duration_s=stop.duration_s, keep_alive=alive)
                    result = recording.finish(end)
        finally:
            env.close()
        results.add(Record(domain, run.id, result.status, result.score, steps=result.steps, turns=result.steps,
                           seconds=result.seconds, error=result.error, directory=directory))
    return result


@contextmanager
def _task_run(spec: Task | FreeTask, env: Env):
    """A task bound to ``env`` for one episode (a free-form one is its own)."""
    if isinstance(spec, FreeTask):
        yield spec
        return
    with TaskRun(spec, env) as run:
        yield run


def _verdict(run) -> Callable[[], str | None] | None:
    """How the evaluator came to its score, in its words (a TaskRun's last evaluation)."""
    if not isinstance(run, TaskRun):
        return None
    return lambda: run.last_evaluation.describe() if run.last_evaluation else None


@dataclass(frozen=True)
class ReplayResult:
    record: Record
    actions: int
    check: Check | None


def _replay_task(episode, spec: str | None, osworld: Path | None) -> tuple[str, Task | FreeTask]:
    """(domain, task) for a replay: ``spec`` if given, else the recording's task by
    its id, or its free-form instruction."""
    meta = episode.meta
    if spec is not None:
        return find_task(spec, osworld)
    if meta is None:
        raise ReplayError(f"{episode.directory}: no episode.json to name its task; give --task FILE")
    if meta.domain == FREEFORM:
        free = FreeTask(meta.instruction, meta.env or "desktop")
        free.id = meta.task_id
        return FREEFORM, free
    try:
        domain, task = find_task(meta.task_id, osworld)
    except TaskError as err:
        raise ReplayError(f"{episode.directory}: task {meta.task_id!r} not found ({err}); give --task FILE") from None
    return meta.domain or domain, task


def replay(source: Path, opts: RunOptions, *, task: str | None = None, osworld: Path | None = None,
           check: bool = False, tolerance: int = 0) -> ReplayResult:
    """Play ``source``'s actions on a fresh env after its task's setup, evaluate, and
    write the replay as a run does; ``check`` compares its frames with the recording's."""
    from kimicua.agent.backends.scripted import ScriptedPolicy
    from kimicua.agent.episode import run_episode
    from kimicua.agent.trajectory import TrajectoryError

    try:
        episode = read_episode(source)
    except (TrajectoryError, OSError, ValueError) as err:
        raise ReplayError(str(err)) from None
    played = replayable(episode)
    actions = [a for p in played for a in p.actions]
    meta = episode.meta
    domain, spec = _replay_task(episode, task, osworld)
    kind = spec.env_kind
    size = Size(*meta.screen) if meta is not None and meta.screen else opts.screen
    scale = next((s.scale for s in episode.steps if s.scale), opts.scale)
    recorded_model = meta.model if meta is not None else "osworld"
    opts = replace(opts, screen=size, scale=scale, dialect=(meta.dialect if meta and meta.dialect else opts.dialect),
                   model_name=opts.model_name or f"{recorded_model}-replay")
    with _results(opts) as results:
        env = _env(kind, opts)
        try:
            with _task_run(spec, env) as run:
                directory = episode_dir(opts, domain, run.id)
                new_meta = EpisodeMeta(task_id=run.id, instruction=run.instruction, domain=domain,
                                       model=model_dir_name(opts.model, opts.model_name), dialect=opts.dialect,
                                       seed=meta.seed if meta else None, rollout=0, group=f"{domain}/{run.id}",
                                       env=kind, screen=(env.screen.width, env.screen.height), source="replay",
                                       replay_of=str(Path(source).resolve()))
                with TrajectoryWriter(directory, new_meta, replace=True) as writer:
                    result = run_episode(env, run, ScriptedPolicy(actions), writer, max(1, len(actions)),
                                         dialect=opts.dialect, verdict=_verdict(run))
        finally:
            env.close()
        done = Record(domain, run.id, result.status, result.score, steps=result.steps, turns=result.turns,
                      seconds=result.duration_s, error=result.error, directory=directory)
        results.add(done)
    outcome = first_divergence(episode, played, read_episode(directory), tolerance) if check else None
    return ReplayResult(done, len(actions), outcome)
