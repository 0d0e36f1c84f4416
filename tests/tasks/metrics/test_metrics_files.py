import sqlite3
import tarfile
import zipfile

import pytest

from kimicua.tasks.metrics import files as m
from kimicua.tasks.metrics.registry import METRICS


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_list(tmp_path):
    listing = write(tmp_path / "wmctrl.out", "0x01 org.gnome.Nautilus.Org.gnome.Nautilus host OSWorld\n"
                                             "0x02 gnome-terminal-server.Gnome-terminal host ~/Documents/Projects/OSWorld\n")
    rules = {"expect": [r"\borg\.gnome\.Nautilus\.Org\.gnome\.Nautilus\b.*\bOSWorld\b",
                        r"gnome-terminal-server\.Gnome-terminal\b.*~/Documents/Projects/OSWorld\b"]}
    assert m.check_list(listing, rules) == 1.0
    assert m.check_list(listing, {"expect": ["Orchis"]}) == 0.0
    assert m.check_list(listing, {"unexpect": ["host"]}) == 0.0
    assert m.check_list(write(tmp_path / "empty.out", ""), {"unexpect": [".+"]}) == 1.0  # diff found nothing
    assert m.check_list(write(tmp_path / "diff.out", "< a\n"), {"unexpect": [".+"]}) == 0.0
    assert m.check_list(write(tmp_path / "blank.out", "\n\n"), {"unexpect": [".+"]}) == 1.0  # "." skips newlines
    assert m.check_list(None, rules) == 0.0


def test_check_line_number(tmp_path):
    report = write(tmp_path / "r.txt", "12:00:01 cpu 3%\nheader\n23:59:60 mem\n24:00:00 not a time\n")
    assert m.check_line_number(report, {"expected": "2"}) == 1.0
    assert m.check_line_number(report, {"expected": "3"}) == 0.0
    assert m.check_line_number(str(tmp_path / "none.txt"), {"expected": "0"}) == 0.0


def test_compare_python_pure_text(tmp_path):
    gold = write(tmp_path / "gold.py", "import os\n\ndef f():\n    return 1\n")
    same = write(tmp_path / "a.py", "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nimport os\n\n\ndef f():\n\treturn 1   \n")
    markdown = write(tmp_path / "b.py", "```python\nimport os\ndef f():\n    return 1\n```\n")
    late_shebang = write(tmp_path / "c.py", "import os\n#!/usr/bin/env python\ndef f():\n    return 1\n")
    assert m.compare_python_pure_text(same, gold) == 1.0
    assert m.compare_python_pure_text(markdown, gold) == 0.0
    assert m.compare_python_pure_text(late_shebang, gold) == 0.0  # only leading metadata is skipped
    assert m.compare_python_pure_text(None, gold) == 0.0


def test_run_sqlite3(tmp_path):
    db = tmp_path / "g.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE messages (id INTEGER, folderID INTEGER)")
        con.executemany("INSERT INTO messages VALUES (?, ?)", [(1, 13), (2, 13), (3, 7)])
    assert m.run_sqlite3(str(db), {"sql": "SELECT COUNT(*) = 2 FROM messages WHERE folderID = 13"}) == 1.0
    assert m.run_sqlite3(str(db), {"sql": "SELECT COUNT(*) FROM messages WHERE folderID = 99"}) == 0.0
    assert m.run_sqlite3(str(db), {"sql": "SELECT NULL"}) == 0.0
    assert m.run_sqlite3(str(db), {"sql": "SELECT * FROM nope"}) == 0.0
    assert m.run_sqlite3(str(tmp_path / "missing.sqlite"), {"sql": "SELECT 1"}) == 0.0
    assert not (tmp_path / "missing.sqlite").exists()


def test_fuzzy_place_math(tmp_path):
    docx = pytest.importorskip("docx")
    answers = ["深圳市福田区益田路5055号", "深圳市福田区福华三路111号", "深圳市南山区科苑路15号"]
    doc = docx.Document()
    for place in ["深圳市福田区益田路5055号", "深圳市福田区福华三路111号", "深圳市南山区科苑路16号"]:
        doc.add_paragraph(place)
    doc.save(tmp_path / "all.docx")
    score = m.fuzzy_place_math(str(tmp_path / "all.docx"), {"expected": answers})
    assert score == pytest.approx((1 + 1 + 11 / 12) / 3, abs=0.01)
    doc.add_paragraph("extra")
    doc.save(tmp_path / "four.docx")
    assert m.fuzzy_place_math(str(tmp_path / "four.docx"), {"expected": answers}) == 0.0


def test_check_python_file_by_test_suite(tmp_path):
    write(tmp_path / "snake.py", "def eats(head, food):\n    return head == food\n")
    suite = write(tmp_path / "test_suite.py", "from snake import eats\n\ndef test():\n    return eats((1, 2), (1, 2))\n"
                                               "\ndef partial():\n    return 0.25\n\ndef crash():\n    raise SystemExit(3)\n")
    assert m.check_python_file_by_test_suite([str(tmp_path / "snake.py")], suite) == 1.0
    assert m.check_python_file_by_test_suite(None, suite, test_function_name="partial") == 0.25
    assert m.check_python_file_by_test_suite(None, suite, test_function_name="crash") == 0.0
    assert m.check_python_file_by_test_suite(None, suite, test_function_name="missing") == 0.0
    write(tmp_path / "snake.py", "def eats(head, food):\n    return False\n")
    assert m.check_python_file_by_test_suite(None, suite) == 0.0
    assert m.check_python_file_by_test_suite(None, str(tmp_path / "nope.py")) == 0.0


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def test_compare_zip_files(tmp_path):
    gold = make_zip(tmp_path / "gold.zip", {"essay.txt": "text", "refs.txt": "a"})
    assert m.compare_zip_files(make_zip(tmp_path / "a.zip", {"refs.txt": "a", "essay.txt": "text"}), gold) == 1.0
    assert m.compare_zip_files(make_zip(tmp_path / "b.zip", {"essay.txt": "text"}), gold) == 0.0
    assert m.compare_zip_files(make_zip(tmp_path / "c.zip", {"essay.txt": "text!", "refs.txt": "a"}), gold) == 0.0
    assert m.compare_zip_files(None, gold) == 0.0


def test_compare_archive_compares_each_file_with_the_file_type_metric(tmp_path):
    gold = make_zip(tmp_path / "gold.zip", {"slides/a.txt": "one", "slides/b.txt": "two"})
    same_tar = tmp_path / "pred.tar.gz"
    for name, text in {"a.txt": "one", "b.txt": "two"}.items():
        write(tmp_path / name, text)
    with tarfile.open(same_tar, "w:gz") as t:
        t.add(tmp_path / "a.txt", arcname="slides/a.txt")
        t.add(tmp_path / "b.txt", arcname="slides/b.txt")
    assert m.compare_archive(str(same_tar), gold, file_path="slides") == 1.0
    half = make_zip(tmp_path / "half.zip", {"slides/a.txt": "one", "slides/b.txt": "TWO"})
    assert m.compare_archive(half, gold, file_path="slides") == 0.5
    assert m.compare_archive(half, gold, file_path="slides", ignore_case=True) == 1.0  # options reach the metric
    fewer = make_zip(tmp_path / "fewer.zip", {"slides/a.txt": "one"})
    assert m.compare_archive(fewer, gold, file_path="slides") == 0.0
    assert m.compare_archive(None, gold) == 0.0
    with pytest.raises(ValueError, match="file_type"):
        m.compare_archive(half, gold, file_type="movie")


def test_compare_archive_uses_whatever_metric_is_registered(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setitem(METRICS, "compare_pdfs", lambda a, b, **o: seen.append((a[-5:], b[-5:])) or 1.0)
    gold = make_zip(tmp_path / "gold.zip", {"x.pdf": "%PDF", "y.pdf": "%PDF"})
    assert m.compare_archive(make_zip(tmp_path / "p.zip", {"x.pdf": "1", "y.pdf": "2"}), gold, file_type="pdf") == 1.0
    assert seen == [("x.pdf", "x.pdf"), ("y.pdf", "y.pdf")]
