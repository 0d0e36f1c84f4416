"""Word-processor formatting checks: fonts, sub/strike-through, italics, colours,
alignment, page numbers and breaks, tab stops, highlights.

Several first require the texts to match (compare_docx_files with its defaults), as in
OSWorld; a missing path or an unreadable document scores 0.
"""

from __future__ import annotations

import re
from typing import Any

from kimicua.tasks.metrics.registry import metric
from kimicua.tasks.metrics.word import compare_docx_files, open_docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@metric
def compare_font_names(docx_file: Any, rules: dict[str, Any]) -> float:
    """1 when every run of the body's paragraphs names the font ``rules["font_name"]``
    (a run that inherits its font names none, and fails)."""
    document = open_docx(docx_file) if docx_file else None
    if document is None:
        return 0.0
    return float(all(run.font.name == rules["font_name"] for p in document.paragraphs for run in p.runs))


@metric
def compare_subscript_contains(docx_file1: Any, docx_file2: Any) -> float:
    """1 when some paired run (same paragraph and run index) is subscript in both."""
    doc1 = open_docx(docx_file1) if docx_file1 else None
    doc2 = open_docx(docx_file2) if docx_file2 else None
    if doc1 is None or doc2 is None:
        return 0.0
    return float(any(r1.font.subscript and r2.font.subscript
                     for p1, p2 in zip(doc1.paragraphs, doc2.paragraphs) for r1, r2 in zip(p1.runs, p2.runs)))


@metric
def has_page_numbers_in_footers(docx_file: Any) -> float:
    """1 when every section's footer has a digit in its first paragraph."""
    document = open_docx(docx_file) if docx_file else None
    if document is None:
        return 0.0
    for section in document.sections:
        footer = section.footer
        text = footer.paragraphs[0].text if footer.paragraphs else ""
        if not any(ch.isdigit() for ch in text):
            return 0.0
    return 1.0


@metric
def is_first_line_centered(docx_file: Any) -> float:
    """1 when the first paragraph is centred (explicitly, not by style)."""
    from docx.enum.text import WD_PARAGRAPH_ALIGNMENT

    document = open_docx(docx_file) if docx_file else None
    if document is None:
        return 0.0
    return float(document.paragraphs[0].paragraph_format.alignment == WD_PARAGRAPH_ALIGNMENT.CENTER)


@metric
def contains_page_break(docx_file: Any, rules: dict[str, Any]) -> float:
    """1 when the body has page breaks (<w:br w:type="page"/> in its runs), exactly
    ``rules["page_break_count"]`` of them when given."""
    document = open_docx(docx_file) if docx_file else None
    if document is None:
        return 0.0
    count = sum(1 for p in document.paragraphs for run in p.runs
                for br in run.element.iter(f"{_W}br") if br.get(f"{_W}type") == "page")
    want = rules.get("page_break_count") if isinstance(rules, dict) else None
    if want is not None and count != want:
        return 0.0
    return float(count > 0)


def _texts_match(file1: Any, file2: Any) -> bool:
    return bool(file1) and bool(file2) and bool(compare_docx_files(file1, file2))


@metric
def check_italic_font_size_14(path1: Any, path2: Any) -> float:
    """1 when the texts match and every italic run is 14 pt."""
    if not _texts_match(path1, path2):
        return 0.0
    document = open_docx(path1)
    if document is None:
        return 0.0
    return float(all(run.font.size is not None and run.font.size.pt == 14
                     for p in document.paragraphs for run in p.runs if run.italic))


@metric
def evaluate_strike_through_last_paragraph(file_path1: Any, file_path2: Any) -> float:
    """1 when the texts match and every run of the last paragraph is struck through."""
    if not _texts_match(file_path1, file_path2):
        return 0.0
    document = open_docx(file_path1)
    if document is None:
        return 0.0
    return float(all(run.font.strike for run in document.paragraphs[-1].runs))


def _delta_e(rgb1, rgb2) -> float:
    """CIEDE2000 colour difference of two 0-255 RGB triples."""
    import numpy as np
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab1 = rgb2lab(np.array([c / 255.0 for c in rgb1[:3]]))
    lab2 = rgb2lab(np.array([c / 255.0 for c in rgb2[:3]]))
    return float(deltaE_ciede2000(lab1, lab2))


@metric
def evaluate_colored_words_in_tables(file_path1: Any, file_path2: Any, **options: Any) -> float:
    """1 when the texts match and, in every table, each run starting with a vowel is red
    and every other non-empty run blue (CIEDE2000 difference <= ``threshold``, 3.5).
    A run without an explicit colour is an error, as in OSWorld."""
    if not _texts_match(file_path1, file_path2):
        return 0.0
    document = open_docx(file_path1)
    if document is None:
        return 0.0
    threshold = options.get("threshold", 3.5)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                for paragraph in cell.paragraphs:
                    for run in paragraph.runs:
                        if not run.text:
                            continue
                        color = run.font.color.rgb
                        if color is None:
                            raise ValueError(f"run {run.text!r} in a table has no explicit colour")
                        target = (255, 0, 0) if run.text[0].lower() in "aeiou" else (0, 0, 255)
                        if _delta_e(color, target) > threshold:
                            return 0.0
    return 1.0


@metric
def check_tabstops(docx_file1: Any, docx_file2: Any, **options: Any) -> float:
    """How closely the non-empty paragraphs' tab stops match the expected ones.

    Paragraph counts, tab-stop counts and alignments must match (else 0); the score is 1
    minus the mean over paragraphs of the summed position differences divided by the
    text width. With ``word_number_split_by_tabstop`` each result paragraph's
    ``index``-th tab-separated part must hold exactly that many words.
    """
    from docx.enum.text import WD_TAB_ALIGNMENT

    doc1 = open_docx(docx_file1) if docx_file1 else None
    doc2 = open_docx(docx_file2) if docx_file2 else None
    if doc1 is None or doc2 is None:
        return 0.0
    paras1 = [p for p in doc1.paragraphs if p.text.strip()]
    paras2 = [p for p in doc2.paragraphs if p.text.strip()]
    if len(paras1) != len(paras2):
        return 0.0
    words = options.get("word_number_split_by_tabstop")
    if words is not None:
        index = options.get("index", 0)
        for p in paras1:
            part = p.text.split("\t")[index]
            if len([w for w in re.split(r"\s", part) if w.strip()]) != words:
                return 0.0
    section = doc2.sections[0]
    width = section.page_width - section.left_margin - section.right_margin

    def kept(stops) -> list:
        return [t for t in stops if not (t.alignment == WD_TAB_ALIGNMENT.CLEAR
                                         or (t.alignment == WD_TAB_ALIGNMENT.LEFT and t.position == 0))]

    minus = 0.0
    for p1, p2 in zip(paras1, paras2):
        tabs1, tabs2 = kept(p1.paragraph_format.tab_stops), kept(p2.paragraph_format.tab_stops)
        if len(tabs1) != len(tabs2) or any(t1.alignment != t2.alignment for t1, t2 in zip(tabs1, tabs2)):
            return 0.0
        minus += sum(abs(t1.position - t2.position) for t1, t2 in zip(tabs1, tabs2)) / width
    return 1 - minus / len(paras1)


@metric
def check_highlighted_words(file_path1: Any, file_path2: Any) -> float:
    """For .odt files: 1 when the texts match and no span uses an automatic style with
    a yellow (#ffff00) background, i.e. the highlights were removed."""
    from odf.opendocument import load
    from odf.text import Span

    if not _texts_match(file_path1, file_path2):
        return 0.0
    document = load(file_path1)

    def yellow(style_name: str) -> bool:
        return any(prop.getAttribute("backgroundcolor") == "#ffff00"
                   for style in document.automaticstyles.childNodes if style.getAttribute("name") == style_name
                   for prop in style.childNodes)

    return float(not any(yellow(name) for span in document.getElementsByType(Span)
                         if (name := span.getAttribute("stylename"))))
