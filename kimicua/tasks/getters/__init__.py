"""Evaluator getters: read the state an episode left behind (OSWorld names), one module
per kind of state (see ``registry`` for the calling convention)."""

from kimicua.tasks.getters import local  # noqa: F401  (registers its getters)
from kimicua.tasks.getters import a11y, apps, chrome, chrome_prefs, desktop, relative_time  # noqa: F401
from kimicua.tasks.getters import slides  # noqa: F401
from kimicua.tasks.getters.registry import GETTERS, UNSUPPORTED_GETTERS, getter

__all__ = ["GETTERS", "UNSUPPORTED_GETTERS", "getter"]
