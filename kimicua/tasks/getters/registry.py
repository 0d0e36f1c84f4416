"""The getter registry: OSWorld's getter types -> functions reading an episode's state.

A getter is ``getter(env, ctx, spec) -> value``; ``spec`` is the task's getter object
(``{"type": ..., ...}``) with placeholders already substituted. Each module of this
package registers its getters with ``@getter``; ``GETTERS`` is what ``evaluate`` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Getter = Callable[[Any, Any, dict[str, Any]], Any]
GETTERS: dict[str, Getter] = {}
# OSWorld's getter types this runtime does not implement, and why.
UNSUPPORTED_GETTERS = {
    "googledrive_file": "reads OSWorld's Google Drive account (its settings file with OAuth credentials)",
}


def getter(fn: Getter | None = None, *, name: str | None = None) -> Any:
    """Register ``fn`` under its own name (or ``name``): ``@getter`` or ``@getter(name=...)``."""

    def register(f: Getter) -> Getter:
        key = name or f.__name__
        if key in GETTERS and GETTERS[key] is not f:
            raise ValueError(f"getter {key!r} registered twice")
        GETTERS[key] = f
        return f

    return register(fn) if fn is not None else register
