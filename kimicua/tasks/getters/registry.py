"""The getter registry: OSWorld's getter types -> functions reading an episode's state.

A getter is ``getter(env, ctx, spec) -> value``; ``spec`` is the task's getter object
(``{"type": ..., ...}``) with placeholders already substituted. Each module of this
package registers its getters with ``@getter``; ``GETTERS`` is what ``evaluate`` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kimicua.tasks.registration import registrar

Getter = Callable[[Any, Any, dict[str, Any]], Any]
GETTERS: dict[str, Getter] = {}
# OSWorld's getter types this runtime does not implement, and why.
UNSUPPORTED_GETTERS = {
    "googledrive_file": "reads OSWorld's Google Drive account (its settings file with OAuth credentials)",
}

getter = registrar(GETTERS, "getter")
