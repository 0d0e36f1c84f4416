"""The env's Chrome as a Playwright BrowserContext, for the steps and getters that need
more than the Env's page methods (every tab, a page of their own, closing tabs).

OSWorld reaches the VM's Chrome over CDP on port 9222; the desktop env's ``browser()``
(its Chromium, started on first use) and the OSWorld VM env's ``chrome()`` are that
connection. An env without one (the browser env, whose pages are the agent's whole
screen) says so in one line.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Protocol, runtime_checkable

from kimicua.env.chromium import NAV_TIMEOUT_MS


class NoBrowser(RuntimeError):
    """The env offers no CDP connection to its Chrome."""


@runtime_checkable
class _DesktopBrowser(Protocol):
    def browser(self) -> Any: ...


@runtime_checkable
class _VmChrome(Protocol):
    def chrome(self, *, start: bool = True) -> Any: ...


def context(env) -> Any:
    """The Playwright BrowserContext of the env's Chrome window (started if need be)."""
    if isinstance(env, _DesktopBrowser):
        return env.browser().context
    if isinstance(env, _VmChrome):
        return env.chrome().context
    raise NoBrowser(f"the {env.kind} env offers no CDP connection to a Chrome window")


@contextmanager
def scratch_page(env, url: str, wait_until: str = "load") -> Iterator[Any]:
    """A new tab at ``url`` in the env's Chrome, closed afterwards (OSWorld's getters
    open one to read a page without touching the agent's tabs)."""
    page = context(env).new_page()
    try:
        page.goto(url, timeout=NAV_TIMEOUT_MS, wait_until=wait_until)
        yield page
    finally:
        page.close()
