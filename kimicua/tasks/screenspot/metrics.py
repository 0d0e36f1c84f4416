"""The report of a grounding run, as data: overall, text and icon accuracy, and the
same per split (v1/v2), per group, application and platform (Pro: its leaderboard
views), per box type and group (OSWorld-G). Every cell holds its counts and its
wrong_format, so a table is never a bare percentage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from kimicua.tasks.screenspot.formats import Dataset
from kimicua.tasks.screenspot.scoring import CORRECT, WRONG_FORMAT

KINDS = ("text", "icon")
# Rows in the order the benchmarks' own tables use; others follow by name.
_ORDER = {
    "split": ("mobile", "desktop", "web"),
    "group": ("Dev", "Creative", "CAD", "Scientific", "Office", "OS",  # ScreenSpot-Pro
              "text_matching", "element_recognition", "layout_understanding",  # OSWorld-G
              "fine_grained_manipulation", "refusal"),
    "box type": ("bbox", "polygon", "refusal"),
}


@dataclass
class Cell:
    """Counts of one cell: samples, correct ones, and those with no usable answer."""

    n: int = 0
    correct: int = 0
    wrong_format: int = 0

    def add(self, verdict: str) -> None:
        self.n += 1
        self.correct += verdict == CORRECT
        self.wrong_format += verdict == WRONG_FORMAT

    @property
    def accuracy(self) -> float | None:
        """correct / n; None for an empty cell (no samples of that kind)."""
        return self.correct / self.n if self.n else None

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "correct": self.correct, "wrong": self.n - self.correct - self.wrong_format,
                "wrong_format": self.wrong_format, "accuracy": self.accuracy}


@dataclass
class Row:
    """One row of a table: all its samples, and its text and icon samples."""

    name: str
    all: Cell = field(default_factory=Cell)
    text: Cell = field(default_factory=Cell)
    icon: Cell = field(default_factory=Cell)

    def add(self, verdict: str, kind: str | None) -> None:
        self.all.add(verdict)
        if kind == "text":
            self.text.add(verdict)
        elif kind == "icon":
            self.icon.add(verdict)

    def to_json(self) -> dict[str, Any]:
        return {"all": self.all.to_json(), "text": self.text.to_json(), "icon": self.icon.to_json()}


@dataclass
class Report:
    """The whole report: ``tables`` maps each table's name to its rows, in order."""

    format: str
    overall: Row
    tables: dict[str, list[Row]]
    has_kinds: bool  # whether the format labels samples text/icon

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "samples": self.overall.all.n,
            "overall": self.overall.to_json(),
            "tables": {name: {row.name: row.to_json() for row in rows} for name, rows in self.tables.items()},
        }


def _rank(table: str, name: str) -> tuple[int, str]:
    order = _ORDER.get(table, ())
    return (order.index(name) if name in order else len(order), name)


def tally(dataset: Dataset, verdicts: Sequence[str]) -> Report:
    """The report of ``verdicts``, one per sample of ``dataset`` in its order."""
    if len(verdicts) != len(dataset.samples):
        raise ValueError(f"{len(verdicts)} verdicts for {len(dataset.samples)} samples")
    overall = Row("overall")
    tables: dict[str, dict[str, Row]] = {name: {} for name in dataset.tables}
    for sample, verdict in zip(dataset.samples, verdicts):
        overall.add(verdict, sample.kind)
        for table, rows in sample.tags:
            for name in rows:
                tables[table].setdefault(name, Row(name)).add(verdict, sample.kind)
    ordered = {table: sorted(rows.values(), key=lambda r: _rank(table, r.name)) for table, rows in tables.items()}
    has_kinds = any(s.kind is not None for s in dataset.samples)
    return Report(dataset.format, overall, ordered, has_kinds)
