"""Load OSWorld task files, domain folders and suites, and report what runs here.

OSWorld's layout: ``<root>/examples/<domain>/<id>.json`` and suite maps
``<root>/test_all.json`` = ``{domain: [id, ...]}``. Loading never stops at a bad
file: errors are collected one line each, and every task gets a Support record, for
the local desktop and for OSWorld's VM, naming its unsupported setup types, getters
and metrics and (locally) what else is missing, so a suite runner can skip that task
with the same reason ``kimicua tasks check`` gives.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from kimicua.env.guard import UrlPolicy
from kimicua.tasks.evaluate import unsupported
from kimicua.tasks.getters import UNSUPPORTED_GETTERS
from kimicua.tasks.local_support import local_reasons
from kimicua.tasks.schema import Task, TaskError, load_task, read_json
from kimicua.tasks.setup import SUPPORTED_STEPS, UNSUPPORTED_STEPS


WHERE = ("local", "vm")


@dataclass(frozen=True)
class Support:
    """What one task needs that this runtime lacks ``where`` it would run (all empty:
    it can run there): unimplemented setup types, getters and metrics, and for the
    local desktop the ``local`` reasons (``local_support``)."""

    task_id: str
    steps: tuple[str, ...] = ()
    getters: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    local: tuple[str, ...] = ()
    where: str = "local"

    @property
    def ok(self) -> bool:
        return not (self.steps or self.getters or self.metrics or self.local)

    def reasons(self) -> list[str]:
        """One line per gap: the type and why (when known), then the local reasons."""
        lines = [f"setup {t}" + (f" ({UNSUPPORTED_STEPS[t]})" if t in UNSUPPORTED_STEPS else "")
                 for t in self.steps]
        lines += [f"getter {g}" + (f" ({UNSUPPORTED_GETTERS[g]})" if g in UNSUPPORTED_GETTERS else "")
                  for g in self.getters]
        lines += [f"metric {m}" for m in self.metrics]
        return lines + list(self.local)

    def describe(self) -> str:
        if self.ok:
            return "supported"
        parts = [f"{kind} {', '.join(names)}" for kind, names in
                 (("setup", self.steps), ("getter", self.getters), ("metric", self.metrics)) if names]
        return "unsupported " + "; ".join(parts + list(self.local))


def support(task: Task, where: str = "local", *, offline: bool = False,
            policy: UrlPolicy = UrlPolicy()) -> Support:
    """What ``task`` lacks to run ``where``: "local" (the local desktop, with the run's
    URL ``policy``; ``offline``: without the network) or "vm" (OSWorld's VM through
    the osworld-vm env, which has OSWorld's apps and network)."""
    if where not in WHERE:
        raise ValueError(f"where must be one of {WHERE}, got {where!r}")
    types = [s.type for s in task.config] + [s.type for s in task.evaluator.postconfig]
    steps = sorted({t for t in types if t not in SUPPORTED_STEPS})
    metrics, getters = unsupported(task.evaluator)
    local = tuple(local_reasons(task, offline=offline, policy=policy)) if where == "local" else ()
    return Support(task.id, tuple(steps), tuple(getters), tuple(metrics), local, where)


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
    and which tasks can run on the local desktop (``runnable``, ``per_task``) and on
    OSWorld's VM (``runnable_vm``, ``per_task_vm``)."""

    total: int
    runnable: int
    setup_types: Counter
    metrics: Counter
    getters: Counter
    unsupported: Counter  # "setup download", "local missing app code" etc. -> tasks needing it
    per_task: list[Support]
    runnable_vm: int = 0
    per_task_vm: list[Support] = field(default_factory=list)


def report(tasks: Iterable[Task], *, offline: bool = False, policy: UrlPolicy = UrlPolicy()) -> Report:
    """The OSWorld support report of some tasks (local verdicts with the run's URL
    ``policy``, ``offline`` or not)."""
    tasks = list(tasks)
    setup_types: Counter = Counter()
    metrics: Counter = Counter()
    getters: Counter = Counter()
    missing: Counter = Counter()
    per_task, per_task_vm = [], []
    for task in tasks:
        setup_types.update(s.type for s in task.config)
        metrics.update(task.evaluator.funcs)
        for _, result, expected, _ in task.evaluator.aligned():
            getters.update(str(s.get("type")) for s in (result, expected) if isinstance(s, dict))
        s = support(task, offline=offline, policy=policy)
        per_task.append(s)
        per_task_vm.append(support(task, "vm"))
        for kind, names in (("setup", s.steps), ("getter", s.getters), ("metric", s.metrics), ("local", s.local)):
            missing.update(f"{kind} {n}" for n in names)
    return Report(len(tasks), sum(s.ok for s in per_task), setup_types, metrics, getters, missing, per_task,
                  sum(s.ok for s in per_task_vm), per_task_vm)


def by_domain(domains: list[str], rep: Report) -> dict[str, dict[str, int]]:
    """Per domain (in first-seen order): tasks, supported locally, supported on a VM.
    ``domains`` pairs with ``rep.per_task`` (the domain of each task, in order)."""
    table: dict[str, dict[str, int]] = {}
    for domain, local, vm in zip(domains, rep.per_task, rep.per_task_vm):
        row = table.setdefault(domain, {"tasks": 0, "local": 0, "vm": 0})
        row["tasks"] += 1
        row["local"] += local.ok
        row["vm"] += vm.ok
    return table
