"""Desktop metrics (OSWorld's basic_os.py and general.py's check_accessibility_tree):
clipboard, time zone, GNOME favourites, moved files, and the accessibility tree."""

from __future__ import annotations

import ast
from typing import Any

from kimicua.tasks.metrics.registry import metric

# The namespaces of OSWorld's accessibility-tree XML, by the prefixes its rules use.
A11Y_NAMESPACES = {
    "ubuntu": {p: f"https://accessibility.ubuntu.example.org/ns/{s}" for p, s in (
        ("st", "state"), ("attr", "attributes"), ("cp", "component"), ("doc", "document"),
        ("docattr", "document/attributes"), ("txt", "text"), ("val", "value"), ("act", "action"))},
    "windows": {p: f"https://accessibility.windows.example.org/ns/{s}" for p, s in (
        ("st", "state"), ("attr", "attributes"), ("cp", "component"), ("doc", "document"),
        ("docattr", "document/attributes"), ("txt", "text"), ("val", "value"), ("act", "action"),
        ("class", "class"))},
    "macos": {p: f"https://accessibility.macos.example.org/ns/{s}" for p, s in (
        ("st", "state"), ("attr", "attributes"), ("cp", "component"), ("doc", "document"),
        ("txt", "text"), ("val", "value"), ("act", "action"), ("role", "role"))},
}


@metric
def is_in_vm_clickboard(rules: dict[str, Any], clipboard: Any) -> float:
    """The clipboard text contains ``rules["expected"]`` (a string, or each of a list)."""
    want = rules["expected"]
    if isinstance(want, list):
        return float(all(w in clipboard for w in want))
    return float(want in clipboard)


@metric
def is_utc_0(timedatectl_output: Any) -> float:
    """The fourth line of ``timedatectl status`` (the time zone) ends with "+0000)"."""
    lines = timedatectl_output.split("\n")
    if len(lines) < 4:
        raise ValueError(f"is_utc_0: expected timedatectl's status lines, got {timedatectl_output!r}")
    return float(lines[3].endswith("+0000)"))


@metric
def check_gnome_favorite_apps(apps_text: Any, rule: dict[str, Any]) -> float:
    """gsettings' favourite-apps list (Python literal syntax) holds exactly the expected apps, in any order."""
    apps = ast.literal_eval(apps_text.strip())
    if not isinstance(apps, list):
        raise ValueError(f"check_gnome_favorite_apps: not a list: {apps_text!r}")
    expected = rule["expected"]
    return float(len(apps) == len(expected) and set(apps) == set(expected))


@metric
def check_moved_jpgs(directory: Any, rule: dict[str, Any]) -> float:
    """The folder holds exactly the expected file names. ``directory`` is OSWorld's
    list_directory tree ({"children": [{"name": ...}]}) or a list of names."""
    if isinstance(directory, dict):
        names = [node["name"] for node in directory["children"]]
    else:
        names = list(directory)
    expected = rule["expected"]
    return float(len(names) == len(expected) and set(names) == set(expected))


def _select(tree: Any, rule: dict[str, Any], namespaces: dict[str, str]) -> list[Any]:
    if "xpath" in rule:
        return tree.xpath(rule["xpath"], namespaces=namespaces)
    if "selectors" in rule:
        from lxml.cssselect import CSSSelector

        return CSSSelector(", ".join(rule["selectors"]), namespaces=namespaces)(tree)
    raise ValueError("check_accessibility_tree: a rule needs 'xpath' or 'selectors'")


@metric
def check_accessibility_tree(result: Any, rules: list[dict[str, Any]], osname: str = "ubuntu") -> float:
    """Every rule (an ``xpath``, or CSS ``selectors`` joined by ", "; namespaces attr:, st:,
    ...) must select at least one element. With ``text`` the rule scores the best match of
    an element's text: equality (``exact``, the default) or fuzzy ratio in 0..1. The score
    is the product over the rules."""
    import lxml.etree

    namespaces = A11Y_NAMESPACES[osname]
    tree = lxml.etree.fromstring(result.encode("utf-8") if isinstance(result, str) else result)
    total = 1.0
    for rule in rules:
        elements = _select(tree, rule, namespaces)
        if not elements:
            return 0.0
        if "text" not in rule:
            continue
        if rule.get("exact", True):
            best = float(any((e.text or "") == rule["text"] for e in elements))
        else:
            from rapidfuzz import fuzz

            best = max(fuzz.ratio(rule["text"], e.text or "") / 100 for e in elements)
        total *= best
    return total
