"""Judge a finished episode with OSWorld's evaluator semantics.

- ``func == "infeasible"``: 1 only when the agent's last action was Fail.
- Any other task: a final Fail scores 0; otherwise ``postconfig`` runs, then each
  metric gets its result (and expected) state from the getters.
- ``conj``: "and" is the mean of the scores, short-circuiting to 0 on a 0; "or" is
  the max, short-circuiting to 1 on a 1.
A getter or metric that raises scores 0 for that metric, with the reason recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from kimicua.env.actions import Action, Fail
from kimicua.tasks.context import RunContext, substitute
from kimicua.tasks.getters import GETTERS
from kimicua.tasks.metrics import METRICS
from kimicua.tasks.schema import Evaluator
from kimicua.tasks.setup import SetupError, run_steps

SUPPORTED_METRICS = frozenset(METRICS) | {"infeasible"}
SETTLE_TIMEOUT_S = 5.0
SUPPORTED_GETTERS = frozenset(GETTERS)


class UnsupportedEvaluator(ValueError):
    """A metric or getter this runtime does not implement (named)."""


@dataclass(frozen=True)
class Evaluation:
    """The score and how it came about: per-metric scores and any errors."""

    score: float
    parts: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reason: str = ""

    def describe(self) -> str:
        """One line: the score, why, and any getter or metric errors."""
        parts = f" (parts {', '.join(f'{p:g}' for p in self.parts)})" if len(self.parts) > 1 else ""
        errors = f"; errors: {'; '.join(self.errors)}" if self.errors else ""
        return f"{self.score:g}: {self.reason}{parts}{errors}"


def unsupported(evaluator: Evaluator) -> tuple[list[str], list[str]]:
    """(unsupported metric names, unsupported getter types) of an evaluator."""
    metrics = [f for f in evaluator.funcs if f not in SUPPORTED_METRICS]
    getters = []
    for _, result, expected, _ in evaluator.aligned():
        for spec in (result, expected):
            if isinstance(spec, dict) and spec.get("type") not in SUPPORTED_GETTERS:
                getters.append(str(spec.get("type")))
    return sorted(set(metrics)), sorted(set(getters))


def _get(spec: dict[str, Any] | None, env, ctx: RunContext) -> Any:
    if spec is None:
        return None
    spec = substitute(spec, ctx.variables())
    return GETTERS[spec["type"]](env, ctx, spec)


def _score_one(func: str, result_spec, expected_spec, options, env, ctx) -> tuple[float, str | None]:
    try:
        result = _get(result_spec, env, ctx)
        expected = _get(expected_spec, env, ctx)
        metric = METRICS[func]
        value = metric(result, **options) if expected is None else metric(result, expected, **options)
        return float(value), None
    except Exception as err:  # noqa: BLE001 - a broken check scores 0, it never ends the suite
        return 0.0, f"{func}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def _settle(env, timeout: float = SETTLE_TIMEOUT_S) -> None:
    """Let a navigation the last action started finish before reading the page: a
    getter racing it would read the old URL or a destroyed JS context."""
    if env.page_url() is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if env.evaluate("document.readyState") == "complete":
                return
        except Exception:  # noqa: BLE001 - the context is being replaced; ask again
            pass
        time.sleep(0.05)


def evaluate(evaluator: Evaluator, env, ctx: RunContext, actions: Sequence[Action]) -> Evaluation:
    """Score an episode in 0..1 from the env's state and the actions it played."""
    failed = bool(actions) and isinstance(actions[-1], Fail)
    if evaluator.infeasible:
        return Evaluation(float(failed), [float(failed)], reason="infeasible: last action "
                          + ("was" if failed else "was not") + " Fail")
    if failed:
        return Evaluation(0.0, reason="the agent gave up (final Fail) on a feasible task")
    bad_metrics, bad_getters = unsupported(evaluator)
    if bad_metrics or bad_getters:
        raise UnsupportedEvaluator(
            "unsupported " + ", ".join([f"metric {m!r}" for m in bad_metrics] + [f"getter {g!r}" for g in bad_getters])
        )
    _settle(env)
    try:
        run_steps(evaluator.postconfig, env, ctx)
    except SetupError as err:
        return Evaluation(0.0, errors=[f"postconfig: {err}"], reason="postconfig failed")
    parts: list[float] = []
    errors: list[str] = []
    for func, result_spec, expected_spec, options in evaluator.aligned():
        score, error = _score_one(func, result_spec, expected_spec, options, env, ctx)
        parts.append(score)
        if error:
            errors.append(error)
        if evaluator.conj == "and" and score == 0.0:
            return Evaluation(0.0, parts, errors, reason=f"{func} scored 0")
        if evaluator.conj == "or" and score == 1.0:
            return Evaluation(1.0, parts, errors, reason=f"{func} scored 1")
    total = sum(parts) / len(parts) if evaluator.conj == "and" else max(parts)
    return Evaluation(total, parts, errors, reason=f"{evaluator.conj} of {len(parts)} metric(s)")
