"""Scripted solutions: task steps resolved into Actions against the live screen.

A step is an Action's JSON plus an optional ``target`` that supplies its point, so
nothing is tied to one screen size:
- ``{"selector": "#save"}``: a page element's box (the browser reports it in screen
  logical pixels);
- ``{"window": "Mousepad", "by_class": false}``: a window's geometry;
- ``{"screen": true}``: the whole screen;
each with ``at`` = [fx, fy] fractions of the box (default the centre) and ``offset``
= [dx, dy] logical px added after. Steps resolve one at a time, just before they
are played, because pages and windows move after each action.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from kimicua.env.actions import Action, action_from_json
from kimicua.tasks.context import RunContext, substitute
from kimicua.tasks.schema import SolutionStep, Task

TARGET_TIMEOUT_S = 10.0

Box = tuple[float, float, float, float]


class SolutionError(RuntimeError):
    """A solution step whose target could not be found (one line)."""


def _poll(find, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            found = find()
        except Exception as err:  # noqa: BLE001 - a navigation can destroy the page mid-query
            found, last_error = None, f" (last error: {str(err).splitlines()[0] if str(err) else type(err).__name__})"
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise SolutionError(f"{what} not found after {timeout:g}s{last_error}")
        time.sleep(0.1)


def _window_box(env, name: str, by_class: bool) -> Box | None:
    key = name.lower()
    for w in env.windows():
        text = (w.wm_class if by_class else w.name) or ""
        if key in text.lower() and w.width > 0 and w.height > 0:
            return (w.x, w.y, w.width, w.height)
    return None


def target_box(env, target: dict[str, Any], timeout: float | None = None) -> Box:
    """The box (x, y, w, h) in screen logical px that a target names, waiting for it."""
    timeout = TARGET_TIMEOUT_S if timeout is None else timeout
    if "selector" in target:
        sel = target["selector"]
        box = _poll(lambda: env.element_box(sel), f"element {sel!r}", timeout)
        return tuple(float(v) for v in box)  # type: ignore[return-value]
    if "window" in target:
        name, by_class = target["window"], bool(target.get("by_class", False))
        return _poll(lambda: _window_box(env, name, by_class), f"window {name!r}", timeout)
    if target.get("screen"):
        return (0.0, 0.0, float(env.screen.width), float(env.screen.height))
    raise SolutionError(f"target needs 'selector', 'window' or 'screen': {target!r:.100}")


def target_point(env, target: dict[str, Any]) -> tuple[float, float]:
    """The point a target names: ``at`` fractions of its box plus ``offset`` px."""
    x, y, w, h = target_box(env, target)
    fx, fy = target.get("at", (0.5, 0.5))
    dx, dy = target.get("offset", (0.0, 0.0))
    return x + fx * w + dx, y + fy * h + dy


def resolve_step(step: SolutionStep, env, ctx: RunContext) -> Action:
    """One step as an Action, its point found on the live screen now."""
    variables = ctx.variables()
    data = substitute(step.action_fields(), variables)
    if step.target is not None:
        data["x"], data["y"] = target_point(env, substitute(step.target, variables))
    if step.start_target is not None:
        data["start_x"], data["start_y"] = target_point(env, substitute(step.start_target, variables))
    return action_from_json(data)


def solution_actions(task: Task, env, ctx: RunContext) -> Iterator[Action]:
    """Yield the task's scripted solution lazily, each step resolved when asked for."""
    steps = task.kimicua.solution if task.kimicua else []
    if not steps:
        raise SolutionError(f"task {task.id} has no scripted solution")
    for step in steps:
        yield resolve_step(step, env, ctx)
