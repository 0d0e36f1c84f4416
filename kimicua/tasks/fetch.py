"""Fetch a URL (http, https or file) to a local path, with one-line errors."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

TIMEOUT_S = 30.0


class FetchError(OSError):
    """A URL that could not be fetched (the message names the URL)."""


def fetch(url: str, dest: Path, *, timeout: float = TIMEOUT_S) -> Path:
    """Save ``url``'s content at ``dest`` (parents created); FetchError when unreachable."""
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https", "file"):
        raise FetchError(f"cannot fetch {url}: unsupported scheme {scheme!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Write to a side file first so a failed fetch never leaves a truncated file behind.
    partial = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out)
    except urllib.error.HTTPError as err:
        partial.unlink(missing_ok=True)
        raise FetchError(f"cannot fetch {url}: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        partial.unlink(missing_ok=True)
        raise FetchError(f"cannot fetch {url}: {err.reason}") from None
    except (OSError, ValueError) as err:
        partial.unlink(missing_ok=True)
        raise FetchError(f"cannot fetch {url}: {err}") from None
    partial.replace(dest)
    return dest
