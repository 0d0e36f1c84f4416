"""Model backends behind the Policy contract, and ``make_policy`` which picks one.

``--model`` accepts:
- ``http://...`` / ``https://...``: an OpenAI-compatible server (ServerPolicy);
- ``scripted``: play the ``actions`` option (ScriptedPolicy);
- ``tiny``: a tiny random Kimi-VL, written once under $KIMICUA_CACHE (default
  ~/.cache/kimicua)/tiny; its actions are random, for wiring checks only;
- a checkpoint directory, or a hub id ``owner/name``: Kimi-VL in process (LocalPolicy).

A name that can only be a path (it starts with ``/``, ``.`` or ``~``, or holds more than one
``/``) and is not a directory is reported as such, never looked up on the hub. A checkpoint
that fails to load raises the model package's CheckpointError (a ValueError, one line).
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kimicua.agent.backends.errors import BackendError
from kimicua.agent.backends.local import LocalPolicy  # imports torch only when built
from kimicua.agent.backends.scripted import ScriptedPolicy
from kimicua.agent.backends.server import ServerPolicy
from kimicua.agent.policy import Policy

__all__ = ["BackendError", "LocalPolicy", "ScriptedPolicy", "ServerPolicy", "make_policy", "tiny_checkpoint"]

TINY_NOTICE = "model 'tiny' has random weights: its actions are random (for wiring checks only)"
MODEL_FORMS = "a http(s):// server URL, 'scripted', 'tiny', a checkpoint directory or a hub id owner/name"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def cache_dir() -> Path:
    """$KIMICUA_CACHE, else ~/.cache/kimicua."""
    env = os.environ.get("KIMICUA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "kimicua"


def tiny_checkpoint() -> Path:
    """The tiny random checkpoint, written on first use.

    Written into a temporary sibling and renamed into place, so concurrent runs (a Ray
    suite) never load a half-written checkpoint; the loser of the race discards its copy.
    """
    from kimicua.model.tiny import write_tiny_checkpoint

    target = cache_dir() / "tiny"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=target.parent))
    try:
        write_tiny_checkpoint(tmp, seed=0)
        os.rename(tmp, target)
    except OSError:
        if not (target / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def make_policy(model: str, /, **options: Any) -> Policy:
    """The policy that ``model`` names (see the module docstring); options go to its
    constructor, None-valued ones dropped so an unset CLI flag keeps the default.
    ``model`` is positional-only: the server backend has a ``model`` option of its own."""
    options = {k: v for k, v in options.items() if v is not None}
    text = str(model).strip()
    if text.startswith(("http://", "https://")):
        return _build(ServerPolicy, "server", text, options)
    if text == "scripted":
        if "actions" not in options:
            raise ValueError("model 'scripted' needs the actions to play (the actions option)")
        return _build(ScriptedPolicy, "scripted", options.pop("actions"), options)
    if text == "tiny":
        policy = _build(LocalPolicy, "tiny", tiny_checkpoint(), options)
        policy.name, policy.notice = "tiny", TINY_NOTICE
        return policy
    path = Path(text).expanduser()
    if text and "://" not in text:
        if path.is_dir():
            return _build(LocalPolicy, "local", path, options)
        if is_path_only(text):
            problem = "not a checkpoint directory (a file)" if path.exists() else "no such checkpoint directory"
            raise ValueError(f"{path}: {problem} (--model {text!r} is a path, not a hub id owner/name)")
        if _HUB_ID.match(text):
            return _build(LocalPolicy, "local", text, options)
    raise ValueError(f"unknown model {text!r}: expected {MODEL_FORMS}")


def is_path_only(text: str) -> bool:
    """Whether a --model can only be a local path: it starts with '/', '.' or '~', or holds
    more than one '/' (the same rule as kimicua.model.files.is_path_only)."""
    return text.startswith(("/", ".", "~")) or text.count("/") > 1


def _build(cls: type, kind: str, first: Any, options: dict[str, Any]) -> Any:
    """cls(first, **options), naming the options that this backend does not take."""
    params = inspect.signature(cls).parameters
    accepted = list(params)[1:]  # the first parameter is `first`
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"the {kind} backend does not take {', '.join(unknown)}; it takes {', '.join(accepted)}")
    return cls(first, **options)
