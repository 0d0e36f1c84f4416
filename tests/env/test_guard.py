"""The URL policy and the key denylist, without a display."""

from __future__ import annotations

import pytest

from kimicua.env.actions import Hotkey, Key, KeyDown, KeyUp, Navigate, Type
from kimicua.env.guard import ActionRefused, Guard, KeyGuard, UrlPolicy, url_matches


@pytest.mark.parametrize("pattern,url,hit", [
    ("file://*", "file:///etc/passwd", True),
    ("file://*", "http://example.org/", False),
    ("file:///home/user/", "file:///home/user/notes.html", True),
    ("file:///home/user/", "file:///home/username/x", False),
    ("chrome://*", "chrome://version", True),
    ("view-source:*", "view-source:http://example.org/", True),
    ("data:*", "data:text/html,<b>x</b>", True),
    ("javascript://*", "javascript:alert(1)", True),
    ("example.org", "https://example.org/a", True),
    ("example.org", "https://docs.example.org/a", True),  # subdomains by default
    (".example.org", "https://docs.example.org/a", False),  # a leading dot: this host only
    ("https://example.org/docs", "https://example.org/docs/x", True),
    ("https://example.org/docs", "https://example.org/blog", False),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1", True),
    ("http://127.0.0.1:8000", "http://127.0.0.1:9000/v1", False),
    ("chrome://top-chrome", "chrome://omnibox-popup.top-chrome/", True),
    ("*", "anything:at-all", True),
])
def test_url_filters_follow_chromiums_format(pattern, url, hit):
    assert url_matches(pattern, url) is hit


def test_default_policy_allows_the_web_and_refuses_local_and_internal_pages():
    policy = UrlPolicy()
    for url in ("https://example.org/", "http://127.0.0.1:8000/page.html", "about:blank", "chrome://newtab"):
        assert policy.refusal(url) is None, url
    for url in ("file:///etc/passwd", "chrome://settings", "view-source:https://x.org",
                "javascript:alert(1)", "data:text/html,hi"):
        why = policy.refusal(url)
        assert why and "refused by the URL policy" in why and "--allow-url" in why, url


def test_allow_patterns_beat_the_defaults_and_reach_chromiums_policy():
    policy = UrlPolicy().with_allowed("file:///home/user/", "chrome://settings")
    assert policy.refusal("file:///home/user/a.html") is None
    assert policy.refusal("chrome://settings/privacy") is None
    assert policy.refusal("file:///etc/passwd")
    managed = policy.chromium_policy()
    assert "file://*" in managed["URLBlocklist"]
    assert {"file:///home/user/", "chrome://settings", "chrome://top-chrome"} <= set(managed["URLAllowlist"])


def test_denied_chords_are_refused_however_they_are_pressed():
    guard = Guard()
    for action in (Hotkey(keys=("ctrl", "alt", "delete")), Hotkey(keys=("alt", "ctrl", "f3")),
                   Hotkey(keys=("ctrl", "alt", "backspace"))):
        with pytest.raises(ActionRefused, match="denied"):
            guard.check(action)
    for action in (Hotkey(keys=("ctrl", "alt", "t")), Hotkey(keys=("ctrl", "f3")), Key(key="delete"),
                   Type(text="ctrl+alt+delete")):
        guard.check(action)  # not a denied chord
    keys = guard.keys
    for held in ("ctrl", "alt"):  # the same chord built from key downs
        guard.check(KeyDown(key=held))
        keys.executed(KeyDown(key=held))
    with pytest.raises(ActionRefused):
        guard.check(KeyDown(key="delete"))
    with pytest.raises(ActionRefused):
        guard.check(Key(key="f1"))
    keys.executed(KeyUp(key="alt"))
    guard.check(Key(key="delete"))  # ctrl+delete is fine


def test_the_denylist_is_configurable_and_navigation_is_checked():
    guard = Guard(keys=KeyGuard(deny=("super+l",)))
    with pytest.raises(ActionRefused):
        guard.check(Hotkey(keys=("super", "l")))
    guard.check(Hotkey(keys=("ctrl", "alt", "delete")))  # no longer in the list
    with pytest.raises(ActionRefused, match="file:///etc/hostname"):
        guard.check(Navigate(url="file:///etc/hostname"))
