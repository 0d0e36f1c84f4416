"""Run one function of a task's test file and print ``__SCORE__:<0..1>`` (a truthy or
falsy result becomes 1 or 0, a number is clipped). check_python_file_by_test_suite runs
this in a child process, so the test's imports, working directory and crashes stay there.

Usage: python -P suite_runner.py TEST_FILE FUNCTION_NAME (-P: this folder stays off sys.path)
"""

from __future__ import annotations

import importlib.util
import os
import sys


def score(result: object) -> float:
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        return float(bool(result))
    return max(0.0, min(1.0, float(result)))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: suite_runner TEST_FILE FUNCTION_NAME", file=sys.stderr)
        return 2
    path, name = os.path.abspath(argv[0]), argv[1]
    folder = os.path.dirname(path)
    os.chdir(folder)
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("__osworld_test__", path)
    if spec is None or spec.loader is None:
        print(f"suite_runner: cannot load {path}", file=sys.stderr)
        return 1
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    print(f"__SCORE__:{score(getattr(module, name)())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
