"""General metrics: matching values, rules, URLs, JSON objects and text files.

``expected`` is usually a ``rule`` getter's ``rules`` dict. Scores are floats in 0..1.
A missing result (None: the file or page did not exist) scores 0, as in OSWorld.
``infeasible`` is not here: ``evaluate`` scores it from the agent's last action.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kimicua.tasks.metrics.registry import metric


def _read(path: Any) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@metric
def exact_match(result: Any, rules: dict[str, Any]) -> float:
    return float(result == rules["expected"])


@metric
def match_in_list(result: Any, rules: dict[str, Any]) -> float:
    """1 when the result is one of the expected values."""
    return float(result in rules["expected"])


@metric
def is_in_list(result: Any, rules: dict[str, Any]) -> float:
    """1 when the expected value is an element of the result (a list)."""
    if result is None:
        return 0.0
    return float(rules["expected"] in result)


@metric
def check_include_exclude(result: Any, rules: dict[str, Any]) -> float:
    """1 when every ``include`` item is in the result and no ``exclude`` item is."""
    if result is None:
        return 0.0
    include = rules.get("include", [])
    exclude = rules.get("exclude", [])
    return float(all(i in result for i in include) and all(e not in result for e in exclude))


@metric
def fuzzy_match(result: Any, rules: dict[str, Any]) -> float:
    """Similarity ratio of two strings (difflib; OSWorld uses rapidfuzz's ratio/100)."""
    if result is None:
        return 0.0
    return difflib.SequenceMatcher(None, str(result), str(rules["expected"])).ratio()


@metric
def is_expected_url_pattern_match(result: Any, rules: dict[str, Any]) -> float:
    """1 when every regex in ``rules["expected"]`` is found in the URL."""
    if not result:
        return 0.0
    url = result["url"] if isinstance(result, dict) else result
    return float(all(re.search(p, url) for p in rules["expected"]))


def _norm_url(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return parts.scheme.lower(), host, parts.path.rstrip("/") or "/", parts.query


@metric
def is_expected_active_tab(result: Any, rules: dict[str, Any]) -> float:
    """1 when the active tab's URL equals ``rules["url"]`` (case of the host, a
    leading www. and a trailing slash ignored)."""
    if not result or rules.get("type") != "url":
        return 0.0
    url = result.get("url") if isinstance(result, dict) else result
    return float(bool(url) and _norm_url(url) == _norm_url(rules["url"]))


@metric
def literal_match(result: Any, expected: Any, **options: Any) -> float:
    """String or list equality, optionally ignoring case (``type``: str | list)."""
    kind = options.get("type", "str")
    fold = (lambda s: str(s).lower()) if options.get("ignore_case", False) else str
    if kind == "str":
        return float(fold(result) == fold(expected))
    if kind == "list":
        if not isinstance(result, (list, tuple)) or not isinstance(expected, (list, tuple)):
            return 0.0
        return float(len(result) == len(expected) and [fold(r) for r in result] == [fold(e) for e in expected])
    raise ValueError(f"literal_match type must be 'str' or 'list', got {kind!r}")


@metric
def check_direct_json_object(result: Any, rules: dict[str, Any]) -> float:
    """Compare a JSON object (or its text, single quotes allowed) with ``rules["expected"]``.

    By default every expected key must equal the result's value (``ignore_list_order``
    sorts lists first). With ``expect_in_result`` an expected string must be a
    substring of the result's value and an expected list must share an item with it.
    """
    if isinstance(result, str):
        try:
            result = json.loads(result.strip().replace("'", '"'))
        except json.JSONDecodeError:
            return 0.0
    if not isinstance(result, dict):
        return 0.0
    expected: dict[str, Any] = rules["expected"]
    if not rules.get("expect_in_result", False):
        for key, want in expected.items():
            got = result.get(key)
            if rules.get("ignore_list_order", False) and isinstance(want, list) and isinstance(got, list):
                want, got = sorted(want), sorted(got)
            if want != got:
                return 0.0
        return 1.0
    for key, want in expected.items():
        got = result.get(key)
        if isinstance(want, list):
            if not (isinstance(got, list) and any(w in got for w in want)):
                return 0.0
        elif isinstance(want, str):
            if not isinstance(got, str) or want not in got:
                return 0.0
        else:
            return 0.0
    return 1.0


def _normalise_text(text: str, options: dict[str, Any]) -> str:
    if options.get("ignore_blanks", False):
        text = re.sub(r"\s+", " ", re.sub(r"[\t\n]", " ", text).strip())
    if options.get("ignore_case", False):
        text = text.lower()
    return text


@metric
def compare_text_file(actual: Any, expected: Any, **options: Any) -> float:
    """1 when two text files are equal (options: ignore_blanks, ignore_case)."""
    a, e = _read(actual), _read(expected)
    if a is None or e is None:
        return 0.0
    return float(_normalise_text(a, options) == _normalise_text(e, options))


@metric
def diff_text_file(actual: Any, expected: Any) -> float:
    """Line-level similarity of two text files (difflib ratio)."""
    a, e = _read(actual), _read(expected)
    if a is None or e is None:
        return 0.0
    return difflib.SequenceMatcher(None, a.splitlines(), e.splitlines()).ratio()


@metric
def file_contains(actual: Any, rules: dict[str, Any]) -> float:
    """1 when the file contains every string in ``rules["expected"]``."""
    text = _read(actual)
    if text is None:
        return 0.0
    return float(all(s in text for s in rules["expected"]))
