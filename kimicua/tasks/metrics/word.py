"""Word-processor documents compared by their text: compare_docx_files (also .odt),
compare_docx_files_and_ignore_new_lines, compare_docx_tables, compare_docx_images,
compare_line_spacing, compare_references, compare_unique_train_records.

A missing path or a file python-docx cannot open scores 0, as in OSWorld. Libraries
(python-docx, odfpy, rapidfuzz, Pillow) load on first use.
"""

from __future__ import annotations

import io
import re
from typing import Any

from kimicua.tasks.metrics.registry import metric


def open_docx(path: Any):
    """A python-docx Document, or None when the file cannot be opened as one."""
    from docx import Document

    try:
        return Document(path)
    except Exception:  # noqa: BLE001 - any unreadable file is a failed task, as in OSWorld
        return None


def _odt_paragraphs(path: Any) -> list[str] | None:
    """Each <text:p>'s own text and that of its direct <text:span>s (OSWorld's reading)."""
    from odf.opendocument import load
    from odf.text import P

    try:
        document = load(path)
    except Exception:  # noqa: BLE001
        return None
    texts = []
    for paragraph in document.getElementsByType(P):
        parts = []
        for node in paragraph.childNodes:
            if node.nodeType == node.TEXT_NODE:
                parts.append(node.data)
            elif node.nodeType == node.ELEMENT_NODE and node.tagName == "text:span":
                parts.extend(c.data for c in node.childNodes if c.nodeType == c.TEXT_NODE)
        texts.append("".join(parts))
    return texts


def _paragraph_texts(path: Any, kind: str) -> list[str] | None:
    if kind == "odt":
        return _odt_paragraphs(path)
    document = open_docx(path)
    return None if document is None else [p.text for p in document.paragraphs]


def _flat(paragraphs: list[str]) -> str:
    """The paragraphs joined, every run of whitespace made one space."""
    return re.sub(r"\s+", " ", "\n".join(paragraphs)).strip()


def _ratio(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    return fuzz.ratio(a, b) / 100.0


@metric
def compare_docx_files(file1: Any, file2: Any, **options: Any) -> float:
    """Compare two .docx (or two .odt) documents' paragraph texts.

    Options: ``ignore_order`` (sort paragraphs), ``delete_empty_lines``, ``ignore_case``;
    ``content_only`` (the similarity ratio of the whitespace-folded texts);
    ``ignore_blanks`` (default True: the whitespace-folded texts must be equal, or give
    their ratio with ``fuzzy_match``); without it paragraphs must pair up one to one and
    be equal (``fuzzy_match``: the mean per-paragraph ratio).
    """
    if not file1 or not file2:
        return 0.0
    a, b = str(file1), str(file2)
    kind = "docx" if a.endswith(".docx") and b.endswith(".docx") else (
        "odt" if a.endswith(".odt") and b.endswith(".odt") else None)
    if kind is None:
        return 0.0
    first, second = _paragraph_texts(a, kind), _paragraph_texts(b, kind)
    if first is None or second is None:
        return 0.0
    ignore_case = options.get("ignore_case", False)
    if options.get("ignore_order", False):
        first, second = sorted(first), sorted(second)
    if options.get("delete_empty_lines", False):
        first, second = [p for p in first if p.strip()], [p for p in second if p.strip()]
    fold = str.lower if ignore_case else (lambda s: s)
    if options.get("content_only", False):
        return _ratio(fold(_flat(first)), fold(_flat(second)))
    if options.get("ignore_blanks", True):
        text1, text2 = fold(_flat(first)), fold(_flat(second))
        if options.get("fuzzy_match", False):
            return _ratio(text1, text2)
        return float(text1 == text2)
    if len(first) != len(second):
        return 0.0
    if options.get("fuzzy_match", False):
        if not first:
            return 1.0
        return sum(_ratio(fold(p), fold(q)) for p, q in zip(first, second)) / len(first)
    return float(all(fold(p) == fold(q) for p, q in zip(first, second)))


@metric
def compare_docx_files_and_ignore_new_lines(file1: Any, file2: Any, **options: Any) -> float:
    """Two .docx documents without their empty paragraphs: equal whitespace-folded texts
    (``ignore_blanks``, default True) or equal paragraph by paragraph."""
    if not file1 or not file2 or not (str(file1).endswith(".docx") and str(file2).endswith(".docx")):
        return 0.0
    first, second = _paragraph_texts(file1, "docx"), _paragraph_texts(file2, "docx")
    if first is None or second is None:
        return 0.0
    first, second = [p for p in first if p != ""], [p for p in second if p != ""]
    if options.get("ignore_blanks", True):
        return float(_flat(first) == _flat(second))
    return float(first == second)


@metric
def compare_docx_tables(docx_file1: Any, docx_file2: Any) -> float:
    """1 when both documents have the same tables: same count, shape and cell texts
    (stripped)."""
    if not docx_file1 or not docx_file2:
        return 0.0
    doc1, doc2 = open_docx(docx_file1), open_docx(docx_file2)
    if doc1 is None or doc2 is None or len(doc1.tables) != len(doc2.tables):
        return 0.0
    for t1, t2 in zip(doc1.tables, doc2.tables):
        if len(t1.rows) != len(t2.rows) or len(t1.columns) != len(t2.columns):
            return 0.0
        for i in range(len(t1.rows)):
            for j in range(len(t1.columns)):
                if t1.cell(i, j).text.strip() != t2.cell(i, j).text.strip():
                    return 0.0
    return 1.0


def _images(document) -> list[bytes]:
    return [rel.target_part.blob for rel in document.part.rels.values() if "image" in rel.reltype]


@metric
def compare_docx_images(docx_file1: Any, docx_file2: Any) -> float:
    """1 when both documents embed the same images in the same order (equal pixels)."""
    from PIL import Image

    if not docx_file1 or not docx_file2:
        return 0.0
    doc1, doc2 = open_docx(docx_file1), open_docx(docx_file2)
    if doc1 is None or doc2 is None:
        return 0.0
    images1, images2 = _images(doc1), _images(doc2)
    if len(images1) != len(images2):
        return 0.0
    return float(all(Image.open(io.BytesIO(x)).tobytes() == Image.open(io.BytesIO(y)).tobytes()
                     for x, y in zip(images1, images2)))


@metric
def compare_line_spacing(docx_file1: Any, docx_file2: Any) -> float:
    """1 when the texts match (compare_docx_files' defaults) and every paragraph has the
    same line spacing."""
    if not docx_file1 or not docx_file2 or not compare_docx_files(docx_file1, docx_file2):
        return 0.0
    doc1, doc2 = open_docx(docx_file1), open_docx(docx_file2)
    if doc1 is None or doc2 is None or len(doc1.paragraphs) != len(doc2.paragraphs):
        return 0.0
    return float(all(p.paragraph_format.line_spacing == q.paragraph_format.line_spacing
                     for p, q in zip(doc1.paragraphs, doc2.paragraphs)))


@metric
def compare_references(file1: Any, file2: Any, **options: Any) -> float:
    """Similarity of the reference lists after the ``reference_indicator`` paragraph
    (default "References"): the mean ratio of paired references, rescaled so that
    ``reference_base_result`` (default 0.5) + 0.01 or less scores 0 and 1 scores 1.
    Neither document having the section scores 1; one having it scores 0."""
    if not file1 or not file2 or not (str(file1).endswith(".docx") and str(file2).endswith(".docx")):
        return 0.0
    indicator = options.get("reference_indicator", "References")
    base = options.get("reference_base_result", 0.5)
    first, second = _paragraph_texts(file1, "docx"), _paragraph_texts(file2, "docx")
    if first is None or second is None:
        return 0.0
    if indicator not in first and indicator not in second:
        return 1.0
    if indicator not in first or indicator not in second:
        return 0.0
    refs1 = [p for p in first[first.index(indicator) + 1:] if p.strip()]
    refs2 = [p for p in second[second.index(indicator) + 1:] if p.strip()]
    if len(refs1) != len(refs2):
        return 0.0
    if not refs1:
        return 1.0
    mean = sum(_ratio(p, q) for p, q in zip(refs1, refs2)) / len(refs1)
    return (mean - base) / (1 - base) if mean >= base + 0.01 else 0.0


def _train_lines(path: Any) -> tuple[list[str], list[str]] | None:
    """(non-empty stripped lines, train ids of the "time, id, station, platform" lines)."""
    document = open_docx(path)
    if document is None:
        return None
    lines = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    return lines, [line.split(",")[1].strip() for line in lines if len(line.split(",")) == 4]


@metric
def compare_unique_train_records(processed: Any, expected: Any, **options: Any) -> float:
    """``expected`` is [gold, original]. 1 when every processed line comes from the
    original, no train id repeats, the ids are the gold's, and the line counts match."""
    if not processed or not isinstance(expected, list) or len(expected) < 2:
        return 0.0
    gold_path, original_path = expected[0], expected[1]
    if not gold_path or not original_path:
        return 0.0
    mine, gold, original = _train_lines(processed), _train_lines(gold_path), _train_lines(original_path)
    if mine is None or gold is None or original is None:
        return 0.0
    lines, ids = mine
    return float(set(lines) <= set(original[0]) and len(ids) == len(set(ids))
                 and set(ids) == set(gold[1]) and len(lines) == len(gold[0]))
