"""compare_epub: two EPUB books compared file by file, as OSWorld does.

Each book becomes a sorted list of texts: its toc.ncx without the navPoint lines, its
content.opf without the dc:identifier lines, and each .html file re-serialised by lxml
(newlines removed first, then pretty-printed). Paired texts score their line-level
difflib ratio; the score is the mean over the result's files. A result that is not a
zip scores 0; a book without toc.ncx or content.opf is an error, as in OSWorld.
"""

from __future__ import annotations

import difflib
import zipfile
from typing import Any

from kimicua.tasks.metrics.registry import metric


def _book_texts(path: Any) -> list[list[str]] | None:
    """The lines of each compared file, in file-name order; None if not a zip."""
    import lxml.html

    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return None
    with zf:
        texts = {
            "toc.ncx": [line for line in zf.read("toc.ncx").decode().splitlines() if "navPoint" not in line],
            "content.opf": [line for line in zf.read("content.opf").decode().splitlines()
                            if "dc:identifier" not in line],
        }
        for name in zf.namelist():
            if name.endswith(".html"):
                flat = "".join(ch for ch in zf.read(name).decode() if ch not in "\r\n")
                html = lxml.html.fromstring(flat.encode())
                texts[name] = lxml.html.tostring(html, pretty_print=True, encoding="unicode").splitlines()
    return [texts[name] for name in sorted(texts)]


@metric
def compare_epub(result: Any, expected: Any) -> float:
    """Mean line-level similarity of the two books' paired files (see the module)."""
    if result is None:
        return 0.0
    mine, gold = _book_texts(result), _book_texts(expected)
    if not mine:
        return 0.0
    score = sum(difflib.SequenceMatcher(a=a, b=b).ratio() for a, b in zip(mine, gold or []))
    return score / len(mine)
