"""compare_epub on small EPUB-shaped zips written here."""

import zipfile

import pytest

from kimicua.tasks.metrics.epub import compare_epub

TOC = "<ncx>\n<navMap>\n<navPoint id='n1'/>\n</navMap>\n</ncx>\n"
OPF = "<package>\n<dc:identifier>{uid}</dc:identifier>\n<dc:title>Book</dc:title>\n</package>\n"


def _epub(path, chapter, uid="1", toc=TOC):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/epub+zip")
        zf.writestr("toc.ncx", toc)
        zf.writestr("content.opf", OPF.format(uid=uid))
        zf.writestr("index.html", f"<html><body><p>{chapter}</p>\n<p>End</p></body></html>")
    return str(path)


def test_identifiers_and_nav_points_are_ignored(tmp_path):
    gold = _epub(tmp_path / "gold.epub", "Chapter one")
    other_ids = _epub(tmp_path / "ids.epub", "Chapter one", uid="2",
                      toc="<ncx>\n<navMap>\n<navPoint id='zz'/>\n</navMap>\n</ncx>\n")
    assert compare_epub(other_ids, gold) == 1.0


def test_changed_chapter_lowers_the_score(tmp_path):
    gold = _epub(tmp_path / "gold.epub", "Chapter one")
    score = compare_epub(_epub(tmp_path / "edit.epub", "Chapter two"), gold)
    assert 2 / 3 < score < 1.0  # two of three files identical, the html partly
    assert compare_epub(None, gold) == 0.0
    not_zip = tmp_path / "x.epub"
    not_zip.write_text("plain")
    assert compare_epub(str(not_zip), gold) == 0.0


def test_a_book_without_toc_is_an_error(tmp_path):
    path = tmp_path / "bare.epub"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("content.opf", "<package/>")
    with pytest.raises(KeyError):
        compare_epub(str(path), str(path))
