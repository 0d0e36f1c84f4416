"""Load OSWorld task files, domain folders and suites, and report what runs here.

OSWorld's layout: ``<root>/examples/<domain>/<id>.json`` and suite maps
``<root>/test_all.json`` = ``{domain: [id, ...]}``. Loading never stops at a bad
file: errors are collected one line each, and every task gets a Support record
naming its unsupported setup types, getters and metrics, so a suite runner can skip
or fail that task clearly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from kimicua.tasks.evaluate import unsupported
from kimicua.tasks.schema import Task, TaskError, load_task, read_json
from kimicua.tasks.setup import SUPPORTED_STEPS


@dataclass(frozen=True)
class Support:
    """What one task needs that this runtime lacks (all empty: it can run)."""

    task_id: str
    steps: tuple[str, ...] = ()
    getters: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.steps or self.getters or self.metrics)

    def describe(self) -> str:
        if self.ok:
            return "supported"
        parts = [f"{kind} {', '.join(names)}" for kind, names in
                 (("setup", self.steps), ("getter", self.getters), ("metric", self.metrics)) if names]
        return "unsupported " + "; ".join(parts)


def support(task: Task) -> Support:
    """Which of a task's setup/postconfig types, getters and metrics are unsupported here."""
    types = [s.type for s in task.config] + [s.type for s in task.evaluator.postconfig]
    steps = sorted({t for t in types if t not in SUPPORTED_STEPS})
    metrics, getters = unsupported(task.evaluator)
    return Support(task.id, tuple(steps), tuple(getters), tuple(metrics))


@dataclass
class Loaded:
    """Tasks by domain, plus one-line errors for files that did not load."""

    tasks: list[tuple[str, Task]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tasks)


def is_suite(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and all(
        isinstance(v, list) and all(isinstance(i, str) for i in v) for v in data.values()
    )


def load_dir(folder: str | Path, domain: str | None = None) -> Loaded:
    """Every ``*.json`` task in a folder (its name is the domain unless given)."""
    folder = Path(folder)
    out = Loaded()
    for path in sorted(folder.glob("*.json")):
        try:
            out.tasks.append((domain or folder.name, load_task(path)))
        except TaskError as err:
            out.errors.append(str(err))
    return out


def load_suite(suite: str | Path | dict[str, list[str]], examples: str | Path | None = None) -> Loaded:
    """Tasks of a suite map ``{domain: [id, ...]}`` from ``<examples>/<domain>/<id>.json``.

    ``examples`` defaults to the ``examples`` folder next to a suite file (OSWorld's
    layout), or the suite file's own folder when there is none (the built-in layout).
    """
    if isinstance(suite, dict):
        mapping, origin = suite, "<suite>"
    else:
        origin = str(suite)
        mapping = read_json(suite)
        if examples is None:
            beside = Path(suite).parent / "examples"
            examples = beside if beside.is_dir() else Path(suite).parent
    if not is_suite(mapping):
        raise TaskError(f"{origin}: a suite must map each domain to a list of task ids")
    if examples is None:
        raise TaskError(f"{origin}: an examples folder is needed to find the task files")
    out = Loaded()
    for domain, ids in mapping.items():
        for task_id in ids:
            try:
                out.tasks.append((domain, load_task(Path(examples) / domain / f"{task_id}.json")))
            except TaskError as err:
                out.errors.append(str(err))
    return out


def load_path(path: str | Path) -> Loaded:
    """A task file, a suite file, a domain folder, or a folder of domain folders
    (OSWorld's ``evaluation_examples`` with its ``examples`` folder included)."""
    path = Path(path)
    if path.is_dir():
        if (path / "examples").is_dir():
            return load_path(path / "examples")
        subdirs = sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("*.json")))
        if not subdirs:
            return load_dir(path)
        # Top-level JSON beside domain folders are suite maps, not tasks.
        out = Loaded()
        for sub in subdirs:
            part = load_dir(sub)
            out.tasks += part.tasks
            out.errors += part.errors
        return out
    data = read_json(path)
    if is_suite(data):
        return load_suite(path)
    out = Loaded()
    try:
        out.tasks.append((path.parent.name, load_task(path)))
    except TaskError as err:
        out.errors.append(str(err))
    return out


@dataclass(frozen=True)
class Report:
    """Counts over a set of tasks: setup step types (in ``config``), metrics, getters,
    and which tasks can run here."""

    total: int
    runnable: int
    setup_types: Counter
    metrics: Counter
    getters: Counter
    unsupported: Counter  # "setup download" etc. -> number of tasks needing it
    per_task: list[Support]


def report(tasks: Iterable[Task]) -> Report:
    """The OSWorld support report of some tasks."""
    tasks = list(tasks)
    setup_types: Counter = Counter()
    metrics: Counter = Counter()
    getters: Counter = Counter()
    missing: Counter = Counter()
    per_task = []
    for task in tasks:
        setup_types.update(s.type for s in task.config)
        metrics.update(task.evaluator.funcs)
        for _, result, expected, _ in task.evaluator.aligned():
            getters.update(str(s.get("type")) for s in (result, expected) if isinstance(s, dict))
        s = support(task)
        per_task.append(s)
        for kind, names in (("setup", s.steps), ("getter", s.getters), ("metric", s.metrics)):
            missing.update(f"{kind} {n}" for n in names)
    runnable = sum(s.ok for s in per_task)
    return Report(len(tasks), runnable, setup_types, metrics, getters, missing, per_task)
