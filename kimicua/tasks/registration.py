"""Name -> function tables filled by decorators (the getter and the metric registries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def registrar(table: dict[str, F], kind: str) -> Callable[..., Any]:
    """A decorator that registers a function in ``table`` under its own name (or ``name``):
    ``@register`` or ``@register(name=...)``; a second function under one name is an error
    naming the ``kind`` of function and the name."""

    def register_as(fn: F | None = None, *, name: str | None = None) -> Any:
        def register(f: F) -> F:
            key = name or f.__name__
            if key in table and table[key] is not f:
                raise ValueError(f"{kind} {key!r} registered twice")
            table[key] = f
            return f

        return register(fn) if fn is not None else register

    register_as.__doc__ = (f"Register ``fn`` under its own name (or ``name``): ``@{kind}`` or "
                           f"``@{kind}(name=...)``.")
    return register_as
