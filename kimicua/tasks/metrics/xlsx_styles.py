"""A worksheet's cell styles with its conditional formats applied (OSWorld's
``load_xlsx_styles``), for compare_table's "style" rule.

Every cell in the sheet's used area maps to the list of the asked properties. Then each
conditional format's "expression" rule is evaluated on the stored value of each cell it
covers (the formula compiled by the ``formulas`` package, as OSWorld does, with the
cell's value as its first input and the formula's absolute ranges after it); cells where
it holds take the rule's differential style. Like OSWorld, a rule of another type, or a
formula with an absolute single-cell reference, is an error, and after 50 empty cells in
one rule the remaining cells of that range (and the first empty one of each later range)
end the scan of that range.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange

from kimicua.tasks.metrics.xlsx_cells import RawBook, cell_style

_ABSOLUTE = re.compile(r"\$([A-Z]{1,3})\$(\d+)(?::\$([A-Z]{1,3})\$(\d+))?")
_EMPTY_LIMIT = 50


def _compile(formula: str):
    try:
        import formulas
    except ImportError as err:  # pragma: no cover - the osworld extra installs it
        raise RuntimeError("conditional formatting needs the 'formulas' package (the osworld extra)") from err
    return formulas.Parser().ast("=" + formula)[1].compile()


def _coordinate(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


def _absolute_arguments(formula: str, raw: RawBook, sheet: str) -> list[list[Any]]:
    args = []
    for col1, row1, col2, row2 in _ABSOLUTE.findall(formula):
        if not col2:
            raise ValueError(f"conditional format {formula!r}: an absolute single-cell reference "
                             "is not supported (OSWorld fails on it too)")
        cells = CellRange(f"{col1}{row1}:{col2}{row2}").cells
        args.append([raw.value(sheet, _coordinate(r, c)) for r, c in cells])
    return args


def _active_cells(sheet, fmt, rule, raw: RawBook, sheet_name: str) -> list:
    formula = rule.formula[0]
    condition = _compile(formula)
    args = _absolute_arguments(formula, raw, sheet_name)
    active, empty = [], 0
    for cell_range in fmt.cells.ranges:
        for row, col in cell_range.cells:
            value = raw.value(sheet_name, _coordinate(row, col))
            if value is None:
                empty += 1
                if empty > _EMPTY_LIMIT:
                    break
                continue
            if condition(value, *args):
                active.append(sheet.cell(row=row, column=col))
    return active


def load_styles(book, raw: RawBook, sheet_name: str, props: list[str]) -> dict[str, list[Any]]:
    """``{coordinate: [property values]}`` for a sheet of ``book`` (openpyxl, formulas not
    evaluated) read alongside ``raw`` (the same file's stored values); {} if no such sheet."""
    if sheet_name not in book.sheetnames:
        return {}
    sheet = book[sheet_name]
    styles = {c.coordinate: [cell_style(p, c) for p in props] for col in sheet.iter_cols() for c in col}
    for fmt in sheet.conditional_formatting:
        for rule in fmt.rules:
            if rule.type != "expression":
                raise ValueError(f"conditional format rule type {rule.type!r} is not supported "
                                 "(OSWorld evaluates only 'expression' rules)")
            for cell in _active_cells(sheet, fmt, rule, raw, sheet_name):
                styles[cell.coordinate] = [cell_style(p, cell, rule.dxf) for p in props]
    return styles
