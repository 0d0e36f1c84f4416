"""Settings-file metrics (OSWorld's vscode.py, general.py's check_json and gimp.py's
check_config_status): JSON / YAML values, VS Code keybindings and extensions, gimprc lines."""

from __future__ import annotations

import json
from typing import Any

from kimicua.tasks.metrics.registry import metric
from kimicua.tasks.metrics.value_rules import match_rule

_MISSING = object()


def _load_json(path: str, skip_first_line: bool = False) -> Any:
    with open(path, encoding="utf-8") as f:
        if skip_first_line:
            f.readline()
        return json.load(f)


@metric
def check_json_settings(actual: Any, expected: dict[str, Any]) -> float:
    """1 when the JSON file has every key of ``expected["expected"]`` with an equal value."""
    if not actual:
        return 0.0
    try:
        data = _load_json(actual)
    except (OSError, ValueError):
        return 0.0
    want: dict[str, Any] = expected["expected"]
    return float(isinstance(data, dict) and all(k in data and data[k] == v for k, v in want.items()))


@metric
def check_json_keybindings(actual: Any, expected: dict[str, Any]) -> float:
    """1 when ``expected["expected"]`` is one of the bindings in keybindings.json (a JSON
    list; a first comment line, as VS Code writes, is skipped if needed)."""
    if not actual:
        return 0.0
    for skip in (False, True):
        try:
            data = _load_json(actual, skip_first_line=skip)
        except (OSError, ValueError):
            continue
        if isinstance(data, list):
            return float(expected["expected"] in data)
    return 0.0


def _lookup(data: Any, keys: list[Any]) -> Any:
    for key in keys:
        try:
            data = data[key]
        except KeyError:
            return _MISSING
    return data


@metric
def check_json(result: Any, rules: dict[str, Any], is_yaml: bool = False) -> float:
    """Value rules on a JSON (or YAML) file: each ``expect`` item's ``key`` path must exist
    and its value satisfy the item's method/ref; no ``unexpect`` item may match."""
    if result is None:
        return 0.0
    with open(result, encoding="utf-8") as f:
        if is_yaml:
            import yaml

            data = yaml.safe_load(f)
        else:
            data = json.load(f)
    for rule in rules.get("expect", []):
        value = _lookup(data, rule["key"])
        if value is _MISSING or not match_rule(value, rule):
            return 0.0
    for rule in rules.get("unexpect", []):
        value = _lookup(data, rule["key"])
        if value is not _MISSING and match_rule(value, rule):
            return 0.0
    return 1.0


def _is_subset(expected: Any, actual: Any) -> bool:
    """Dicts: every expected key present with a subset value; anything else: equality."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _is_subset(v, actual[k]) for k, v in expected.items())
    return expected == actual


@metric
def compare_config(actual: Any, rules: dict[str, Any], **options: Any) -> float:
    """The file against ``rules["expected"]`` (text). With ``containment_ok`` (the default)
    the expected JSON must be a subset of the file's JSON, or, when either is not JSON,
    the expected text (stripped) must occur in the file. Without it the texts must be
    equal, or equal as JSON."""
    expected = rules.get("expected")
    if not actual or not expected:
        return 0.0
    with open(actual, encoding="utf-8") as f:
        text = f.read()
    if options.get("containment_ok", True):
        try:
            return float(_is_subset(json.loads(expected), json.loads(text)))
        except ValueError:
            return float(expected.strip() in text)
    if text == expected:
        return 1.0
    try:
        return float(json.loads(text) == json.loads(expected))
    except ValueError:
        return 0.0


@metric
def is_extension_installed(actual: Any, rules: dict[str, Any]) -> float:
    """``type`` "contain": the expected name occurs in the command output; "not_contain": it does not."""
    kind = rules["type"]
    if kind == "contain":
        return float(rules["expected"] in actual)
    if kind == "not_contain":
        return float(rules["expected"] not in actual)
    raise ValueError(f"is_extension_installed: unknown rule type {kind!r}")


@metric
def check_config_status(actual: Any, rule: dict[str, Any]) -> float:
    """1 when a line of a GIMP config (gimprc, sessionrc) reads ``(KEY ... VALUE)``: its
    first word is ``rule["key"]`` (or its two first words the two-item key) and its last
    word is ``rule["value"]``. Comment and empty lines are skipped."""
    if actual is None:
        return 0.0
    key, value = rule["key"], rule["value"]
    with open(actual, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or line == "\n":
                continue
            words = line.strip().lstrip("(").rstrip(")\n").split()
            if not words:
                raise ValueError(f"check_config_status: blank line {line!r} in {actual}")
            if isinstance(key, str) and words[0] == key and words[-1] == value:
                return 1.0
            if isinstance(key, list) and len(key) == 2 and words[:2] == key and words[-1] == value:
                return 1.0
    return 0.0
