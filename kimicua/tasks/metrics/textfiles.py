"""CSV and plain-text result files: compare_csv, check_csv, compare_result_files.

A missing result (None) scores 0, as in OSWorld.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kimicua.tasks.metrics.registry import metric


def read_lines(path: Any) -> list[str]:
    """A text file's lines: UTF-8 (a BOM dropped), else Latin-1, which reads any bytes
    (OSWorld tries a list of encodings whose first Latin-1 entry always succeeds)."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.splitlines()


@metric
def compare_csv(result: Any, expected: Any, **options: Any) -> float:
    """1 when the result's lines equal those of the expected file, or of any one of a
    list of expected files. Options: ``strict`` (default True; False strips each line),
    ``ignore_case``."""
    if result is None:
        return 0.0
    try:
        lines = read_lines(result)
    except OSError:
        return 0.0

    def normal(rows: list[str]) -> list[str]:
        if not options.get("strict", True):
            rows = [r.strip() for r in rows]
        if options.get("ignore_case", False):
            rows = [r.lower() for r in rows]
        return rows

    for candidate in [expected] if isinstance(expected, (str, Path)) else list(expected or []):
        if candidate is None:
            continue
        try:
            if normal(lines) == normal(read_lines(candidate)):
                return 1.0
        except OSError:
            continue
    return 0.0


def _matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    return all(k in record and record[k] == v for k, v in pattern.items())


@metric
def check_csv(result: Any, rules: dict[str, Any]) -> float:
    """1 when every ``rules["expect"]`` record (a dict of column: value) matches some row
    of the CSV file and no row matches any ``rules["unexpect"]`` record."""
    if result is None:
        return 0.0
    expect = rules.get("expect", [])
    unexpect = rules.get("unexpect", [])
    found = [False] * len(expect)
    with open(result, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found = [hit or _matches(p, row) for hit, p in zip(found, expect)]
            if any(_matches(p, row) for p in unexpect):
                return 0.0
    return float(all(found))


@metric
def compare_result_files(result: Any, expected: Any) -> float:
    """1 when two text files hold the same answer: the expected text appears in the
    result, or both are numbers within 1e-4, or (not numbers) the stripped texts are equal."""
    if not result or not expected:
        return 0.0
    try:
        got = Path(result).read_text(encoding="utf-8").strip()
        want = Path(expected).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return 0.0
    try:
        want_number = float(want)
        if want in got:
            return 1.0
        return float(abs(float(got) - want_number) < 1e-4)
    except ValueError:
        return float(got == want)
