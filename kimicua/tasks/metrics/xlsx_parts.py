"""Summaries of a worksheet's charts, pivot tables, filters, rows/columns and panes, as
OSWorld's ``load_charts`` / ``load_pivot_tables`` / ``load_filters`` /
``load_rows_or_cols`` / freeze key compute them: two sheets pass a rule when their
summaries are equal. A sheet that does not exist summarises as {}.
"""

from __future__ import annotations

import itertools
from typing import Any

from openpyxl.utils import coordinate_to_tuple

# Chart properties a "chart" rule may name in ``chart_props``.
CHART_PROPS = frozenset({"title", "legend", "anchor", "width", "height", "type", "direction",
                         "xtitle", "ytitle", "ztitle"})
# Pivot properties a "pivot_table" rule may name in ``pivot_props``.
PIVOT_PROPS = frozenset({"name", "show_total", "show_empty_row", "show_empty_col", "show_headers",
                         "location", "selection", "ordered", "filter", "col_fields", "row_fields",
                         "data_fields", "data_fields_name"})


def _sheet(book, name: str):
    return book[name] if name in book.sheetnames else None


def _rich_title(title) -> str | None:
    """The first run of a chart or axis title, None when it has none."""
    try:
        return title.tx.rich.p[0].r[0].t
    except (AttributeError, IndexError, TypeError):
        return None


def _ref(data) -> str:
    for kind in ("numRef", "strRef"):
        formula = getattr(getattr(data, kind, None), "f", None)
        if formula is not None:
            return formula
    return ""


def load_charts(book, sheet_name: str, props: list[str]) -> dict[str, dict[str, Any]]:
    """``{series references: {prop: value}}`` for the charts on a sheet."""
    unknown = set(props) - CHART_PROPS
    if unknown:
        raise ValueError(f"unknown chart_props {sorted(unknown)}")
    sheet = _sheet(book, sheet_name)
    if sheet is None:
        return {}
    charts: dict[str, dict[str, Any]] = {}
    for chart in sheet._charts:  # openpyxl keeps the charts it read only here
        key = ";".join(f"{_ref(s.val)},{_ref(s.cat)}" for s in chart.series)
        info: dict[str, Any] = {}
        for prop in props:
            if prop == "title":
                info[prop] = _rich_title(chart.title)
            elif prop in ("xtitle", "ytitle", "ztitle"):
                axis = getattr(chart, f"{prop[0]}_axis", None)
                info[prop] = _rich_title(getattr(axis, "title", None))
            elif prop == "legend":
                info[prop] = chart.legend.position if chart.legend is not None else None
            elif prop == "anchor":
                # OSWorld reads the end row where the start row would be; kept for equal verdicts.
                a = chart.anchor
                info[prop] = [a.editAs, a._from.col, a.to.row, a.to.col, a.to.row]
            elif prop == "type":
                info[prop] = chart.tagname
            elif prop == "direction":
                info[prop] = chart.barDir  # only bar charts have one: others raise, as in OSWorld
            else:
                info[prop] = getattr(chart, prop)
        charts[key] = info
    return charts


def _trim_empty(fields: list[list]) -> tuple[list[list], int, int]:
    """Drop the empty lists at both ends: (middle, dropped at the left, at the right)."""
    left = list(itertools.dropwhile(lambda f: not f, fields))
    middle = list(itertools.dropwhile(lambda f: not f, reversed(left)))[::-1]
    return middle, len(fields) - len(left), len(left) - len(middle)


def load_pivot_tables(book, sheet_name: str, props: list[str]) -> dict[str, dict[str, Any]]:
    """``{source range: {prop: value}}`` for the pivot tables on a sheet; field indices
    count from the first source column whose items any field selects."""
    unknown = set(props) - PIVOT_PROPS
    if unknown:
        raise ValueError(f"unknown pivot_props {sorted(unknown)}")
    sheet = _sheet(book, sheet_name)
    if sheet is None:
        return {}
    props_set = set(props)
    pivots: dict[str, dict[str, Any]] = {}
    for pivot in sheet._pivots:
        raw = [[(item.h, item.x) for item in field.items if item.x is not None]
               for field in pivot.pivotFields]
        selection, left, right = _trim_empty(raw)
        source = pivot.cache.cacheSource
        first, last = source.worksheetSource.ref.split(":")
        row0, col0 = coordinate_to_tuple(first)
        row1, col1 = coordinate_to_tuple(last)
        key = f"{source.type};({row0}, {col0 + left}):({row1}, {col1 - right});{source.worksheetSource.sheet}"
        info: dict[str, Any] = {}
        simple = {"name": "name", "show_total": "visualTotals", "show_empty_row": "showEmptyRow",
                  "show_empty_col": "showEmptyCol", "show_headers": "showHeaders", "location": "location"}
        for prop, attr in simple.items():
            if prop in props_set:
                info[prop] = getattr(pivot, attr)
        if props_set & {"filter", "selection"}:
            info["selection"] = selection if "ordered" in props_set else [set(f) for f in selection]
        if "filter" in props_set:
            info["filter_fields"] = {f.fld for f in pivot.pageFields}
        if "col_fields" in props_set:
            info["col_fields"] = [f.x - left for f in pivot.colFields]
        if "row_fields" in props_set:
            info["row_fields"] = [f.x - left for f in pivot.rowFields]
        if "data_fields" in props_set:
            named = "data_fields_name" in props_set
            info["data_fields"] = [f"{f.fld - left};{f.name if named else ''};{f.subtotal};{f.showDataAs}"
                                   for f in pivot.dataFields]
        pivots[key] = info
    return pivots


def load_filters(book, sheet_name: str) -> dict[str, Any]:
    """The sheet's autofilter: its range, each filtered column and the sort state."""
    sheet = _sheet(book, sheet_name)
    if sheet is None:
        return {}
    auto = sheet.auto_filter
    columns = []
    for column in auto.filterColumn:
        entry: dict[str, Any] = {"col_id": column.colId, "hidden_button": column.hiddenButton,
                                 "show_button": column.showButton}
        if column.filters is not None:
            entry["filters_blank"] = column.filters.blank
            entry["filters"] = set(column.filters.filter)
        if column.customFilters is not None:
            entry["custom_filters_op"] = column.customFilters._and
            entry["custom_filters"] = {(f.operator, f.val) for f in column.customFilters.customFilter}
        columns.append(entry)
    result: dict[str, Any] = {"ref": auto.ref, "filter_column": sorted(columns, key=lambda d: d["col_id"])}
    sort = auto.sortState
    if sort is not None:
        result["sort_state"] = {
            "sort": sort.columnSort, "case": sort.caseSensitive, "method": sort.sortMethod, "ref": sort.ref,
            "condition": [{"descending": c.descending, "key": c.sortBy, "ref": c.ref, "custom_list": c.customList,
                           "dxf_id": c.dxfId, "icon": c.iconSet, "iconid": c.iconId} for c in sort.sortCondition],
        }
    return result


def load_rows_or_cols(book, sheet_name: str, kind: str, props: list[str]) -> dict[Any, dict[str, Any]]:
    """``{row number or column letter: {prop: value}}`` over the rows/columns the file
    describes (``kind``: "row" | "column"; props such as hidden, height, width)."""
    bad = [p for p in props if p.startswith("_")]
    if bad:
        raise ValueError(f"bad row/column property {bad[0]!r}")
    sheet = _sheet(book, sheet_name)
    if sheet is None:
        return {}
    dims = sheet.row_dimensions if kind == "row" else sheet.column_dimensions
    return {key: {p: getattr(dim, p) for p in props} for key, dim in dims.items()}


def freeze_key(sheet) -> tuple:
    """What a freeze compares: the frozen column and row counts (scroll-independent),
    or for a split that is not frozen, the split and its top-left cell."""
    pane = sheet.sheet_view.pane
    if pane is None:
        return ("none",)
    xs = int(pane.xSplit) if pane.xSplit is not None else 0
    ys = int(pane.ySplit) if pane.ySplit is not None else 0
    if (pane.state or "").lower() in ("frozen", "frozensplit"):
        return ("frozen", xs, ys)
    return ("other", xs, ys, pane.topLeftCell)
