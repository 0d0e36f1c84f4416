"""Thunderbird metrics (OSWorld's thunderbird.py): prefs.js values, message filters
(msgFilterRules.dat) and mail folders (mbox files)."""

from __future__ import annotations

import json
import re
from typing import Any

from kimicua.tasks.metrics.registry import metric
from kimicua.tasks.metrics.value_rules import match_rule

_PREF = re.compile(r'^user_pref\("(?P<key>(?:[^"]|\\")+)", (?P<val>.+)\);$')
# One condition of a filter: "AND (subject,contains,discount)", or the catch-all "ALL".
_CONDITION = re.compile(r"\b(?:AND|OR) \((?:[\w ]+),(?:[\w ']+),(?:\"(?:(?:[^\"]|\")+)\"|(?:[^)]+))\)|\bALL\b")
# msgFilterRules.dat field -> the slice of its line that holds the quoted value.
_FILTER_FIELDS = {"name": 6, "enabled": 9, "type": 6, "action": 8, "actionValue": 13, "condition": 11}


@metric
def check_thunderbird_prefs(result: Any, rules: dict[str, dict[str, Any]]) -> float:
    """Each ``expect`` pref must be set (a ``user_pref`` line, value read as JSON) to a value
    satisfying its rule; no ``unexpect`` pref may satisfy its rule. The last line wins."""
    if result is None:
        return 0.0
    expect, unexpect = rules.get("expect", {}), rules.get("unexpect", {})
    met = {key: False for key in expect}
    forbidden = False
    with open(result, encoding="utf-8") as f:
        for line in f:
            found = _PREF.match(line.strip())
            if found is None:
                continue
            # Every value is read as JSON, as OSWorld does: one that is not fails the check.
            key, value = found.group("key"), json.loads(found.group("val"))
            if key in expect:
                met[key] = match_rule(value, expect[key])
            elif key in unexpect and match_rule(value, unexpect[key]):
                forbidden = True
    return float(all(met.values()) and not forbidden)


def _unescape(value: str) -> str:
    return value.replace('\\"', '"').replace("\\\\", "\\")


def read_filters(path: str) -> list[dict[str, Any]]:
    """The filters of a msgFilterRules.dat, each {name, enabled, type, action, actionValue,
    condition: [conditions]}; a filter is complete at its ``condition=`` line."""
    filters: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            field = line.split("=", 1)[0]
            if "=" not in line or field not in _FILTER_FIELDS:
                continue
            # Values are quoted: field="value"\n; OSWorld cuts the closing quote and newline.
            value = _unescape(line[_FILTER_FIELDS[field]:-2])
            if field == "name":
                current = {"name": value}
            elif field == "condition":
                current["condition"] = _CONDITION.findall(value)
                filters.append(current)
            else:
                current[field] = value
    return filters


def _matches(pattern: dict[str, Any], item: dict[str, Any]) -> bool:
    return all(k in item and item[k] == v for k, v in pattern.items())


@metric
def check_thunderbird_filter(result: Any, rules: dict[str, list[dict[str, Any]]]) -> float:
    """Every ``expect`` pattern matches some filter (all its fields equal) and no filter
    matches an ``unexpect`` pattern."""
    if result is None:
        return 0.0
    filters = read_filters(result)
    expected = all(any(_matches(r, flt) for flt in filters) for r in rules.get("expect", []))
    forbidden = any(_matches(r, flt) for flt in filters for r in rules.get("unexpect", []))
    return float(expected and not forbidden)


def _folder_text(path: str, options: dict[str, Any]) -> str:
    """The folder's messages (split at "FROM - "), normalised, sorted, joined by newlines."""
    with open(path, encoding="utf-8") as f:
        data = f.read().strip()
    messages = []
    for mail in data.split("FROM - "):
        if not mail.strip():
            continue
        if options.get("remove_deleted", True) and re.search(r"X-Mozilla-Status: 000[89]", mail):
            continue
        if options.get("ignore_status", False):
            mail = re.sub(r"X-Mozilla-Status\d?:[\s\d]+", "", mail)
        if options.get("ignore_keys", False):
            mail = re.sub(r"(X-Mozilla-Keys:[^\n]*?)\n(MIME-Version)", r"\2", mail)
        messages.append("FROM - " + mail.strip())
    if options.get("remove_duplicate", True):
        messages = list(set(messages))
    return "\n".join(sorted(messages))


@metric
def check_thunderbird_folder(result: Any, reference: Any, **options: Any) -> float:
    """1 when each folder file holds the same messages as its reference (options:
    remove_deleted and remove_duplicate, default on; ignore_status, ignore_keys)."""
    results, references = (result, reference) if isinstance(reference, list) else ([result], [reference])
    for ours, gold in zip(results, references):
        if ours is None:
            return 0.0
        if _folder_text(ours, options) != _folder_text(gold, options):
            return 0.0
    return 1.0
