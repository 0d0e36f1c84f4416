"""Finding a checkpoint and reading its small files, with one-line errors that name the file.

Every problem with a checkpoint's files (missing, unreadable, not JSON, wrong fields, a
corrupt shard) is a ``CheckpointError`` whose message starts with the file it is about, so a
CLI can print it as one line and a caller can catch it as a ValueError.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
HUB_FILES = ["*.json", "*.safetensors", "*.model"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be found, downloaded or read, or that does not match the model.

    The message is one line and names the file (or the hub id) it is about.
    """


def one_line(text: object) -> str:
    """The first non-empty line of text (library messages often run over several)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def is_path_only(text: str) -> bool:
    """Whether a model name can only be a local path, never a hub id ``owner/name``:
    it starts with '/', '.' or '~', or holds more than one '/'."""
    return text.startswith(("/", ".", "~")) or text.count("/") > 1


def resolve(path_or_id: str | Path) -> Path:
    """A local checkpoint directory; a hub id ``owner/name`` that is not a local directory is
    downloaded (json, safetensors and tokenizer files) with huggingface_hub.

    A name that can only be a path (see ``is_path_only``) never goes to the hub.
    """
    text = str(path_or_id)
    if not text.strip():
        raise CheckpointError("no checkpoint given (an empty path)")
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise CheckpointError(f"{path}: not a checkpoint directory (a file)")
    if isinstance(path_or_id, Path) or is_path_only(text) or not HUB_ID.match(text):
        raise CheckpointError(f"{path}: no such checkpoint directory")
    return _download(text)


def _download(repo_id: str) -> Path:
    from huggingface_hub import constants, errors, snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=HUB_FILES))
    except (errors.RepositoryNotFoundError, errors.GatedRepoError, errors.RevisionNotFoundError) as e:
        reason = f"the Hugging Face hub has no such model, or it is private or gated ({type(e).__name__})"
    except errors.LocalEntryNotFoundError as e:
        if constants.is_offline_mode():
            reason = "the Hugging Face hub is switched off (HF_HUB_OFFLINE) and the model is not in the local cache"
        else:
            cause = one_line(e).removeprefix("Got: ")
            reason = f"the Hugging Face hub is unreachable ({cause}) and the model is not in the local cache"
    except Exception as e:  # noqa: BLE001 - any other hub failure also becomes one line
        reason = f"download from the Hugging Face hub failed: {type(e).__name__}: {one_line(e)}"
    raise CheckpointError(f"{repo_id}: no local directory of that name, and {reason}")


def read_json(path: Path) -> dict[str, Any]:
    """A checkpoint JSON file that must hold an object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: not JSON (not UTF-8 text)") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read it ({e.strerror or type(e).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", dict: "an object"}


def take(d: dict[str, Any], key: str, kind: type, where: str = "", *, minimum: float | None = None,
         length: int | None = None) -> Any:
    """``d[key]`` checked to be of ``kind`` (a list of ``length`` such values when length is
    given), at least ``minimum``; ValueError naming ``where.key`` otherwise."""
    name = f"{where}.{key}" if where else key
    if key not in d:
        raise ValueError(f"{name} is missing")
    value = d[key]
    if length is not None:
        if not isinstance(value, list) or len(value) != length:
            raise ValueError(f"{name} is {_show(value)}, expected a list of {length} numbers")
        return tuple(_check(v, kind, f"{name}[{i}]", minimum) for i, v in enumerate(value))
    return _check(value, kind, name, minimum)


def _check(value: Any, kind: type, name: str, minimum: float | None) -> Any:
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise ValueError(f"{name} is {_show(value)}, expected {_KINDS[kind]}")
    if minimum is not None and not value >= minimum:  # `not >=` also rejects NaN
        raise ValueError(f"{name} is {value!r}, expected at least {minimum}")
    return value


def _show(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
