"""The HTML shell both pages share: escaping, links, one inline stylesheet.

Everything shown is data (model text, task text, file names): it goes through
``esc`` and nothing else reaches the page. The Content-Security-Policy allows no
script at all and loads nothing from the network, so the page opens offline and
even a missed escape could not run code.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from urllib.parse import quote

CSP = "default-src 'none'; img-src 'self' file: data:; media-src 'self' file:; style-src 'unsafe-inline'"

CSS = """
:root { color-scheme: light; --fg: #18181b; --muted: #71717a; --line: #e4e4e7; --bad: #c2410c;
        --good: #15803d; --bg: #fafafa; }
body { font: 15px/1.45 system-ui, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg);
       margin: 0 auto; max-width: 1400px; padding: 1.2rem 1.5rem 3rem; }
h1 { font-size: 1.35rem; margin: 0 0 .3rem; word-break: break-all; }
h2 { font-size: 1.05rem; margin: 0 0 .4rem; }
.instruction { font-size: 1.05rem; margin: .2rem 0 .8rem; white-space: pre-wrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0 0 1rem; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
.status { font-weight: 600; } .status.done, .status.ok { color: var(--good); }
.status.error, .status.fail, .status.interrupted, .status.parse_failures, .status.unfinished,
.status.unreadable, .status.stopped, .status.truncated { color: var(--bad); }
.links a { margin-right: 1rem; }
.notice { border-left: 4px solid var(--bad); padding: .3rem .7rem; background: #fff7ed; margin: .5rem 0; }
section.step { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem;
               border-top: 1px solid var(--line); padding: 1rem 0; }
@media (max-width: 900px) { section.step { grid-template-columns: 1fr; } }
section.step img { width: 100%; height: auto; border: 1px solid var(--line); display: block; }
.missing { color: var(--muted); border: 1px dashed var(--line); padding: 2rem; text-align: center; }
.action { font: 600 1rem/1.4 ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-word; }
.thought { white-space: pre-wrap; word-break: break-word; }
.error { color: var(--bad); white-space: pre-wrap; word-break: break-word; }
.muted { color: var(--muted); }
pre { white-space: pre-wrap; word-break: break-word; background: #f4f4f5; padding: .5rem; margin: .3rem 0;
      font-size: .85rem; max-height: 24rem; overflow: auto; }
table.episodes { border-collapse: collapse; width: 100%; }
table.episodes th, table.episodes td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); }
table.episodes td.num { text-align: right; font-variant-numeric: tabular-nums; }
""".strip()


def esc(value: object) -> str:
    """Any value as HTML text (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def href(target: Path, page_dir: Path) -> str:
    """A relative, percent-encoded link from a page in ``page_dir`` to ``target``."""
    rel = os.path.relpath(target, page_dir)
    return esc(quote(Path(rel).as_posix()))


def status_class(status: str) -> str:
    """A CSS class from a status word (only letters and underscores survive)."""
    return "".join(c for c in status if c.isalpha() or c == "_")


def facts(items: list[tuple[str, object]]) -> str:
    """A definition list of the items whose value is not None."""
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{v if isinstance(v, Markup) else esc(v)}</dd>"
                   for k, v in items if v is not None)
    return f'<dl class="facts">{rows}</dl>'


class Markup(str):
    """HTML built here from escaped parts, passed through ``facts`` as it is."""


def document(title: str, body: str) -> str:
    """A whole page: charset, the policy, the stylesheet, ``body`` (already HTML)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def write_page(path: Path, text: str) -> Path:
    """Write ``text`` whole (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
