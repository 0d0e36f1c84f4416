"""Fetch a URL (http, https or file) to a local path, with one-line errors."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

TIMEOUT_S = 30.0


class FetchError(OSError):
    """A URL that could not be fetched (the message names the URL)."""


def fetch(url: str, dest: Path, *, timeout: float = TIMEOUT_S, files: tuple[Path, ...] | None = None) -> Path:
    """Save ``url``'s content at ``dest`` (parents created); FetchError when unreachable.

    ``files``: the only folders a ``file://`` URL may read from (None: anywhere), so a
    task file cannot copy the machine's own files (``file:///etc/...``) into an episode."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https", "file"):
        raise FetchError(f"cannot fetch {url}: unsupported scheme {parts.scheme!r}")
    if parts.scheme == "file" and files is not None:
        source = os.path.realpath(url2pathname(parts.path))
        if not any(source == str(r) or source.startswith(str(r).rstrip("/") + "/")
                   for r in (os.path.realpath(f) for f in files)):
            raise FetchError(f"cannot fetch {url}: file:// URLs may only name the task's own files")
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
