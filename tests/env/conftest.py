"""Shared fixtures for env tests: skips when Xvfb/Chromium are absent, a local page server,
and helpers to read the event log of tests/env/pages/events.html."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest

PAGES = Path(__file__).parent / "pages"

_DISPLAY_TOOLS = ("Xvfb", "xauth", "xdotool", "wmctrl", "openbox", "xterm", "xprop")


def _missing(tools) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


def _chromium_missing() -> bool:
    from kimicua.env.chromium import find_chromium
    from kimicua.env.core import EnvError

    try:
        find_chromium()
    except EnvError:
        return True
    return False


def pytest_collection_modifyitems(config, items):
    missing_display = _missing(_DISPLAY_TOOLS)
    no_chromium = _chromium_missing()
    for item in items:
        if "display" in item.keywords and missing_display:
            item.add_marker(pytest.mark.skip(reason=f"needs {', '.join(missing_display)} (Debian packages)"))
        if "browser" in item.keywords and no_chromium:
            item.add_marker(pytest.mark.skip(reason="needs Chromium (apt-get install chromium, or KIMICUA_CHROMIUM)"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="session")
def pages_url():
    """Base URL of tests/env/pages served on 127.0.0.1 (no trailing slash)."""
    handler = functools.partial(_QuietHandler, directory=str(PAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def wait_until(fn, timeout=5.0, interval=0.03):
    """Poll ``fn`` until it returns a truthy value; that value, or the last one on timeout."""
    deadline = time.monotonic() + timeout
    value = fn()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = fn()
    return value


@pytest.fixture
def poll():
    return wait_until


@pytest.fixture
def events():
    """Read the page's event log, filtered by type: events(env, 'click', count=2).

    On a desktop, X input reaches the page asynchronously, so this waits (up to 5 s)
    until ``count`` matching events arrived."""

    def read(env, *types, count=0):
        def matching():
            log = env.evaluate("window.log")
            return [e for e in log if not types or e["type"] in types]

        found = wait_until(lambda: len(matching()) >= count and matching())
        return found or matching()

    return read
