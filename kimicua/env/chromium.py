"""Debian Chromium under Playwright: finding the binary, its flags, and page helpers.

Both envs use these: BrowserEnv launches Chromium through Playwright; DesktopEnv starts
it on its display with a DevTools port and attaches with ``connect_over_cdp`` (as
OSWorld does with port 9222).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from PIL import Image

from kimicua.env.core import EnvError

# RenderDocument swaps a page's frame host on navigation, and a CDP screenshot sent
# right after a navigating click then fails or never returns (Chromium 156). Chromium
# honours only the last --disable-features switch, so ours repeats the features that
# Playwright disables by default (playwright-core's chromiumSwitches) and adds it.
DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect", "OptimizationHints",
    "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch", "RenderDocument",
)
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--no-default-browser-check", "--password-store=basic",
    f"--disable-features={','.join(DISABLED_FEATURES)}",
)
NAV_TIMEOUT_MS = 30_000

# What headless Chromium keeps of the caller's environment: where programs, the home
# and temp files are, locale, time zone, fonts, libraries and the proxy (Chromium
# reads *_proxy when no desktop says otherwise). Nothing of a desktop session
# (DISPLAY, WAYLAND_DISPLAY, XAUTHORITY, DBUS_SESSION_BUS_ADDRESS, XDG_*): with DISPLAY
# set, headless Chromium's GPU process connected to the user's X server.
HEADLESS_ENV_KEEP = ("PATH", "HOME", "TMPDIR", "TZ", "LANG", "LANGUAGE", "FONTCONFIG_FILE",
                     "FONTCONFIG_PATH", "LD_LIBRARY_PATH", "http_proxy", "https_proxy",
                     "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def headless_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` that headless Chromium needs (HEADLESS_ENV_KEEP, LC_*)."""
    return {k: v for k, v in environ.items() if k in HEADLESS_ENV_KEEP or k.startswith("LC_")}


def launch_args(scale: float) -> list[str]:
    """CHROMIUM_ARGS for a browser whose own device scale factor is ``scale``.

    capture_page relies on it: a capture without a clip is the view's surface, which
    has physical pixels only when the browser itself runs at the scale (with the scale
    only emulated, as Playwright's device_scale_factor does, it has CSS pixels)."""
    return [*CHROMIUM_ARGS, f"--force-device-scale-factor={float(scale)}"]


def find_chromium() -> str:
    """$KIMICUA_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH."""
    override = os.environ.get("KIMICUA_CHROMIUM")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise EnvError(f"KIMICUA_CHROMIUM={override!r} is not an executable file")
        return override
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    raise EnvError("no Chromium found: install chromium (Debian) or set KIMICUA_CHROMIUM")


def browser_process(marker: str) -> int | None:
    """The pid of the Chromium browser process started with the switch ``marker`` (an
    unknown switch Chromium ignores), or None; not its children, nor a sandbox's bwrap
    and supervisor, whose command lines carry the switch too."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            # Chromium may rewrite its command line as one space-separated string.
            args = (proc / "cmdline").read_bytes().replace(b"\0", b" ").split()
        except OSError:
            continue
        if (marker.encode() in args and not any(a.startswith(b"--type=") for a in args)
                and os.path.basename(args[0]) != b"bwrap" and b"--exec" not in args):
            return int(proc.name)
    return None


_local = threading.local()


def acquire_playwright() -> Any:
    """The thread's Playwright driver, started on first use.

    The sync API allows one running instance per thread, so envs share it and count
    their references; release_playwright stops it when the last one lets go."""
    if getattr(_local, "users", 0) == 0:
        from playwright.sync_api import sync_playwright

        _local.pw = sync_playwright().start()
        _local.users = 0
    _local.users += 1
    return _local.pw


def release_playwright() -> None:
    _local.users -= 1
    if _local.users == 0:
        pw, _local.pw = _local.pw, None
        try:
            pw.stop()
        except Exception:
            pass  # the driver may already be gone; nothing else to release


def capture_page(cdp: Any, width: int, height: int, scale: float) -> np.ndarray:
    """The page's viewport as RGB [H, W, 3] in physical pixels: what is on screen now.

    CDP Page.captureScreenshot as PNG with optimizeForSpeed (fast zlib) is the fastest
    lossless path measured (benchmarks/capture.py), faster than page.screenshot() and
    than JPEG once decoding is counted. It takes no clip: a clip is in document
    coordinates, so a clip at (0, 0) on a scrolled page captured the unpainted top of
    the document (a flat background-colour frame), and applying it emulates device
    metrics on our CDP session, which dropped Playwright's device scale factor when
    undone (devicePixelRatio 1 at scale 2). The browser must run at ``scale``
    (launch_args); a frame that is not ``width`` x ``height`` CSS px at ``scale`` is an
    EnvError."""
    params = {"format": "png", "optimizeForSpeed": True, "captureBeyondViewport": False}
    rgb = decode_png(base64.b64decode(cdp.send("Page.captureScreenshot", params)["data"]))
    h, w = rgb.shape[:2]
    if abs(w - width * scale) >= 1 or abs(h - height * scale) >= 1:
        raise EnvError(f"page screenshot is {w}x{h} px, not the {width}x{height} viewport "
                       f"at scale {scale:g}: was Chromium started with launch_args({scale:g})?")
    return rgb


def decode_png(data: bytes) -> np.ndarray:
    """RGB [H, W, 3] from PNG bytes (Chromium's are RGB already: no convert copy)."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))


def open_tabs(context: Any, urls: list[str]) -> Any:
    """Open each URL in a new page of ``context``; the last page, brought to front."""
    page = None
    for url in urls:
        page = context.new_page()
        page.goto(url, timeout=NAV_TIMEOUT_MS, wait_until="domcontentloaded")
    if page is not None:
        page.bring_to_front()
    return page


# The first matching element's border box in CSS px relative to the viewport.
_BOX_JS = """sel => {
  const el = document.querySelector(sel);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return [r.x, r.y, r.width, r.height];
}"""

# Where the viewport's top-left sits on the screen, in CSS px. Chromium's outer window
# is the viewport plus the toolbar on top and an equal frame on the other three sides
# (4 px when it draws its own frame), so the side frame is half the width difference.
_VIEWPORT_ORIGIN_JS = """() => {
  const side = (window.outerWidth - window.innerWidth) / 2;
  return [window.screenX + side, window.screenY + window.outerHeight - window.innerHeight - side];
}"""


def element_box(page: Any, selector: str, *, on_screen: bool) -> tuple[float, float, float, float] | None:
    """x, y, w, h of the first ``selector`` match; viewport coords unless ``on_screen``."""
    box = evaluate(page, _BOX_JS, selector)
    if box is None:
        return None
    x, y, w, h = (float(v) for v in box)
    if on_screen:
        ox, oy = evaluate(page, _VIEWPORT_ORIGIN_JS)
        x, y = x + ox, y + oy
    return x, y, w, h


def evaluate(page: Any, expression: str, arg: Any = None) -> Any:
    """Run ``expression`` in the page and return its JSON-able value.

    A navigation that is under way (a click or key the agent just sent) destroys the
    context mid-call; then wait for the new document to load and ask it instead."""
    for attempt in range(3):
        try:
            return page.evaluate(expression, arg)
        except Exception as err:
            if "Execution context was destroyed" not in str(err) or attempt == 2:
                raise
            page.wait_for_load_state("load", timeout=NAV_TIMEOUT_MS)
