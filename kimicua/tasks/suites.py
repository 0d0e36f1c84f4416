"""The built-in suites: package data in OSWorld's layout (``builtin/<domain>/<id>.json``
and suite maps ``builtin/test_*.json``), plus lookup of what a user names on the
command line: a suite name, a task id, or a path.

OSWorld's own data is never assumed to be anywhere: a user names their copy (the
``evaluation_examples`` folder, or its ``examples`` folder) with ``--osworld DIR`` or
``$KIMICUA_OSWORLD``; suite files and task ids are then looked up in it.
"""

from __future__ import annotations

import os
from pathlib import Path

from kimicua.tasks.osworld import Loaded, is_suite, load_path, load_suite
from kimicua.tasks.schema import TaskError, load_task, read_json

BUILTIN = Path(__file__).parent / "builtin"
OSWORLD_ENV = "KIMICUA_OSWORLD"


def builtin_suites() -> list[str]:
    """Names of the built-in suites ("all", "small", ...)."""
    return sorted(p.stem.removeprefix("test_") for p in BUILTIN.glob("test_*.json"))


def load_builtin(name: str = "all") -> Loaded:
    """A built-in suite by name."""
    path = BUILTIN / f"test_{name}.json"
    if not path.is_file():
        raise TaskError(f"no built-in suite {name!r}; choose from {', '.join(builtin_suites())}")
    return load_suite(path)


def osworld_examples(osworld: str | Path | None = None) -> Path | None:
    """The ``examples`` folder of the OSWorld data named by ``osworld`` or
    $KIMICUA_OSWORLD (either the evaluation_examples root or examples itself)."""
    named = osworld or os.environ.get(OSWORLD_ENV)
    if not named:
        return None
    root = Path(named).expanduser()
    source = "--osworld" if osworld else f"${OSWORLD_ENV}"
    if not root.is_dir():
        raise TaskError(f"{root}: no such OSWorld data folder ({source})")
    return root / "examples" if (root / "examples").is_dir() else root


def _find_id(task_id: str, examples: Path | None) -> Loaded | None:
    """A built-in task, else an OSWorld task, with this id."""
    for path in BUILTIN.glob(f"*/{task_id}.json"):
        return Loaded([(path.parent.name, load_task(path))])
    if examples is not None:
        for path in sorted(examples.glob(f"*/{task_id}.json")):
            return Loaded([(path.parent.name, load_task(path))])
    return None


def resolve(spec: str | Path, osworld: str | Path | None = None) -> Loaded:
    """What ``spec`` names: a built-in suite, a path (task file, suite file, folder), a
    built-in or OSWorld task id, or an OSWorld suite file's name inside ``osworld``."""
    if isinstance(spec, str) and spec in builtin_suites():
        return load_builtin(spec)
    examples = osworld_examples(osworld)
    path = Path(spec)
    if not path.exists() and examples is not None and (examples.parent / spec).is_file():
        path = examples.parent / spec  # "test_small.json" beside the examples folder
    if path.exists():
        if path.is_file() and examples is not None and is_suite(read_json(path)):
            return load_suite(path, examples)
        return load_path(path)
    found = _find_id(str(spec), examples)
    if found is not None:
        return found
    where = "" if examples else f" (OSWorld task ids need --osworld DIR or ${OSWORLD_ENV})"
    raise TaskError(f"{spec}: not a built-in suite ({', '.join(builtin_suites())}), a task id or a path{where}")
