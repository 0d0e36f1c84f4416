"""Spreadsheet metrics: compare_table (OSWorld's rule list over two workbooks) and
compare_conference_city_in_order.

compare_table's ``rules`` run in order and all must hold. Sheets are named by index:
an int or "RI<n>" is the result's n-th sheet, "RN<name>" the result's sheet by name,
"EI<n>" / "EN<name>" the expected workbook's. Rule types: sheet_name, sheet_data,
sheet_print, sheet_fuzzy, sparkline, chart, style, freeze, zoom, data_validation,
row_props, col_props, filter, pivot_table, check_cell (see each ``_rule_*``).
Libraries come from the optional osworld extra and load on first use.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

from kimicua.tasks.metrics.registry import metric


@dataclass
class _Side:
    """One workbook opened the three ways OSWorld reads it: openpyxl (formulas kept),
    pandas (stored values, first row as header), and the raw XML (stored values)."""

    path: str
    book: Any  # openpyxl Workbook
    frames: Any  # pandas ExcelFile
    names: list[str]
    _raw: Any = None

    @classmethod
    def open(cls, path: str) -> "_Side":
        import openpyxl
        import pandas as pd

        frames = pd.ExcelFile(path)
        return cls(path, openpyxl.load_workbook(filename=path), frames, list(frames.sheet_names))

    @property
    def raw(self):
        from kimicua.tasks.metrics.xlsx_cells import RawBook

        if self._raw is None:
            self._raw = RawBook(self.path)
        return self._raw

    def sheet(self, name: str):
        """The openpyxl worksheet, None if there is none of that name."""
        return self.book[name] if name in self.book.sheetnames else None

    def frame(self, name: str):
        """The sheet as a DataFrame, None if it cannot be read."""
        import pandas as pd

        try:
            return pd.read_excel(self.frames, name)
        except Exception:  # noqa: BLE001 - OSWorld reads any failure as a missing sheet
            return None


@dataclass
class _Books:
    result: _Side
    expected: _Side | None

    def locate(self, index: Any) -> tuple[_Side, str]:
        """(workbook, sheet name) of a sheet index; an index past the end names no sheet."""
        if isinstance(index, int):
            return self.result, _nth(self.result.names, index)
        if not isinstance(index, str) or index[:2] not in ("RI", "RN", "EI", "EN"):
            raise ValueError(f"bad sheet index {index!r} (an int, RI<n>, RN<name>, EI<n> or EN<name>)")
        side = self.result if index[0] == "R" else self.expected
        if side is None:
            raise ValueError(f"sheet index {index!r} needs an expected workbook")
        if index[1] == "N":
            return side, index[2:]
        try:
            return side, _nth(side.names, int(index[2:]))
        except ValueError:
            return side, ""


def _nth(names: list[str], n: int) -> str:
    """The n-th sheet name (Python indexing, as OSWorld), "" (no sheet) past the end."""
    try:
        return names[n]
    except IndexError:
        return ""


def _rule_sheet_name(books: _Books, rule: dict) -> bool:
    """The two workbooks have the same sheet names in the same order."""
    return books.expected is not None and books.result.names == books.expected.names


def _rule_sheet_data(books: _Books, rule: dict) -> bool:
    """The sheets' values (as pandas reads them) are equal after rounding numbers to
    ``precision`` decimals (default 4)."""
    precision = rule.get("precision", 4)
    side0, name0 = books.locate(rule["sheet_idx0"])
    first = side0.frame(name0)
    if first is None:
        return False
    side1, name1 = books.locate(rule["sheet_idx1"])
    second = side1.frame(name1)
    if second is None:
        raise ValueError(f"sheet {rule['sheet_idx1']!r} cannot be read")
    return bool(first.round(precision).equals(second.round(precision)))


def _printed_lines(side: _Side, name: str) -> list[str] | None:
    """The sheet as exported beside the workbook, ``<stem>-<sheet>.csv``: stripped lines,
    trailing blank lines dropped; None when there is no such file."""
    from kimicua.tasks.metrics.textfiles import read_lines

    try:
        lines = [line.strip() for line in read_lines(f"{os.path.splitext(side.path)[0]}-{name}.csv")]
    except OSError:
        return None
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _rule_sheet_print(books: _Books, rule: dict) -> bool:
    """The sheets' printed values (their CSV exports) are equal (``ignore_case``)."""
    first = _printed_lines(*books.locate(rule["sheet_idx0"]))
    second = _printed_lines(*books.locate(rule["sheet_idx1"]))
    if first is None or second is None:
        return False
    if rule.get("ignore_case", False):
        first, second = [x.lower() for x in first], [x.lower() for x in second]
    return first == second


def _fuzzy_text(value: Any, rule: dict) -> str:
    text = str(value)
    for old, new in rule.get("normalization", []):
        text = text.replace(old, new)
    if "trim_leadings" in rule:
        text = text.lstrip(rule["trim_leadings"])
    if "trim_trailings" in rule:
        text = text.rstrip(rule["trim_trailings"])
    if "ignore_chars" in rule:
        text = "".join(ch for ch in text if ch not in set(rule["ignore_chars"]))
    if rule.get("ignore_case", False):
        text = text.lower()
    return text


def _fuzzy_pair(a: str, b: str, rule: dict) -> bool:
    from rapidfuzz import fuzz

    kind = rule["type"]
    if kind == "includes":
        return b in a
    if kind == "included_by":
        return a in b
    if kind == "fuzzy_match":
        return fuzz.ratio(a, b) >= rule.get("threshold", 85.0)
    if kind == "exact_match":
        return a == b
    raise ValueError(f"unknown sheet_fuzzy type {kind!r}")


def _rule_sheet_fuzzy(books: _Books, rule: dict) -> bool:
    """Cell by cell over ``rules[*].range``, stored values as text, normalised per rule
    (normalization pairs, trim_leadings/trailings, ignore_chars, ignore_case), then
    compared: exact_match, includes (sheet 0's contains sheet 1's), included_by,
    fuzzy_match (rapidfuzz ratio >= threshold, default 85)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.cell_range import MultiCellRange

    (side0, name0), (side1, name1) = books.locate(rule["sheet_idx0"]), books.locate(rule["sheet_idx1"])
    ok = True
    for sub in rule["rules"]:
        for cells in MultiCellRange(sub["range"]):
            for row, col in cells.cells:
                coordinate = f"{get_column_letter(col)}{row}"
                a = _fuzzy_text(side0.raw.value(name0, coordinate), sub)
                b = _fuzzy_text(side1.raw.value(name1, coordinate), sub)
                ok = _fuzzy_pair(a, b, sub) and ok
    return ok


def _rule_sparkline(books: _Books, rule: dict) -> bool:
    """The sheets have the same sparklines (location -> data range)."""
    (side0, name0), (side1, name1) = books.locate(rule["sheet_idx0"]), books.locate(rule["sheet_idx1"])
    return side0.raw.sparklines(name0) == side1.raw.sparklines(name1)


def _paired(loader: Callable[[_Side, str], Any]) -> Callable[[_Books, dict], bool]:
    def check(books: _Books, rule: dict) -> bool:
        return loader(*books.locate(rule["sheet_idx0"]), rule) == loader(*books.locate(rule["sheet_idx1"]), rule)

    return check


def _charts(side: _Side, name: str, rule: dict):
    from kimicua.tasks.metrics.xlsx_parts import load_charts

    return load_charts(side.book, name, rule.get("chart_props", []))


def _pivots(side: _Side, name: str, rule: dict):
    from kimicua.tasks.metrics.xlsx_parts import load_pivot_tables

    return load_pivot_tables(side.book, name, rule.get("pivot_props", []))


def _filters(side: _Side, name: str, rule: dict):
    from kimicua.tasks.metrics.xlsx_parts import load_filters

    return load_filters(side.book, name)


def _rows(side: _Side, name: str, rule: dict):
    from kimicua.tasks.metrics.xlsx_parts import load_rows_or_cols

    return load_rows_or_cols(side.book, name, "row", rule.get("props", []))


def _cols(side: _Side, name: str, rule: dict):
    from kimicua.tasks.metrics.xlsx_parts import load_rows_or_cols

    return load_rows_or_cols(side.book, name, "column", rule.get("props", []))


def _styles(side: _Side, name: str, rule: dict):
    from kimicua.tasks.metrics.xlsx_styles import load_styles

    return load_styles(side.book, side.raw, name, rule.get("props", []))


def _rule_freeze(books: _Books, rule: dict) -> bool:
    """The sheets freeze the same rows and columns."""
    from kimicua.tasks.metrics.xlsx_parts import freeze_key

    first = books.locate(rule["sheet_idx0"])
    sheet0 = first[0].sheet(first[1])
    if sheet0 is None:
        return False
    second = books.locate(rule["sheet_idx1"])
    sheet1 = second[0].sheet(second[1])
    if sheet1 is None:
        raise ValueError(f"no sheet {rule['sheet_idx1']!r}")
    return freeze_key(sheet0) == freeze_key(sheet1)


def _rule_zoom(books: _Books, rule: dict) -> bool:
    """The sheet's zoom (100 when unset) satisfies ``method``/``ref``."""
    from kimicua.tasks.metrics.value_rules import match_rule

    side, name = books.locate(rule["sheet_idx"])
    sheet = side.sheet(name)
    return sheet is not None and match_rule(sheet.sheet_view.zoomScale or 100.0, rule)


_DV_ATTRS = frozenset({"ranges", "sqref", "type", "formula1", "formula2", "operator", "allowBlank",
                       "showDropDown", "showInputMessage", "showErrorMessage", "error", "errorTitle",
                       "errorStyle", "prompt", "promptTitle", "imeMode"})


def _rule_data_validation(books: _Books, rule: dict) -> bool:
    """The sheet has at least as many validations as ``dv_props`` lists, and each of its
    validations satisfies every attribute rule of some ``dv_props`` entry."""
    from kimicua.tasks.metrics.value_rules import match_rule

    side, name = books.locate(rule["sheet_idx"])
    sheet = side.sheet(name)
    if sheet is None:
        return False
    wanted: list[dict] = rule["dv_props"]
    for attrs in wanted:
        unknown = set(attrs) - _DV_ATTRS
        if unknown:
            raise ValueError(f"unknown data validation attribute(s) {sorted(unknown)}")
    validations = sheet.data_validations.dataValidation
    if len(validations) < len(wanted):
        return False
    return all(any(all(match_rule(getattr(dv, a), r) for a, r in attrs.items()) for attrs in wanted)
               for dv in validations)


def _rule_check_cell(books: _Books, rule: dict) -> bool:
    """Each of ``props`` (value: the stored value; else a style property) of one cell
    satisfies its ``{method, ref}``; a property that cannot be read is None."""
    from kimicua.tasks.metrics.value_rules import match_rule
    from kimicua.tasks.metrics.xlsx_cells import cell_style

    side, name = books.locate(rule["sheet_idx"])
    sheet = side.sheet(name)
    if sheet is None:
        return False
    try:
        cell = sheet[rule["coordinate"]]
        for prop, want in rule["props"].items():
            try:
                got = side.raw.value(name, rule["coordinate"]) if prop == "value" else cell_style(prop, cell)
            except Exception:  # noqa: BLE001 - OSWorld reads an unreadable property as None
                got = None
            if not match_rule(got, want):
                return False
    except Exception:  # noqa: BLE001 - OSWorld fails the rule on any error (None < 3, bad regex)
        return False
    return True


_RULES: dict[str, Callable[[_Books, dict], bool]] = {
    "sheet_name": _rule_sheet_name,
    "sheet_data": _rule_sheet_data,
    "sheet_print": _rule_sheet_print,
    "sheet_fuzzy": _rule_sheet_fuzzy,
    "sparkline": _rule_sparkline,
    "chart": _paired(_charts),
    "style": _paired(_styles),
    "freeze": _rule_freeze,
    "zoom": _rule_zoom,
    "data_validation": _rule_data_validation,
    "row_props": _paired(_rows),
    "col_props": _paired(_cols),
    "filter": _paired(_filters),
    "pivot_table": _paired(_pivots),
    "check_cell": _rule_check_cell,
}


@metric
def compare_table(result: Any, expected: Any = None, **options: Any) -> float:
    """1 when every rule of ``options["rules"]`` holds for the result (and expected)
    workbook; 0 when the result is missing or cannot be opened."""
    rules = options["rules"]
    for rule in rules:
        if rule.get("type") not in _RULES:
            raise ValueError(f"unknown compare_table rule type {rule.get('type')!r}")
    if result is None or not os.path.exists(result):
        return 0.0
    try:
        result_side = _Side.open(result)
    except Exception:  # noqa: BLE001 - an unreadable result is a failed task, as in OSWorld
        return 0.0
    expected_side = _Side.open(expected) if expected is not None else None
    books = _Books(result_side, expected_side)
    try:
        return float(all(_RULES[rule["type"]](books, rule) for rule in rules))
    finally:
        for side in (result_side, expected_side):
            if side is not None:
                side.frames.close()


def _city(value: Any) -> str:
    """Lower case, accents and punctuation removed, for tolerant city matching."""
    if value is None:
        return ""
    text = "".join(ch for ch in unicodedata.normalize("NFKD", str(value)) if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@metric
def compare_conference_city_in_order(result: Any, rules: dict[str, Any]) -> float:
    """1 when each of C2:C22 of the active sheet contains its expected city (a name or
    a list of accepted names), after normalising case, accents and punctuation."""
    import openpyxl

    if result is None:
        return 0.0
    expected = rules["expected"]
    sheet = openpyxl.load_workbook(result).active
    cells = [cell.value for row in sheet["C2:C22"] for cell in row]
    if len(cells) > len(expected):
        return 0.0
    for got, want in zip(cells, expected):
        names = [want] if isinstance(want, str) else want
        if not isinstance(names, list):
            raise ValueError(f"expected city must be a string or a list, got {want!r}")
        if not any(_city(n) and _city(n) in _city(got) for n in names):
            return 0.0
    return 1.0
