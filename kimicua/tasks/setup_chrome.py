"""OSWorld's Chrome setup steps: open and close tabs, seed the browsing history, and
Chrome being stopped by ``pkill chrome`` (see ``chrome_profile``).

Tabs go through the env's CDP connection (``browser_access``); the history is a
profile file, written where the env's Chrome keeps its profile.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from datetime import datetime, timedelta
from typing import Any

from kimicua.tasks import browser_access, chrome_profile
from kimicua.tasks.context import RunContext
from kimicua.tasks.fetch import FetchError, fetch
from kimicua.tasks.metrics.chrome import compare_urls
from kimicua.tasks.setup_common import WINDOW_TIMEOUT_S, SetupError

# OSWorld's empty Chrome history database (the schema Chrome expects), fetched once per
# episode; rows are added to a copy.
EMPTY_HISTORY_URL = ("https://huggingface.co/datasets/xlangai/ubuntu_osworld_file_cache/resolve/main/"
                     "chrome/44ee5668-ecd5-4366-a6ce-c1c9b8d4e938/history_empty.sqlite?download=true")
_CHROME_EPOCH = datetime(1601, 1, 1)
_TYPED_LINK = 805306368  # the transition OSWorld records for each visit
_KILLERS = ("pkill", "killall")


_START_PAGES = ("about:blank", "chrome://newtab/", "chrome://new-tab-page/")


def _start_tabs(env) -> list[Any]:
    """The tabs a just-started Chrome shows (its start page), if the env has a CDP context."""
    try:
        return [p for p in browser_access.context(env).pages if p.url in _START_PAGES]
    except browser_access.NoBrowser:
        return []


def chrome_open_tabs(env, ctx: RunContext, urls_to_open: list[str]) -> None:
    """Open URLs in tabs, closing the start page Chrome opened with (as OSWorld does, so
    the tabs are exactly the task's), and wait until the active one has fully loaded:
    the env returns at DOMContentLoaded, before stylesheets settle, and the first click
    must not land on a layout that is about to shift."""
    start = _start_tabs(env) if urls_to_open else []
    env.open_tabs(list(urls_to_open))
    for page in start:
        page.close()
    deadline = time.monotonic() + WINDOW_TIMEOUT_S
    while env.evaluate("document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise SetupError(f"page {env.page_url()} did not finish loading in {WINDOW_TIMEOUT_S:g}s")
        time.sleep(0.05)


def chrome_close_tabs(env, ctx: RunContext, urls_to_close: list[str]) -> None:
    """Close, for each URL, the first tab showing it (OSWorld's URL equality); a URL no
    tab shows is skipped, as in OSWorld."""
    try:
        context = browser_access.context(env)
    except browser_access.NoBrowser as err:
        raise SetupError(str(err)) from None
    for url in urls_to_close:
        page = next((p for p in context.pages if compare_urls(p.url, url)), None)
        if page is not None:
            page.close()


def _chrome_time(seconds_ago: float) -> int:
    """Chrome's timestamp (microseconds since 1601-01-01) of ``seconds_ago`` before now."""
    return int((datetime.now() - timedelta(seconds=seconds_ago) - _CHROME_EPOCH).total_seconds() * 1_000_000)


def write_history(database: os.PathLike, history: list[dict[str, Any]]) -> None:
    """Add OSWorld's ``{"url", "title", "visit_time_from_now_in_seconds"}`` items to a
    Chrome history database, one visit each."""
    with sqlite3.connect(database) as conn:
        for item in history:
            when = _chrome_time(float(item["visit_time_from_now_in_seconds"]))
            cursor = conn.execute(
                "INSERT INTO urls (url, title, visit_count, typed_count, last_visit_time, hidden) "
                "VALUES (?, ?, 1, 0, ?, 0)", (item["url"], item["title"], when))
            conn.execute("INSERT INTO visits (url, visit_time, from_visit, transition, segment_id, "
                         "visit_duration) VALUES (?, ?, 0, ?, 0, 0)", (cursor.lastrowid, when, _TYPED_LINK))


def update_browse_history(env, ctx: RunContext, history: list[dict[str, Any]]) -> None:
    """Replace Chrome's history with OSWorld's empty database plus ``history`` (before
    Chrome starts, as the tasks do)."""
    empty = ctx.cache / "history_empty.sqlite"
    if not empty.is_file():
        try:
            fetch(EMPTY_HISTORY_URL, empty)
        except FetchError as err:
            raise SetupError(f"{err} (OSWorld's empty Chrome history; needs the network)") from None
    filled = ctx.cache / "history_new.sqlite"
    shutil.copyfile(empty, filled)
    try:
        write_history(filled, history)
    except (sqlite3.Error, KeyError, TypeError, ValueError) as err:
        raise SetupError(f"cannot write the history: {type(err).__name__}: {err}") from None
    folder = chrome_profile.user_data_dir(env)
    env.put_file(filled, f"{folder}/{chrome_profile.PROFILE}/History")


def is_chrome_kill(argv: str | list[str]) -> bool:
    """``pkill chrome`` / ``killall chrome`` (how OSWorld makes Chrome write its profile)."""
    return (isinstance(argv, list) and os.path.basename(argv[0]) in _KILLERS
            and any("chrom" in a for a in argv[1:] if not a.startswith("-")))
