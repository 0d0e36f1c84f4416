"""Screen capture speed, against peers measured in the same run.

Desktop: our ScreenCapture (one persistent mss connection, BGRA -> RGB numpy) against
``pyautogui.screenshot()`` on the same private Xvfb, as a user's machine runs it: on X11
PyScreeze 1.0.1 shells out to ``scrot`` and reads back its PNG (the Makefile installs
Debian's scrot; without scrot or gnome-screenshot pyautogui cannot take screenshots), at 1920x1080 and 3840x2160. Also the BGRA -> RGB conversion alone:
numpy negative-stride slicing vs per-channel copies (ours) vs PIL's BGRX unpacker.
Browser, one page in the same run: the grab of the browser env's own X screen, where
Chromium shows it (ours, kimicua/env/browser_screen.py), against CDP
Page.captureScreenshot as PNG (optimizeForSpeed, the env's fallback) and as JPEG, and
Playwright's ``page.screenshot()``, each decoded to an RGB array (decoding counts).
Other processes sharing the cores skew every figure; compare the ratios.

    .venv/bin/python benchmarks/capture.py [--reps 30] [--browser-reps 10]
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import time

import numpy as np
from PIL import Image

from kimicua.env import Size
from kimicua.env.capture import ScreenCapture, bgra_to_rgb
from kimicua.env.display import Display

SIZES = (Size(1920, 1080), Size(3840, 2160))


def median_ms(fn, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def desktop(size: Size, reps: int) -> None:
    display = Display.start(size, window_manager=False)
    try:
        # Something on screen, so no path can shortcut an all-black frame.
        from Xlib.display import Display as XDisplay

        with display.environ():
            conn = XDisplay(display.name)
        conn.screen().root.change_attributes(background_pixel=0x3366CC)
        conn.screen().root.clear_area()
        conn.sync()
        capture = ScreenCapture(display)
        ours = median_ms(capture.grab, reps)
        with display.environ():  # pyautogui/pyscreeze open DISPLAY from the environment
            import pyautogui

            assert pyautogui.screenshot().size == (size.width, size.height)
            peer = median_ms(lambda: np.asarray(pyautogui.screenshot()), max(3, reps // 3))
        grab_only = median_ms(lambda: capture._mss.grab(capture._monitor), reps)
        shot = capture._mss.grab(capture._monitor)
        raw, w, h = shot.raw, shot.width, shot.height
        slicing = median_ms(lambda: np.ascontiguousarray(
            np.frombuffer(raw, np.uint8).reshape(h, w, 4)[:, :, 2::-1]), reps)
        channels = median_ms(lambda: bgra_to_rgb(raw, w, h), reps)
        pil = median_ms(lambda: np.asarray(Image.frombuffer("RGB", (w, h), raw, "raw", "BGRX", 0, 1)), reps)
        capture.close()
    finally:
        display.stop()
    print(f"desktop {size}: ours {ours:7.2f} ms | pyautogui.screenshot() {peer:7.2f} ms "
          f"-> ours {peer / ours:5.1f}x faster")
    print(f"  of which mss grab (BGRA bytes) {grab_only:6.2f} ms")
    print(f"  BGRA->RGB alone: per-channel (ours) {channels:6.2f} ms | [..., 2::-1] slice "
          f"{slicing:6.2f} ms ({slicing / channels:4.1f}x) | PIL BGRX {pil:6.2f} ms ({pil / channels:4.1f}x)")


def browser(size: Size, reps: int) -> None:
    from kimicua.env.browser_env import BrowserEnv
    from kimicua.env.chromium import capture_page, decode_png

    env = BrowserEnv(size=size, capture="screen")
    try:
        env.reset()
        # A text-heavy page: PNG cost grows with detail, a blank page would flatter it.
        env.page.set_content("<body style='font:14px serif'>" + "kimicua capture benchmark " * 4000)
        env.observe()  # waits for the content to show
        ours = median_ms(env.observe, reps)  # nothing changed since: the grab alone
        cdp = env._context.new_cdp_session(env.page)
        png = median_ms(lambda: capture_page(cdp, size.width, size.height, 1.0), reps)
        assert (capture_page(cdp, size.width, size.height, 1.0) == env.observe().screenshot).all()
        jpeg_params = {"format": "jpeg", "quality": 90, "optimizeForSpeed": True,
                       "captureBeyondViewport": False}

        def cdp_jpeg():
            data = base64.b64decode(cdp.send("Page.captureScreenshot", jpeg_params)["data"])
            return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

        jpeg = median_ms(cdp_jpeg, reps)
        peer = median_ms(lambda: decode_png(env.page.screenshot()), reps)
    finally:
        env.close()
    print(f"browser {size}: screen grab (ours) {ours:6.1f} ms | CDP PNG fast {png:7.1f} ms | CDP JPEG "
          f"q90 {jpeg:7.1f} ms | page.screenshot() {peer:7.1f} ms -> ours {png / ours:4.1f}x faster "
          f"than CDP PNG, {peer / ours:4.1f}x than page.screenshot() (the same pixels as CDP PNG)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--browser-reps", type=int, default=10)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    for size in SIZES:
        desktop(size, args.reps)
    if not args.skip_browser:
        for size in SIZES:
            browser(size, args.browser_reps)


if __name__ == "__main__":
    main()
