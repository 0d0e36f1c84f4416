"""index.html of a run: every episode with its status, score and steps, linked to its report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kimicua.tools.render.page import document, esc, href, status_class


@dataclass(frozen=True)
class IndexRow:
    name: str  # the episode's path below the run directory
    status: str
    score: float | None
    steps: int | None
    report: Path | None  # None: it could not be rendered
    note: str | None = None


def index_page(title: str, rows: list[IndexRow], page_dir: Path) -> str:
    """The page listing ``rows``, linked relatively from ``page_dir``."""
    scored = [r.score for r in rows if r.score is not None]
    mean = f", mean score {sum(scored) / len(scored):.3f} over {len(scored)} scored" if scored else ""
    lines = []
    for r in rows:
        name = (f'<a href="{href(r.report, page_dir)}">{esc(r.name)}</a>' if r.report is not None
                else esc(r.name))
        lines.append(
            f"<tr><td>{name}</td><td class=\"status {status_class(r.status)}\">{esc(r.status)}</td>"
            f"<td class=\"num\">{'-' if r.score is None else f'{r.score:.2f}'}</td>"
            f"<td class=\"num\">{'-' if r.steps is None else r.steps}</td>"
            f"<td class=\"error\">{esc(r.note or '')}</td></tr>")
    body = (f"<header><h1>{esc(title)}</h1><p>{len(rows)} episode(s){esc(mean)}</p></header>"
            '<table class="episodes"><thead><tr><th>episode</th><th>status</th><th>score</th>'
            f"<th>steps</th><th>note</th></tr></thead><tbody>{''.join(lines)}</tbody></table>")
    return document(f"{title}: episodes", body)
