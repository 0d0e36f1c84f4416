"""Word-processor metrics on documents made here (python-docx, odfpy), with OSWorld's verdicts."""

import io

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT
from docx.shared import Inches, Pt, RGBColor
from odf.opendocument import OpenDocumentText
from odf.style import Style, TextProperties
from odf.text import P, Span
from PIL import Image

from kimicua.tasks.metrics import word_format as wf
from kimicua.tasks.metrics.word import (compare_docx_files, compare_docx_files_and_ignore_new_lines,
                                        compare_docx_images, compare_docx_tables, compare_line_spacing,
                                        compare_references, compare_unique_train_records)


def _docx(path, paragraphs, edit=None):
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if edit:
        edit(document)
    document.save(path)
    return str(path)


def _odt(path, paragraphs, yellow_span=None):
    document = OpenDocumentText()
    highlight = Style(name="T1", family="text")
    highlight.addElement(TextProperties(backgroundcolor="#ffff00"))
    document.automaticstyles.addElement(highlight)
    for text in paragraphs:
        paragraph = P(text=text)
        if yellow_span and text == yellow_span:
            paragraph = P()
            paragraph.addElement(Span(stylename=highlight, text=text))
        document.text.addElement(paragraph)
    document.save(str(path))
    return str(path)


def test_compare_docx_files_default_ignores_blanks(tmp_path):
    gold = _docx(tmp_path / "g.docx", ["Hello world", "Second line"])
    assert compare_docx_files(_docx(tmp_path / "a.docx", ["Hello  world", "Second line "]), gold) == 1.0
    assert compare_docx_files(_docx(tmp_path / "b.docx", ["Hello world", "Second lane"]), gold) == 0.0
    joined = _docx(tmp_path / "c.docx", ["Hello world Second line"])
    assert compare_docx_files(joined, gold) == 1.0  # paragraph breaks are blanks too
    assert compare_docx_files(joined, gold, ignore_blanks=False) == 0.0
    assert compare_docx_files(None, gold) == 0.0
    assert compare_docx_files(str(tmp_path / "absent.docx"), gold) == 0.0


def test_compare_docx_files_options(tmp_path):
    gold = _docx(tmp_path / "g.docx", ["Alpha", "", "Beta"])
    shuffled = _docx(tmp_path / "s.docx", ["beta", "alpha", ""])
    assert compare_docx_files(shuffled, gold, ignore_blanks=False, ignore_case=True) == 0.0
    assert compare_docx_files(shuffled, gold, ignore_blanks=False, ignore_case=True, ignore_order=True) == 1.0
    assert compare_docx_files(shuffled, gold, ignore_blanks=False, ignore_order=True) == 0.0
    tight = _docx(tmp_path / "t.docx", ["Beta", "Alpha"])
    assert compare_docx_files(tight, gold, ignore_blanks=False, ignore_order=True) == 0.0
    assert compare_docx_files(tight, gold, ignore_blanks=False, ignore_order=True, delete_empty_lines=True) == 1.0
    near = _docx(tmp_path / "n.docx", ["Alpha", "", "Betb"])
    assert compare_docx_files(near, gold, fuzzy_match=True) == pytest.approx(0.9, abs=0.01)
    assert compare_docx_files(near, gold, ignore_blanks=False, fuzzy_match=True) == pytest.approx((1 + 1 + 0.75) / 3)
    assert compare_docx_files(near, gold, content_only=True) == pytest.approx(0.9, abs=0.01)


def test_compare_docx_files_reads_odt_and_refuses_mixed_types(tmp_path):
    gold = _odt(tmp_path / "g.odt", ["One", "Two"])
    assert compare_docx_files(_odt(tmp_path / "a.odt", ["One", "Two"]), gold) == 1.0
    assert compare_docx_files(_odt(tmp_path / "b.odt", ["One", "Three"]), gold) == 0.0
    assert compare_docx_files(_docx(tmp_path / "c.docx", ["One", "Two"]), gold) == 0.0


def test_compare_docx_files_and_ignore_new_lines(tmp_path):
    gold = _docx(tmp_path / "g.docx", ["A", "B"])
    spaced = _docx(tmp_path / "s.docx", ["A", "", "", "B"])
    assert compare_docx_files_and_ignore_new_lines(spaced, gold, ignore_blanks=False) == 1.0
    assert compare_docx_files_and_ignore_new_lines(_docx(tmp_path / "t.docx", ["A B"]), gold, ignore_blanks=False) == 0.0
    assert compare_docx_files_and_ignore_new_lines(_docx(tmp_path / "u.docx", ["A B"]), gold) == 1.0


def _table(cells):
    def edit(document):
        table = document.add_table(rows=len(cells), cols=len(cells[0]))
        for i, row in enumerate(cells):
            for j, text in enumerate(row):
                table.cell(i, j).text = text
    return edit


def test_compare_docx_tables(tmp_path):
    gold = _docx(tmp_path / "g.docx", [], _table([["a", "b"], ["c", "d"]]))
    assert compare_docx_tables(_docx(tmp_path / "a.docx", ["text"], _table([["a ", "b"], ["c", "d"]])), gold) == 1.0
    assert compare_docx_tables(_docx(tmp_path / "b.docx", [], _table([["a", "b"], ["c", "x"]])), gold) == 0.0
    assert compare_docx_tables(_docx(tmp_path / "c.docx", [], _table([["a", "b"]])), gold) == 0.0
    assert compare_docx_tables(_docx(tmp_path / "d.docx", []), gold) == 0.0


def _picture(color):
    def edit(document):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), color).save(buffer, "PNG")
        buffer.seek(0)
        document.add_picture(buffer, width=Inches(1))
    return edit


def test_compare_docx_images(tmp_path):
    gold = _docx(tmp_path / "g.docx", ["x"], _picture("red"))
    assert compare_docx_images(_docx(tmp_path / "a.docx", ["y"], _picture("red")), gold) == 1.0
    assert compare_docx_images(_docx(tmp_path / "b.docx", ["x"], _picture("blue")), gold) == 0.0
    assert compare_docx_images(_docx(tmp_path / "c.docx", ["x"]), gold) == 0.0


def _spacing(value):
    def edit(document):
        for paragraph in document.paragraphs:
            paragraph.paragraph_format.line_spacing = value
    return edit


def test_compare_line_spacing(tmp_path):
    gold = _docx(tmp_path / "g.docx", ["a", "b"], _spacing(2.0))
    assert compare_line_spacing(_docx(tmp_path / "a.docx", ["a", "b"], _spacing(2.0)), gold) == 1.0
    assert compare_line_spacing(_docx(tmp_path / "b.docx", ["a", "b"], _spacing(1.5)), gold) == 0.0
    assert compare_line_spacing(_docx(tmp_path / "c.docx", ["a", "c"], _spacing(2.0)), gold) == 0.0


def test_compare_references_rescales_similarity(tmp_path):
    refs = ["Smith, J. (2020). A study of things.", "Doe, A. (2019). Other work."]
    gold = _docx(tmp_path / "g.docx", ["Body", "References", *refs])
    assert compare_references(_docx(tmp_path / "a.docx", ["Other body", "References", "", *refs]), gold,
                              reference_base_result=0.6) == 1.0
    typo = _docx(tmp_path / "b.docx", ["References", refs[0], "Doe, A. (2019). Other wrk."])
    score = compare_references(typo, gold, reference_base_result=0.6)
    assert 0.9 < score < 1.0
    assert compare_references(_docx(tmp_path / "c.docx", ["References", refs[0]]), gold) == 0.0
    assert compare_references(_docx(tmp_path / "d.docx", ["Body"]), gold) == 0.0
    assert compare_references(_docx(tmp_path / "e.docx", ["x"]), _docx(tmp_path / "f.docx", ["y"])) == 1.0


def test_compare_unique_train_records(tmp_path):
    lines = ["Train log", "08:00:00, T1, S1, 1", "08:05:00, T2, S2, 2", "08:10:00, T1, S3, 1"]
    original = _docx(tmp_path / "orig.docx", lines)
    gold = _docx(tmp_path / "gold.docx", lines[:3])
    assert compare_unique_train_records(_docx(tmp_path / "a.docx", lines[:3]), [gold, original]) == 1.0
    assert compare_unique_train_records(_docx(tmp_path / "b.docx", lines), [gold, original]) == 0.0  # T1 twice
    assert compare_unique_train_records(_docx(tmp_path / "c.docx", lines[:2]), [gold, original]) == 0.0  # T2 gone
    invented = _docx(tmp_path / "d.docx", [*lines[:2], "09:00:00, T2, S9, 3"])
    assert compare_unique_train_records(invented, [gold, original]) == 0.0
    assert compare_unique_train_records(_docx(tmp_path / "e.docx", lines[1:3]), [gold, original]) == 0.0  # line count
    assert compare_unique_train_records(gold, gold) == 0.0  # expected must be [gold, original]


def _runs(*runs):
    """Each run: (text, dict of font attributes)."""
    def edit(document):
        paragraph = document.add_paragraph()
        for text, attrs in runs:
            run = paragraph.add_run(text)
            for key, value in attrs.items():
                setattr(run.font, key, value)
    return edit


def test_compare_font_names(tmp_path):
    good = _docx(tmp_path / "a.docx", [], _runs(("x", {"name": "Times New Roman"}), ("y", {"name": "Times New Roman"})))
    mixed = _docx(tmp_path / "b.docx", [], _runs(("x", {"name": "Times New Roman"}), ("y", {})))
    assert wf.compare_font_names(good, {"font_name": "Times New Roman"}) == 1.0
    assert wf.compare_font_names(mixed, {"font_name": "Times New Roman"}) == 0.0


def test_compare_subscript_contains(tmp_path):
    h2o = _docx(tmp_path / "a.docx", [], _runs(("H", {}), ("2", {"subscript": True}), ("O", {})))
    plain = _docx(tmp_path / "b.docx", [], _runs(("H", {}), ("2", {}), ("O", {})))
    assert wf.compare_subscript_contains(h2o, h2o) == 1.0
    assert wf.compare_subscript_contains(plain, h2o) == 0.0


def test_has_page_numbers_in_footers(tmp_path):
    numbered = _docx(tmp_path / "a.docx", ["x"],
                     lambda d: setattr(d.sections[0].footer.paragraphs[0], "text", "Page 1"))
    assert wf.has_page_numbers_in_footers(numbered) == 1.0
    assert wf.has_page_numbers_in_footers(_docx(tmp_path / "b.docx", ["x"])) == 0.0


def test_is_first_line_centered(tmp_path):
    def center(document):
        document.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER

    assert wf.is_first_line_centered(_docx(tmp_path / "a.docx", ["Title", "x"], center)) == 1.0
    assert wf.is_first_line_centered(_docx(tmp_path / "b.docx", ["Title", "x"])) == 0.0


def test_contains_page_break(tmp_path):
    def breaks(n):
        def edit(document):
            for _ in range(n):
                document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        return edit

    two = _docx(tmp_path / "a.docx", ["x"], breaks(2))
    assert wf.contains_page_break(two, {}) == 1.0
    assert wf.contains_page_break(two, {"page_break_count": 2}) == 1.0
    assert wf.contains_page_break(two, {"page_break_count": 5}) == 0.0
    assert wf.contains_page_break(_docx(tmp_path / "b.docx", ["x"]), {}) == 0.0


def test_check_italic_font_size_14(tmp_path):
    good = _docx(tmp_path / "a.docx", [], _runs(("a", {"italic": True, "size": Pt(14)}), ("b", {})))
    bad = _docx(tmp_path / "b.docx", [], _runs(("a", {"italic": True, "size": Pt(12)}), ("b", {})))
    gold = _docx(tmp_path / "g.docx", ["ab"])
    assert wf.check_italic_font_size_14(good, gold) == 1.0
    assert wf.check_italic_font_size_14(bad, gold) == 0.0
    assert wf.check_italic_font_size_14(good, _docx(tmp_path / "h.docx", ["abc"])) == 0.0  # texts differ


def test_evaluate_strike_through_last_paragraph(tmp_path):
    gold = _docx(tmp_path / "g.docx", ["first", "last one"])
    struck = _docx(tmp_path / "a.docx", ["first"], _runs(("last ", {"strike": True}), ("one", {"strike": True})))
    half = _docx(tmp_path / "b.docx", ["first"], _runs(("last ", {"strike": True}), ("one", {})))
    assert wf.evaluate_strike_through_last_paragraph(struck, gold) == 1.0
    assert wf.evaluate_strike_through_last_paragraph(half, gold) == 0.0


def _colored_table(colors):
    def edit(document):
        table = document.add_table(rows=1, cols=len(colors))
        for cell, (word, rgb) in zip(table.rows[0].cells, colors):
            cell.paragraphs[0].add_run(word).font.color.rgb = RGBColor(*rgb)
    return edit


def test_evaluate_colored_words_in_tables(tmp_path):
    gold = _docx(tmp_path / "g.docx", [], _colored_table([("apple", (0, 0, 0)), ("tree", (0, 0, 0))]))
    good = _docx(tmp_path / "a.docx", [], _colored_table([("apple", (255, 0, 0)), ("tree", (0, 0, 254))]))
    bad = _docx(tmp_path / "b.docx", [], _colored_table([("apple", (0, 0, 255)), ("tree", (0, 0, 255))]))
    assert wf.evaluate_colored_words_in_tables(good, gold) == 1.0
    assert wf.evaluate_colored_words_in_tables(bad, gold) == 0.0


def _tabs(position, alignment=WD_TAB_ALIGNMENT.LEFT, texts=("Name Surname\tRole", "Ann Lee\tChair")):
    def edit(document):
        for text in texts:
            document.add_paragraph(text).paragraph_format.tab_stops.add_tab_stop(position, alignment)
    return edit


def test_check_tabstops(tmp_path):
    gold = _docx(tmp_path / "g.docx", [], _tabs(Inches(2)))
    assert wf.check_tabstops(_docx(tmp_path / "a.docx", [], _tabs(Inches(2))), gold) == 1.0
    moved = wf.check_tabstops(_docx(tmp_path / "b.docx", [], _tabs(Inches(2.6))), gold)
    assert moved == pytest.approx(1 - 0.6 / 6.0)  # default page: 8.5in less two 1.25in margins
    assert wf.check_tabstops(_docx(tmp_path / "c.docx", [], _tabs(Inches(2), WD_TAB_ALIGNMENT.RIGHT)), gold) == 0.0
    result = _docx(tmp_path / "d.docx", [], _tabs(Inches(2)))
    assert wf.check_tabstops(result, gold, word_number_split_by_tabstop=2, index=0) == 1.0
    assert wf.check_tabstops(result, gold, word_number_split_by_tabstop=3, index=0) == 0.0


def test_check_highlighted_words_wants_highlights_removed(tmp_path):
    gold = _odt(tmp_path / "g.odt", ["Call them", "Ask"])
    clean = _odt(tmp_path / "a.odt", ["Call them", "Ask"])
    still = _odt(tmp_path / "b.odt", ["Call them", "Ask"], yellow_span="Ask")
    assert wf.check_highlighted_words(clean, gold) == 1.0
    assert wf.check_highlighted_words(still, gold) == 0.0
    assert wf.check_highlighted_words(_odt(tmp_path / "c.odt", ["Call"]), gold) == 0.0
