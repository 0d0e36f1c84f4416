"""The metric calls OSWorld's task files make, for the call-shape tests: which metric each
task calls, whether it passes an expected value, and with which options."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from kimicua.tasks.metrics import METRICS

OSWORLD = Path(__file__).resolve().parents[4] / "shared" / "osworld" / "examples"

needs_tasks = pytest.mark.skipif(not OSWORLD.is_dir(), reason="OSWorld task files not present")


def calls(names: Iterable[str]) -> Iterator[tuple[str, str, bool, dict]]:
    """(task id prefix, metric, has expected, options) of each call to a metric in ``names``;
    a task with a list of metrics gives each its own expected and options."""
    for path in sorted(OSWORLD.glob("*/*.json")):
        evaluator = json.loads(path.read_text())["evaluator"]
        many = isinstance(evaluator["func"], list)
        funcs = evaluator["func"] if many else [evaluator["func"]]
        for i, func in enumerate(funcs):
            if func not in names:
                continue
            expected, options = evaluator.get("expected"), evaluator.get("options")
            if many:
                expected = expected[i] if isinstance(expected, list) else expected
                options = options[i] if isinstance(options, list) else options
            yield path.stem[:8], func, bool(expected), options or {}


def unbound(seen: Iterable[tuple[str, str, bool, dict]]) -> list[str]:
    """The calls our metric does not accept: "task metric: why" for each."""
    problems = []
    for task, func, has_expected, options in seen:
        args = ("result", "expected") if has_expected else ("result",)
        try:
            inspect.signature(METRICS[func]).bind(*args, **options)
        except TypeError as err:
            problems.append(f"{task} {func}: {err}")
    return problems
