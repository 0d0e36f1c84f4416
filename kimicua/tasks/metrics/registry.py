"""The metric registry: OSWorld's metric names -> our functions with its semantics.

A metric is called ``metric(result, expected, **options)``, or ``metric(result,
**options)`` when the task has no expected getter. Each module of this package
registers its metrics with ``@metric``; ``METRICS`` is the table ``evaluate`` uses.
"""

from __future__ import annotations

from collections.abc import Callable

from kimicua.tasks.registration import registrar

Metric = Callable[..., float]
METRICS: dict[str, Metric] = {}

metric = registrar(METRICS, "metric")
