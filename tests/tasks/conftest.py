"""Test-only workaround for an env-layer bug, removed automatically once the env fixes it.

Headless Chromium 156 with RenderDocument swaps the page's frame host on every
navigation, and a CDP Page.captureScreenshot sent right after a navigating click then
fails ("Not attached to an active page") or never returns. The env's own Chromium
flags should carry --disable-features=RenderDocument; until they do, these tests
launch Chromium through a wrapper that adds it (KIMICUA_CHROMIUM is the env's
documented override).
"""

from __future__ import annotations

import os
import shutil
import stat

import pytest

WRAPPER = """#!/bin/sh
found=
for a in "$@"; do
  shift
  case "$a" in --disable-features=*) a="$a,RenderDocument"; found=1;; esac
  set -- "$@" "$a"
done
[ -n "$found" ] || set -- "$@" --disable-features=RenderDocument
exec {real} "$@"
"""


@pytest.fixture(scope="session", autouse=True)
def _chromium_without_render_document(tmp_path_factory):
    try:
        from kimicua.env import chromium
    except ImportError:
        yield
        return
    real = shutil.which("chromium")
    if any("RenderDocument" in a for a in chromium.CHROMIUM_ARGS) or real is None \
            or "KIMICUA_CHROMIUM" in os.environ:
        yield
        return
    wrapper = tmp_path_factory.mktemp("chromium") / "chromium"
    # Playwright passes its own --disable-features list and Chromium keeps only the last
    # one, so the wrapper appends to that list rather than adding a second switch.
    wrapper.write_text(WRAPPER.format(real=real))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    os.environ["KIMICUA_CHROMIUM"] = str(wrapper)
    try:
        yield
    finally:
        os.environ.pop("KIMICUA_CHROMIUM", None)
