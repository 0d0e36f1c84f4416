"""Chromium's managed policy for a sandbox: the URL policy, enforced by the browser.

Debian's Chromium reads ``/etc/chromium/policies/managed/*.json``. The sandbox binds a
copy of the host's /etc/chromium with our policy added, so the host's /etc is never
written and the policy holds for every tab, link and address-bar URL.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from kimicua.env.guard import UrlPolicy

HOST_ETC = Path("/etc/chromium")


def chromium_etc(runtime: Path, urls: UrlPolicy) -> Path | None:
    """``runtime/etc-chromium`` holding the host's files plus our policy; None when the
    host has no /etc/chromium to bind over (another distribution's Chromium)."""
    if not HOST_ETC.is_dir():
        return None
    target = runtime / "etc-chromium"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(HOST_ETC, target, symlinks=True, ignore=shutil.ignore_patterns("policies"))
    managed = target / "policies" / "managed"
    managed.mkdir(parents=True)
    (managed / "kimicua.json").write_text(json.dumps(urls.chromium_policy(), indent=1))
    os.chmod(managed / "kimicua.json", 0o644)
    return target
