"""Getters of Chrome's profile files (OSWorld names): settings from Preferences, the
bookmarks, history and cookies.

The files come from where the env's Chrome keeps its profile (``chrome_profile``),
read after ``postconfig`` stopped it when the task does so. Values and defaults are
OSWorld's: a setting read as the strings "true"/"false", a missing file as OSWorld's
fallback for that getter.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from kimicua.tasks import chrome_profile
from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.registry import getter

DEFAULT_FONT_SIZES = {"default_fixed_font_size": 13, "default_font_size": 16, "minimum_font_size": 13}
_SCHEMES = {0: "system", 1: "light", 2: "dark", "system": "system", "default": "system", "light": "light",
            "dark": "dark", "0": "system", "1": "light", "2": "dark"}


def _json(env, ctx: RunContext, name: str) -> dict[str, Any] | None:
    path = chrome_profile.profile_file(env, ctx, name)
    if path is None:
        return None
    return json.loads(path.read_text(encoding="utf-8") or "{}")


def _prefs(env, ctx: RunContext) -> dict[str, Any]:
    """Preferences, or {} when the profile has none yet (OSWorld's getters then give
    their defaults)."""
    return _json(env, ctx, "Preferences") or {}


def _rows(env, ctx: RunContext, spec: dict[str, Any], name: str, query: str) -> list[tuple] | None:
    path = chrome_profile.profile_file(env, ctx, name)
    if path is None:
        return None
    target = ctx.cache / spec.get("dest", name)
    if target != path:
        target.write_bytes(path.read_bytes())
    with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as conn:
        return conn.execute(query).fetchall()


def _flag(value: Any) -> str:
    return "true" if value else "false"


@getter
def bookmarks(env, ctx: RunContext, spec: dict[str, Any]) -> Any:
    """The Bookmarks file's ``roots`` ([] when there is no file, as OSWorld)."""
    data = _json(env, ctx, "Bookmarks")
    return [] if data is None else data.get("roots", {})


@getter
def history(env, ctx: RunContext, spec: dict[str, Any]) -> list[tuple] | None:
    """``(url, title, last_visit_time)`` of every history entry (copied as ``dest``)."""
    return _rows(env, ctx, spec, "History", "SELECT url, title, last_visit_time FROM urls")


@getter
def cookie_data(env, ctx: RunContext, spec: dict[str, Any]) -> list[tuple] | None:
    """Every row of the cookies table (copied as ``dest``)."""
    return _rows(env, ctx, spec, "Cookies", "SELECT * FROM cookies")


@getter
def default_search_engine(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    return _prefs(env, ctx).get("default_search_provider_data", {}).get("template_url_data", {}).get(
        "short_name", "Google")


@getter
def profile_name(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    return _prefs(env, ctx).get("profile", {}).get("name")


@getter
def chrome_font_size(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, Any]:
    return _prefs(env, ctx).get("webkit", {}).get("webprefs", dict(DEFAULT_FONT_SIZES))


@getter
def enable_do_not_track(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    return _flag(_prefs(env, ctx).get("enable_do_not_track"))


@getter
def enable_safe_browsing(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """Whether Safe Browsing warns of dangerous sites (standard or enhanced protection)."""
    safe = _prefs(env, ctx).get("safebrowsing", {})
    return _flag(safe.get("enabled") or safe.get("enhanced"))


@getter
def data_delete_automacally(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """OSWorld's name (sic): whether any default content setting was changed."""
    return _flag(_prefs(env, ctx).get("profile", {}).get("default_content_setting_values") is not None)


@getter
def new_startup_page(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """"true" when Chrome opens the New Tab page on start: no session settings (a fresh
    profile), or ``restore_on_startup`` 5."""
    prefs = _prefs(env, ctx)
    if "session" not in prefs:
        return "true"
    return _flag(prefs["session"].get("restore_on_startup") == 5)


@getter
def chrome_appearance_mode_ui(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """Chrome's colour mode, "light", "dark" or "system", from Preferences (OSWorld
    reads chrome://settings/appearance first and falls back to this; the local URL
    policy keeps chrome:// pages from the getters too)."""
    theme = _prefs(env, ctx).get("browser", {}).get("theme", {})
    system_theme = _prefs(env, ctx).get("extensions", {}).get("theme", {}).get("system_theme")
    if system_theme in (0, "0", False):
        return "light"
    raw = theme.get("color_scheme2", theme.get("color_scheme"))
    return _SCHEMES.get(raw if not isinstance(raw, str) else raw.strip().lower(), "system")


def _extensions(env, ctx: RunContext) -> dict[str, Any]:
    """Installed extensions by id: Preferences (where OSWorld looks) and Secure
    Preferences (where newer Chrome keeps them)."""
    found: dict[str, Any] = {}
    for name in ("Secure Preferences", "Preferences"):
        found.update((_json(env, ctx, name) or {}).get("extensions", {}).get("settings", {}))
    return found


@getter
def find_installed_extension_name(env, ctx: RunContext, spec: dict[str, Any]) -> list[str]:
    return [e.get("manifest", {}).get("name") for e in _extensions(env, ctx).values() if "manifest" in e]


@getter
def find_unpacked_extension_path(env, ctx: RunContext, spec: dict[str, Any]) -> list[str]:
    return [e["path"] for e in _extensions(env, ctx).values() if "path" in e]
