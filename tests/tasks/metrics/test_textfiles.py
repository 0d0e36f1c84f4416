"""compare_csv, check_csv and compare_result_files with OSWorld's verdicts."""

from kimicua.tasks.metrics.textfiles import check_csv, compare_csv, compare_result_files, read_lines


def _file(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_compare_csv_line_by_line(tmp_path):
    gold = _file(tmp_path, "gold.csv", "a,b\n1,2\n")
    assert compare_csv(_file(tmp_path, "same.csv", "\ufeffa,b\r\n1,2\r\n"), gold) == 1.0  # BOM, CRLF
    assert compare_csv(_file(tmp_path, "extra.csv", "a,b\n1,2\n3,4\n"), gold) == 0.0
    spaced = _file(tmp_path, "spaced.csv", "a,b \n1,2\n")
    assert compare_csv(spaced, gold) == 0.0
    assert compare_csv(spaced, gold, strict=False) == 1.0
    upper = _file(tmp_path, "upper.csv", "A,B\n1,2\n")
    assert compare_csv(upper, gold) == 0.0
    assert compare_csv(upper, gold, ignore_case=True) == 1.0
    assert compare_csv(None, gold) == 0.0
    assert compare_csv(str(tmp_path / "absent.csv"), gold) == 0.0


def test_compare_csv_accepts_any_of_several_golds(tmp_path):
    result = _file(tmp_path, "r.csv", "x\n2\n")
    golds = [_file(tmp_path, "g1.csv", "x\n1\n"), str(tmp_path / "missing.csv"), _file(tmp_path, "g3.csv", "x\n2\n")]
    assert compare_csv(result, golds) == 1.0
    assert compare_csv(result, golds[:2]) == 0.0


def test_read_lines_falls_back_to_latin1(tmp_path):
    assert read_lines(_file(tmp_path, "l1.csv", "café\n", encoding="latin-1")) == ["café"]


def test_check_csv_expect_and_unexpect(tmp_path):
    path = _file(tmp_path, "accounts.csv", "url,user\nimap://a.com,ann\nimap://b.com,bob\n")
    assert check_csv(path, {"expect": [{"user": "ann"}, {"url": "imap://b.com", "user": "bob"}]}) == 1.0
    assert check_csv(path, {"expect": [{"user": "carl"}]}) == 0.0
    assert check_csv(path, {"unexpect": [{"url": "imap://a.com", "user": "ann"}]}) == 0.0
    assert check_csv(path, {"unexpect": [{"url": "imap://a.com", "user": "bob"}]}) == 1.0
    assert check_csv(path, {"expect": [{"nothere": "x"}]}) == 0.0
    assert check_csv(None, {"expect": []}) == 0.0


def test_compare_result_files_numbers_and_text(tmp_path):
    gold = _file(tmp_path, "gold.txt", "42.5\n")
    assert compare_result_files(_file(tmp_path, "a.txt", "The answer is 42.5"), gold) == 1.0
    assert compare_result_files(_file(tmp_path, "b.txt", "42.50001"), gold) == 1.0
    assert compare_result_files(_file(tmp_path, "c.txt", "42.6"), gold) == 0.0
    assert compare_result_files(_file(tmp_path, "d.txt", "about 43"), gold) == 0.0
    words = _file(tmp_path, "w.txt", "yes")
    assert compare_result_files(_file(tmp_path, "e.txt", " yes \n"), words) == 1.0
    assert compare_result_files(_file(tmp_path, "f.txt", "yes!"), words) == 0.0
    assert compare_result_files(None, words) == 0.0
