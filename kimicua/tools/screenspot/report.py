"""metrics.json and the printed tables: the same numbers, from one Report."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kimicua.tasks.screenspot.metrics import Cell, Report, Row

_TITLES = {"v1": "ScreenSpot", "v2": "ScreenSpot-v2", "pro": "ScreenSpot-Pro", "osworld-g": "OSWorld-G"}


def metrics_json(report: Report, settings: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """What metrics.json holds: the report's numbers, how the run was made, the notes."""
    return {**report.to_json(), "settings": settings, "notes": notes}


def write_metrics(path: Path, data: dict[str, Any]) -> None:
    """Write metrics.json whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".metrics-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cell_text(cell: Cell) -> str:
    """'85.0% (17/20, wf 1)': accuracy, correct of all, and wrong_format; '-' when empty."""
    if cell.accuracy is None:
        return "-"
    return f"{100 * cell.accuracy:.1f}% ({cell.correct}/{cell.n}, wf {cell.wrong_format})"


def tables(report: Report) -> list:
    """One rich Table per view (split, group, application, ...), each ending with the overall row."""
    from rich.table import Table

    title = _TITLES.get(report.format, report.format)
    kinds = ("all", "text", "icon") if report.has_kinds else ("all",)
    out = []
    views = report.tables or {"overall": []}
    for name, rows in views.items():
        table = Table(title=f"{title} by {name}" if rows else title)
        table.add_column(name if rows else "", justify="left")
        for kind in kinds:
            table.add_column(kind, justify="right")

        def add(row: Row, style: str | None = None) -> None:
            table.add_row(row.name, *(cell_text(getattr(row, kind)) for kind in kinds), style=style)

        for row in rows:
            add(row)
        add(report.overall, style="bold")
        out.append(table)
    return out


def print_report(console, report: Report, notes: list[str]) -> None:
    """The notes (how each file was read, what did not match), then the tables."""
    from rich.markup import escape

    for note in notes:
        console.print(f"note: {escape(note)}", soft_wrap=True)
    for table in tables(report):
        console.print(table)
