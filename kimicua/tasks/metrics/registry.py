"""The metric registry: OSWorld's metric names -> our functions with its semantics.

A metric is called ``metric(result, expected, **options)``, or ``metric(result,
**options)`` when the task has no expected getter. Each module of this package
registers its metrics with ``@metric``; ``METRICS`` is the table ``evaluate`` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Metric = Callable[..., float]
METRICS: dict[str, Metric] = {}


def metric(fn: Metric | None = None, *, name: str | None = None) -> Any:
    """Register ``fn`` under its own name (or ``name``): ``@metric`` or ``@metric(name=...)``."""

    def register(f: Metric) -> Metric:
        key = name or f.__name__
        if key in METRICS and METRICS[key] is not f:
            raise ValueError(f"metric {key!r} registered twice")
        METRICS[key] = f
        return f

    return register(fn) if fn is not None else register
