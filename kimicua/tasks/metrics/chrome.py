"""Chrome metrics (OSWorld's chrome.py) over what the Chrome getters return:

- open_tabs_info: [{"title", "url"}, ...]; active_tab_info / page_info: {"title", "url", "content"}
- bookmarks: the "roots" object of Chrome's Bookmarks file ({"bookmark_bar": {"children": [...]}, ...})
- cookie_data: rows of ``SELECT * FROM cookies`` (host_key second); history: rows of
  ``SELECT url, title, last_visit_time FROM urls``
- find_installed_extension_name: extension names; shortcuts_on_desktop: {path: .desktop text}
"""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import urlparse, urlunparse

from kimicua.tasks.metrics.registry import metric


def _normal_url(url: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(scheme=(parts.scheme or "http").lower(),
                                     netloc=parts.netloc.lower().replace("www.", ""),
                                     path="" if parts.path == "/" else parts.path))


def compare_urls(url1: str | None, url2: str | None) -> bool:
    """OSWorld's URL equality: scheme defaults to http, host lowercased without "www.",
    a bare "/" path dropped; query and fragment must match."""
    if url1 is None or url2 is None:
        return url1 == url2
    return _normal_url(url1) == _normal_url(url2)


def _same_items(expected: list[str], actual: list[str]) -> bool:
    """Equal lengths and every expected URL equal to some actual URL."""
    return len(expected) == len(actual) and all(any(compare_urls(e, a) for a in actual) for e in expected)


@metric
def is_expected_tabs(open_tabs: Any, rule: dict[str, Any]) -> float:
    """The open tabs' URLs are the expected ones (``type`` "url"), in any order."""
    if not open_tabs:
        return 0.0
    if rule["type"] != "url":
        return 0.0
    return float(_same_items(rule["urls"], [tab["url"] for tab in open_tabs]))


@metric
def is_expected_active_tab_approximate(active_tab: Any, rule: dict[str, Any]) -> float:
    """The active tab's URL equals ``rule["url"]`` once both lose their query string."""
    if not active_tab or rule["type"] != "url":
        return 0.0
    url = active_tab.get("url") if isinstance(active_tab, dict) else active_tab

    def no_query(u: str) -> str:
        return urlunparse(urlparse(u)._replace(query=""))

    return float(no_query(rule["url"]) == no_query(url))


@metric
def is_expected_search_query(active_tab: Any, rules: dict[str, Any]) -> float:
    """The active tab's URL matches ``rules["expect"]["pattern"]`` (re.search)."""
    if not active_tab:
        return 0.0
    return float(re.search(rules["expect"]["pattern"], active_tab["url"]) is not None)


def _bar_children(bookmarks: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in bookmarks["bookmark_bar"]["children"] if b["type"] == kind]


@metric
def is_expected_bookmarks(bookmarks: Any, rule: dict[str, Any]) -> float:
    """Bookmark-bar checks by ``type``: ``bookmark_bar_folders_names`` / ``bookmark_bar_websites_urls``
    (the set of folder names / site URLs equals the rule's), ``liked_authors_websites_urls``
    (the "Liked Authors" folder's URLs are one choice per author from ``urls``)."""
    if not bookmarks:
        return 0.0
    kind = rule["type"]
    if kind == "bookmark_bar_folders_names":
        return float({b["name"] for b in _bar_children(bookmarks, "folder")} == set(rule["names"]))
    if kind == "bookmark_bar_websites_urls":
        return float({b["url"] for b in _bar_children(bookmarks, "url")} == set(rule["urls"]))
    if kind == "liked_authors_websites_urls":
        folder = next((b for b in _bar_children(bookmarks, "folder") if b["name"] == "Liked Authors"), None)
        if folder is None:
            return 0.0
        urls = {b["url"] for b in folder["children"] if b["type"] == "url"}
        choices = [[u] if isinstance(u, str) else u for u in rule["urls"]]
        return float(any(set(pick) == urls for pick in itertools.product(*choices)))
    raise ValueError(f"is_expected_bookmarks: unknown rule type {kind!r}")


@metric
def is_expected_installed_extensions(installed: Any, expected: dict[str, Any]) -> float:
    """Every expected extension name is installed ("Zoom Chrome Extension" and "Zoom for
    Google Chrome" count as one)."""
    if not installed:
        return 0.0
    aliases = {"Zoom for Google Chrome": "Zoom Chrome Extension"}
    return float({aliases.get(n, n) for n in expected["expected"]} <= {aliases.get(n, n) for n in installed})


@metric
def is_cookie_deleted(cookie_data: Any, rule: dict[str, Any]) -> float:
    """1 when no cookie's host (second column) equals one of ``rule["domains"]`` (URL equality)."""
    if rule["type"] != "domains":
        raise ValueError(f"is_cookie_deleted: unknown rule type {rule['type']!r}")
    hosts = [row[1] for row in cookie_data]
    return float(not any(compare_urls(d, h) for d in rule["domains"] for h in hosts))


@metric
def check_history_deleted(history_data: Any, rule: dict[str, Any]) -> float:
    """1 when no history URL (first column) contains one of ``rule["keywords"]``."""
    if rule["type"] != "keywords":
        raise ValueError(f"check_history_deleted: unknown rule type {rule['type']!r}")
    urls = [row[0] for row in history_data]
    return float(not any(k in u for k in rule["keywords"] for u in urls))


def _desktop_entries(content: str, field: str) -> list[str]:
    return [line[len(field) + 1:] for line in content.split("\n") if line.startswith(field + "=")]


@metric
def is_shortcut_on_desktop(shortcuts: Any, rule: dict[str, Any]) -> float:
    """A desktop shortcut whose ``Name=`` (type "name", case-insensitive containment either
    way) or ``Exec=`` (type "exec", containment either way) matches the rule."""
    kind = rule["type"]
    if kind not in ("name", "exec"):
        raise ValueError(f"is_shortcut_on_desktop: rule type {kind!r} is not supported")
    field, want = ("Name", rule["name"]) if kind == "name" else ("Exec", rule["exec"])
    fold = str.lower if kind == "name" else (lambda s: s)
    for content in shortcuts.values():
        if f"{field}={want}\n" in content:
            return 1.0
        for got in _desktop_entries(content, field):
            if got == want or fold(want) in fold(got) or fold(got) in fold(want):
                return 1.0
    return 0.0


@metric
def is_added_to_steam_cart(page: Any, rule: dict[str, Any]) -> float:
    """1 when every item name occurs in the page's text content."""
    return float(all(item in page["content"] for item in rule["items"]))


def _tag_matches(a: Any, b: Any, ignore_sdnum: bool) -> bool:
    from bs4 import Tag

    if not (isinstance(a, Tag) and isinstance(b, Tag)):
        return a == b
    if a.name != b.name or a.text.strip() != b.text.strip():
        return False
    if a.attrs == b.attrs:
        return True
    if not ignore_sdnum:
        return False
    return {k: v for k, v in a.attrs.items() if k != "sdnum"} == {k: v for k, v in b.attrs.items() if k != "sdnum"}


@metric
def compare_htmls(html1: Any, html2: Any, **options: Any) -> float:
    """Walk both documents (BeautifulSoup over lxml) node by node, up to the shorter one:
    tags must share name, stripped text and attributes (``ignore_sdnum`` drops
    LibreOffice's sdnum attribute), text nodes must be equal."""
    from bs4 import BeautifulSoup

    with open(html1, encoding="utf-8") as f1, open(html2, encoding="utf-8") as f2:
        soup1, soup2 = BeautifulSoup(f1, "lxml"), BeautifulSoup(f2, "lxml")
    ignore = bool(options.get("ignore_sdnum"))
    return float(all(_tag_matches(a, b, ignore) for a, b in zip(soup1.descendants, soup2.descendants)))
