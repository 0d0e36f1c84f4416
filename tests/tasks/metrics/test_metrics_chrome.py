import pytest

from kimicua.tasks.metrics import chrome as m


def test_compare_urls_normalisation():
    assert m.compare_urls("https://www.lonelyplanet.com", "https://lonelyplanet.com/")
    assert m.compare_urls("HTTPS://Docs.Python.org/3/", "https://docs.python.org/3/")
    assert m.compare_urls("github.com", "github.com")
    assert not m.compare_urls("https://docs.python.org/3/", "https://docs.python.org/3")  # only a bare "/" is dropped
    assert not m.compare_urls("https://a.com/?q=1", "https://a.com/?q=2")
    assert not m.compare_urls("http://a.com", "https://a.com")
    assert m.compare_urls(None, None) and not m.compare_urls(None, "https://a.com")


def tabs(*urls):
    return [{"title": u, "url": u} for u in urls]


def test_is_expected_tabs():
    rule = {"type": "url", "urls": ["https://www.lonelyplanet.com", "https://www.airbnb.com", "https://www.tripadvisor.com"]}
    assert m.is_expected_tabs(tabs("https://www.airbnb.com/", "https://www.lonelyplanet.com/",
                                   "https://www.tripadvisor.com/"), rule) == 1.0
    assert m.is_expected_tabs(tabs("https://www.airbnb.com/", "https://www.lonelyplanet.com/"), rule) == 0.0
    assert m.is_expected_tabs(tabs("https://www.airbnb.com/", "https://www.lonelyplanet.com/",
                                   "https://www.tripadvisor.com/", "https://x.com"), rule) == 0.0
    assert m.is_expected_tabs([], rule) == 0.0
    assert m.is_expected_tabs(tabs("https://a.com"), {"type": "title", "urls": ["https://a.com"]}) == 0.0


def test_is_expected_active_tab_approximate_ignores_the_query():
    rule = {"type": "url", "url": "chrome://password-manager/passwords"}
    assert m.is_expected_active_tab_approximate("chrome://password-manager/passwords?search=x", rule) == 1.0
    assert m.is_expected_active_tab_approximate({"url": "chrome://password-manager/passwords"}, rule) == 1.0
    assert m.is_expected_active_tab_approximate("chrome://password-manager/settings", rule) == 0.0
    assert m.is_expected_active_tab_approximate(None, rule) == 0.0


def test_is_expected_search_query():
    rules = {"expect": {"pattern": r"(?i)https?://(?:www\.)?google\.com/search\?q=nereida(?:&|$|#).*"}}
    assert m.is_expected_search_query({"url": "https://www.google.com/search?q=Nereida&sca=1"}, rules) == 1.0
    assert m.is_expected_search_query({"url": "https://www.google.com/search?q=nereidas"}, rules) == 0.0
    assert m.is_expected_search_query(None, rules) == 0.0


BOOKMARKS = {
    "bookmark_bar": {"children": [
        {"type": "folder", "name": "Favorites", "children": []},
        {"type": "url", "name": "T", "url": "https://jalammar.github.io/illustrated-transformer/"},
        {"type": "folder", "name": "Liked Authors", "children": [
            {"type": "url", "name": "a", "url": "https://jimfan.me/"},
            {"type": "url", "name": "b", "url": "https://ai.stanford.edu/~dahuang/"}]},
    ]},
    "other": {"children": []},
}


def test_is_expected_bookmarks():
    assert m.is_expected_bookmarks(BOOKMARKS, {"type": "bookmark_bar_folders_names",
                                               "names": ["Favorites", "Liked Authors"]}) == 1.0
    assert m.is_expected_bookmarks(BOOKMARKS, {"type": "bookmark_bar_folders_names", "names": ["Favorites"]}) == 0.0
    assert m.is_expected_bookmarks(BOOKMARKS, {"type": "bookmark_bar_websites_urls",
                                               "urls": ["https://jalammar.github.io/illustrated-transformer/"]}) == 1.0
    liked = {"type": "liked_authors_websites_urls", "names": ["Liked Authors"],
             "urls": [["https://jimfan.me/", "https://www.linkedin.com/in/drjimfan/"],
                      ["https://research.nvidia.com/person/de-an-huang", "https://ai.stanford.edu/~dahuang/"]]}
    assert m.is_expected_bookmarks(BOOKMARKS, liked) == 1.0
    assert m.is_expected_bookmarks(BOOKMARKS, {**liked, "urls": liked["urls"] + ["https://yukezhu.me/"]}) == 0.0
    assert m.is_expected_bookmarks(None, liked) == 0.0
    with pytest.raises(ValueError):
        m.is_expected_bookmarks(BOOKMARKS, {"type": "other_folder"})


def test_is_expected_installed_extensions():
    expected = {"expected": ["Zoom for Google Chrome", "Momentum"]}
    assert m.is_expected_installed_extensions(["Momentum", "Zoom Chrome Extension", "uBlock"], expected) == 1.0
    assert m.is_expected_installed_extensions(["Momentum"], expected) == 0.0
    assert m.is_expected_installed_extensions([], expected) == 0.0


def test_is_cookie_deleted_and_check_history_deleted():
    cookies = [(13300000000, ".google.com", "", "NID"), (13300000001, ".amazon.de", "", "x")]
    assert m.is_cookie_deleted(cookies, {"type": "domains", "domains": [".amazon.com"]}) == 1.0
    assert m.is_cookie_deleted(cookies + [(1, ".amazon.com", "", "s")], {"type": "domains", "domains": [".amazon.com"]}) == 0.0
    history = [("https://www.youtube.com/watch?v=1", "video", 1), ("https://example.org/", "ex", 2)]
    assert m.check_history_deleted(history, {"type": "keywords", "keywords": ["youtube"]}) == 0.0
    assert m.check_history_deleted(history[1:], {"type": "keywords", "keywords": ["youtube"]}) == 1.0
    with pytest.raises(ValueError):
        m.check_history_deleted(history, {"type": "domains", "domains": []})


def test_is_shortcut_on_desktop():
    shortcuts = {"/home/user/Desktop/2048.desktop": "[Desktop Entry]\nName=Play Puzzle Game 2048 Online\n"
                                                   "Exec=/opt/google/chrome/google-chrome --app=https://play2048.co/\n"}
    assert m.is_shortcut_on_desktop(shortcuts, {"type": "name", "name": "play puzzle game 2048"}) == 1.0
    assert m.is_shortcut_on_desktop(shortcuts, {"type": "name", "name": "Play Sudoku"}) == 0.0
    assert m.is_shortcut_on_desktop(shortcuts, {"type": "exec", "exec": "--app=https://play2048.co/"}) == 1.0
    assert m.is_shortcut_on_desktop(shortcuts, {"type": "exec", "exec": "--APP=https://play2048.co/"}) == 0.0
    assert m.is_shortcut_on_desktop({}, {"type": "name", "name": "x"}) == 0.0
    with pytest.raises(ValueError):
        m.is_shortcut_on_desktop(shortcuts, {"type": "url", "url": "x"})


def test_is_added_to_steam_cart():
    page = {"title": "Cart", "url": "https://store.steampowered.com/cart/", "content": "Your cart: The Dota 2 Official Soundtrack"}
    assert m.is_added_to_steam_cart(page, {"items": ["The Dota 2 Official Soundtrack"]}) == 1.0
    assert m.is_added_to_steam_cart(page, {"items": ["The Dota 2 Official Soundtrack", "Portal"]}) == 0.0


HTML = ('<!DOCTYPE html><html><head><title>Survey</title></head><body>\n<table class="t  x">'
        '<tr><td sdnum="1033;0;0.00" align="right">{}</td><td>b</td></tr></table></body></html>')


def test_compare_htmls(tmp_path):
    pytest.importorskip("bs4")
    gold = tmp_path / "gold.html"
    gold.write_text(HTML.format("1.50"), encoding="utf-8")
    same = tmp_path / "same.html"
    same.write_text(HTML.format("1.50").replace('class="t  x"', 'class="t x"'), encoding="utf-8")
    other_sdnum = tmp_path / "sdnum.html"
    other_sdnum.write_text(HTML.format("1.50").replace("1033;0;0.00", "1033;0;0.0"), encoding="utf-8")
    other_text = tmp_path / "text.html"
    other_text.write_text(HTML.format("1.5"), encoding="utf-8")
    assert m.compare_htmls(str(same), str(gold)) == 1.0  # class lists compare as lists
    assert m.compare_htmls(str(other_sdnum), str(gold)) == 0.0
    assert m.compare_htmls(str(other_sdnum), str(gold), ignore_sdnum=True) == 1.0
    assert m.compare_htmls(str(other_text), str(gold), ignore_sdnum=True) == 0.0
