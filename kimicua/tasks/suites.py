"""The built-in suites: package data in OSWorld's layout (``builtin/<domain>/<id>.json``
and suite maps ``builtin/test_*.json``), plus lookup of a suite by name or path."""

from __future__ import annotations

from pathlib import Path

from kimicua.tasks.osworld import Loaded, load_path, load_suite
from kimicua.tasks.schema import TaskError

BUILTIN = Path(__file__).parent / "builtin"


def builtin_suites() -> list[str]:
    """Names of the built-in suites ("all", "small", ...)."""
    return sorted(p.stem.removeprefix("test_") for p in BUILTIN.glob("test_*.json"))


def load_builtin(name: str = "all") -> Loaded:
    """A built-in suite by name."""
    path = BUILTIN / f"test_{name}.json"
    if not path.is_file():
        raise TaskError(f"no built-in suite {name!r}; choose from {', '.join(builtin_suites())}")
    return load_suite(path)


def resolve(suite: str | Path) -> Loaded:
    """A built-in suite name, or a path: task file, suite file, or folder of tasks."""
    if isinstance(suite, str) and suite in builtin_suites():
        return load_builtin(suite)
    path = Path(suite)
    if not path.exists():
        raise TaskError(f"{suite}: neither a built-in suite ({', '.join(builtin_suites())}) nor a path")
    return load_path(path)
