import pytest

from kimicua.tasks.metrics import general as m


def test_exact_match():
    assert m.exact_match("true", {"expected": "true"}) == 1.0
    assert m.exact_match("True", {"expected": "true"}) == 0.0
    assert m.exact_match(["a"], {"expected": ["a"]}) == 1.0
    assert m.exact_match(None, {"expected": "x"}) == 0.0


def test_check_include_exclude():
    rules = {"include": ["43 132"], "exclude": ["error"]}
    assert m.check_include_exclude("rows 43 132\n", rules) == 1.0
    assert m.check_include_exclude("43 132 error", rules) == 0.0
    assert m.check_include_exclude("24 80", rules) == 0.0
    assert m.check_include_exclude(None, rules) == 0.0
    assert m.check_include_exclude("anything", {}) == 1.0  # nothing required, nothing forbidden
    assert m.check_include_exclude(["Reference", "xterm"], {"include": ["Reference"], "exclude": ["Scratch"]}) == 1.0


def test_is_expected_url_pattern_match_needs_every_pattern():
    rules = {"expected": [r"/manchester/", r"weather"]}
    assert m.is_expected_url_pattern_match("https://x.com/manchester/weather", rules) == 1.0
    assert m.is_expected_url_pattern_match({"url": "https://x.com/manchester/"}, rules) == 0.0
    assert m.is_expected_url_pattern_match("", rules) == 0.0
    assert m.is_expected_url_pattern_match(None, rules) == 0.0


def test_is_expected_active_tab_normalises_host_and_slash():
    rules = {"type": "url", "url": "https://www.drugs.com/npc/"}
    assert m.is_expected_active_tab("https://drugs.com/npc", rules) == 1.0
    assert m.is_expected_active_tab({"url": "https://WWW.drugs.com/npc/"}, rules) == 1.0
    assert m.is_expected_active_tab("https://drugs.com/npp/", rules) == 0.0
    assert m.is_expected_active_tab("https://drugs.com/npc?x=1", rules) == 0.0
    assert m.is_expected_active_tab(None, rules) == 0.0
    assert m.is_expected_active_tab("https://drugs.com/npc/", {"type": "title", "url": "x"}) == 0.0


def test_match_in_list_and_is_in_list_are_opposite_directions():
    assert m.match_in_list("b", {"expected": ["a", "b"]}) == 1.0
    assert m.match_in_list("c", {"expected": ["a", "b"]}) == 0.0
    assert m.is_in_list(["a", "b"], {"expected": "b"}) == 1.0
    assert m.is_in_list(["a"], {"expected": "b"}) == 0.0
    assert m.is_in_list(None, {"expected": "b"}) == 0.0


def test_fuzzy_match_is_difflib_ratio():
    assert m.fuzzy_match("Invoice arrived late", {"expected": "Invoice arrived late"}) == 1.0
    assert m.fuzzy_match("abcd", {"expected": "abce"}) == pytest.approx(0.75)
    assert m.fuzzy_match("", {"expected": "abc"}) == 0.0
    assert m.fuzzy_match(None, {"expected": "abc"}) == 0.0


def test_literal_match_str_and_list():
    assert m.literal_match(3, "3") == 1.0
    assert m.literal_match("ABC", "abc") == 0.0
    assert m.literal_match("ABC", "abc", ignore_case=True) == 1.0
    assert m.literal_match(["a", "B"], ["a", "b"], type="list", ignore_case=True) == 1.0
    assert m.literal_match(["a", "b"], ["b", "a"], type="list") == 0.0
    assert m.literal_match(["a"], ["a", "b"], type="list") == 0.0
    assert m.literal_match("a", ["a"], type="list") == 0.0
    with pytest.raises(ValueError, match="literal_match type"):
        m.literal_match("a", "a", type="set")


def test_check_direct_json_object_exact_and_in_result():
    rules = {"expected": {"q": "kiwi", "page": "1"}}
    assert m.check_direct_json_object({"q": "kiwi", "page": "1", "extra": 0}, rules) == 1.0
    assert m.check_direct_json_object({"q": "kiwi"}, rules) == 0.0
    assert m.check_direct_json_object("{'q': 'kiwi', 'page': '1'}", rules) == 1.0  # OSWorld accepts single quotes
    assert m.check_direct_json_object("not json", rules) == 0.0
    assert m.check_direct_json_object(None, rules) == 0.0
    nested = {"expected": {"notifications": {"email": False, "sms": True}}}
    assert m.check_direct_json_object({"notifications": {"email": False, "sms": True}}, nested) == 1.0
    assert m.check_direct_json_object({"notifications": {"email": True, "sms": True}}, nested) == 0.0
    order = {"expected": {"tags": ["b", "a"]}, "ignore_list_order": True}
    assert m.check_direct_json_object({"tags": ["a", "b"]}, order) == 1.0
    assert m.check_direct_json_object({"tags": ["a", "b"]}, {"expected": {"tags": ["b", "a"]}}) == 0.0
    inres = {"expected": {"title": "Zurich", "tags": ["x", "y"]}, "expect_in_result": True}
    assert m.check_direct_json_object({"title": "Hotels in Zurich", "tags": ["y"]}, inres) == 1.0
    assert m.check_direct_json_object({"title": "Hotels in Bern", "tags": ["y"]}, inres) == 0.0
    assert m.check_direct_json_object({"title": "Zurich", "tags": ["z"]}, inres) == 0.0


def test_text_file_metrics(tmp_path):
    a, b, c = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    a.write_text("Hello  World\n")
    b.write_text("hello world")
    c.write_text("Hello  World\n")
    assert m.compare_text_file(str(a), str(c)) == 1.0
    assert m.compare_text_file(str(a), str(b)) == 0.0
    assert m.compare_text_file(str(a), str(b), ignore_blanks=True) == 0.0
    assert m.compare_text_file(str(a), str(b), ignore_blanks=True, ignore_case=True) == 1.0
    assert m.compare_text_file(None, str(b)) == 0.0
    assert m.compare_text_file(str(tmp_path / "missing.txt"), str(b)) == 0.0
    d = tmp_path / "d.txt"
    d.write_text("one\ntwo\nthree\nfour\n")
    e = tmp_path / "e.txt"
    e.write_text("one\ntwo\nTHREE\nfour\n")
    assert m.diff_text_file(str(d), str(e)) == pytest.approx(0.75)
    assert m.diff_text_file(None, str(e)) == 0.0
    assert m.file_contains(str(d), {"expected": ["two", "four"]}) == 1.0
    assert m.file_contains(str(d), {"expected": ["two", "five"]}) == 0.0
    assert m.file_contains(None, {"expected": []}) == 0.0


def test_registry_names_are_the_functions():
    from kimicua.tasks.metrics import METRICS, metric

    assert METRICS["exact_match"] is m.exact_match
    assert all(name == f.__name__ for name, f in METRICS.items() if f.__module__.endswith("general"))
    assert "infeasible" not in METRICS  # scored from the last action by evaluate
    with pytest.raises(ValueError, match="registered twice"):
        metric(name="exact_match")(lambda result, rules: 0.0)
