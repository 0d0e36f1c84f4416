"""OSWorld's ``{"method": ..., "ref": ...}`` value rules (its ``_match_value_to_rule``).

Methods: ``eq ne lt le gt ge`` (Python comparison, value on the left), ``re[.FLAG...]``
(``re.search(ref, value)`` with flags by name, e.g. ``re.I``), ``approx:T`` (|value - ref|
<= T, a value that is not a number fails), ``range.XY`` (``ref[0] <X value <Y ref[1]``
with ``t`` for < and ``e`` for <=), ``spreadsheet_range`` (a cell range that covers
``ref[0]`` and lies within ``ref[1]``), ``str_list_eq`` / ``str_set_eq`` (the value's
comma-separated items, quotes stripped, equal ``ref`` as a list / set).
"""

from __future__ import annotations

import functools
import operator
import re
from typing import Any

_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
            "gt": operator.gt, "ge": operator.ge}
_BOUND = {"t": operator.lt, "e": operator.le}


def _regex_flags(names: list[str]) -> re.RegexFlag:
    flags = [re.RegexFlag.__members__.get(n) for n in names]
    if None in flags:
        raise ValueError(f"unknown regex flag in {'.'.join(names)!r}")
    return functools.reduce(operator.or_, flags, re.RegexFlag(0))


def _covers(inner, outer) -> bool:
    """Whether every range of one openpyxl MultiCellRange lies within the other."""
    return all(r in outer for r in inner)


def match_rule(value: Any, rule: dict[str, Any]) -> bool:
    """Whether ``value`` satisfies ``rule`` (see the module docstring)."""
    method: str = rule["method"]
    ref = rule.get("ref")
    if method.startswith("re"):
        return re.search(ref, value, _regex_flags(method.split(".")[1:])) is not None
    if method in _COMPARE:
        return bool(_COMPARE[method](value, ref))
    if method.startswith("approx"):
        threshold = float(method.split(":")[1])
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        return abs(number - ref) <= threshold
    if method == "spreadsheet_range":
        from openpyxl.worksheet.cell_range import MultiCellRange  # the osworld extra, on first use

        value = value if isinstance(value, MultiCellRange) else MultiCellRange(value)
        return _covers(MultiCellRange(ref[0]), value) and _covers(value, MultiCellRange(ref[1]))
    if method.startswith("range.") and len(method) == 8 and set(method[6:]) <= set(_BOUND):
        return _BOUND[method[6]](ref[0], value) and _BOUND[method[7]](value, ref[1])
    if method in ("str_list_eq", "str_set_eq"):
        items = value.strip("\"'").split(",")
        return list(items) == list(ref) if method == "str_list_eq" else set(items) == set(ref)
    raise ValueError(f"unknown value-rule method {method!r}")
