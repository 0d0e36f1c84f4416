"""Output dialects: the prompt format and parser of each model family.

``get_dialect(name)`` returns the shared instance; ``DIALECTS`` lists them all.
"""

from __future__ import annotations

from kimicua.agent.dialects.base import Dialect
from kimicua.agent.dialects.computer13 import Computer13
from kimicua.agent.dialects.kimi import Kimi
from kimicua.agent.dialects.pyautogui_code import PyAutoGUICode
from kimicua.agent.dialects.qwen25vl import Qwen25VL
from kimicua.agent.dialects.uitars import UITars

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (Kimi(), UITars(version=15), UITars(version=1), Qwen25VL(), PyAutoGUICode(), Computer13())
}


def get_dialect(name: str | Dialect) -> Dialect:
    """The dialect called ``name`` (a Dialect passes through)."""
    if isinstance(name, Dialect):
        return name
    try:
        return DIALECTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dialect {name!r}; known: {', '.join(sorted(DIALECTS))}") from None


__all__ = ["DIALECTS", "Dialect", "get_dialect"]
