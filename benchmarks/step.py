"""Time of one env step (execute + settle + capture), excluding any model, against peers
measured in the same run.

Desktop (private Xvfb, pyautogui/XTest, mss): the step waits until the screen shows the
action (X damage, kimicua/env/settle.py); the peer is what the env did before, a fixed
50 ms pause. Two steps: one that changes nothing (a pointer move over the bare desktop)
and one that redraws (a key typed into xterm). settle_s=0 shows the machinery alone.
Browser: Chromium shown on the env's own X screen and grabbed with mss (capture="screen",
ours) against headless Chromium's CDP screenshots (capture="cdp", the peer, what the env
did before): observe() alone, then steps (move and shift change nothing, typing redraws).
--latency: how long after an input apps draw (xterm and mousepad typing; a Chromium page
after its frame round trip), what settle.FIRST_S is chosen from.
Other processes sharing the cores skew every figure (the load is printed): compare
within a run.

    .venv/bin/python benchmarks/step.py [--reps 20] [--size 1920x1080] [--latency 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from kimicua.env import Size
from kimicua.env.actions import Click, Key, Move, Type

COLUMNS = ("total", "execute_s", "settle_s", "capture_s")


def median_ms(values) -> float:
    return statistics.median(values) * 1e3


def observe_ms(env, reps: int) -> float:
    env.observe()  # warm up: the first capture attaches a CDP session
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        env.observe()
        times.append(time.perf_counter() - t)
    return median_ms(times)


def steps(env, make, reps: int) -> dict[str, float]:
    """Median step total and its parts in ms, and how many steps saw a change."""
    env.step(make(0))  # warm up: first-use costs (imports, keymap) are not per-step
    rows, changed = {c: [] for c in COLUMNS}, 0
    for i in range(reps):
        t = time.perf_counter()
        _, _, _, _, info = env.step(make(i + 1))
        rows["total"].append(time.perf_counter() - t)
        assert info["result"].ok, info["result"].error
        for c in COLUMNS[1:]:
            rows[c].append(info[c])
        changed += info["settle"].changed
    return {**{c: median_ms(v) for c, v in rows.items()}, "changed": changed}


def line(label: str, row: dict[str, float], reps: int, peer: dict[str, float] | None = None) -> str:
    text = (f"  {label:34s} step {row['total']:6.1f} ms (execute {row['execute_s']:5.1f}, "
            f"settle {row['settle_s']:5.1f}, capture {row['capture_s']:5.1f}) "
            f"changed {row['changed']:2d}/{reps}")
    if peer is not None:
        text += f"  -> {peer['total'] / row['total']:4.1f}x the peer"
    return text


def desktop(size: Size, reps: int) -> None:
    from kimicua.env.desktop_env import DesktopEnv

    noop = lambda i: Move(x=size.width - 200 + i % 50, y=size.height - 100)  # the bare desktop
    typed = lambda i: Type(text="a")
    print(f"desktop {size} (a private Xvfb; typing goes to xterm)")
    results = {}
    for label, settle in (("fixed 50 ms pause (peer)", 0.05), ("screen settle (ours)", None),
                          ("no pause (floor)", 0.0)):
        with DesktopEnv(size=size, settle_s=settle) as env:
            env.reset()
            env.launch(["xterm", "-T", "bench"])
            env.wait_for_window("bench")
            env.activate_window("bench")
            results[label] = {"nothing changes": steps(env, noop, reps),
                              "xterm redraws": steps(env, typed, reps)}
    peer = results["fixed 50 ms pause (peer)"]
    for label, rows in results.items():
        for kind, row in rows.items():
            print(line(f"{kind}, {label}", row, reps, None if rows is peer else peer[kind]))


PAGE = "<input autofocus style='width:90%'>" + "<p>benchmark text</p>" * 50
BROWSER_STEPS = {
    "move (nothing changes)": lambda i: Move(x=100 + i, y=300),
    "key shift (nothing changes)": lambda i: Key(key="shift"),
    "click": lambda i: Click(x=200 + i, y=10),
    "type 1 char (redraws)": lambda i: Type(text="a"),
}


def browser(size: Size, reps: int) -> None:
    from kimicua.env.browser_env import BrowserEnv

    print(f"browser {size}")
    results = {}
    for capture in ("cdp", "screen"):
        with BrowserEnv(size=size, capture=capture) as env:
            env.reset()
            env.page.set_content(PAGE)
            results[capture] = {"observe": observe_ms(env, reps),
                                **{name: steps(env, make, reps) for name, make in BROWSER_STEPS.items()}}
    cdp, ours = results["cdp"], results["screen"]
    print(f"  observe(): CDP screenshot (peer) {cdp['observe']:6.1f} ms | screen grab (ours) "
          f"{ours['observe']:6.1f} ms -> {cdp['observe'] / ours['observe']:4.1f}x faster")
    for name in BROWSER_STEPS:
        print(line(f"{name}, CDP (peer)", cdp[name], reps))
        print(line(f"{name}, screen (ours)", ours[name], reps, cdp[name]))


def latency(size: Size, reps: int) -> None:
    """From the end of an input to the first drawing the X server reports, and whether an
    app's drawing thread was running when settle.FIRST_S had passed without one."""
    from kimicua.env.browser_env import BrowserEnv
    from kimicua.env.busy import Busy
    from kimicua.env.desktop_env import DesktopEnv
    from kimicua.env.settle import SETTLE_TIMES

    def measure(watch, busy, act, before=lambda: None, first_s=SETTLE_TIMES.first_s):
        found, late, running = [], 0, 0
        for _ in range(reps):
            time.sleep(0.05)
            watch.clear()
            act()
            before()
            t = time.perf_counter()
            drew = watch.wait(first_s)
            if not drew:
                late += 1
                running += busy()
                drew = watch.wait(0.5)
            if drew:
                found.append(time.perf_counter() - t)
        return found, late, running

    rows = {}
    with DesktopEnv(size=size) as env:
        for app, title in (("xterm", "xterm"), ("mousepad", "Mousepad")):
            env.reset()
            env.launch([app])
            env.wait_for_window(title, timeout=20)
            env.activate_window(title)
            time.sleep(1.0)
            rows[f"{app} typing"] = measure(env._watch, Busy(env._app_pids),
                                            lambda: env._controller.execute(Type(text="a")))
    with BrowserEnv(size=size, capture="screen") as env:
        env.reset()
        env.page.set_content(PAGE)
        env.observe()
        page = env._active_page()
        rows["Chromium typing, after its frame"] = measure(
            env._screen.watch, Busy(env._drawing_pids), lambda: page.keyboard.type("a"),
            before=lambda: env._screen.frame(env._context, page))
    print(f"first drawing after an input, ms ({reps} inputs each; not drawn within 0.5 s not "
          f"counted); past first_s ({SETTLE_TIMES.first_s * 1e3:g} ms): how many, and with a "
          f"drawing thread running then")
    for name, (found, late, running) in rows.items():
        ms = sorted(v * 1e3 for v in found)
        print(f"  {name:34s} median {statistics.median(ms):5.2f}  90% {ms[int(len(ms) * 0.9)]:5.2f}  "
              f"max {ms[-1]:6.2f}  past first_s {late:2d}/{len(ms)}, running {running}/{late}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--size", type=Size.parse, default=Size(1920, 1080))
    parser.add_argument("--latency", type=int, default=0, metavar="N",
                        help="also measure how soon apps draw after N inputs each")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    desktop(args.size, args.reps)
    browser(args.size, args.reps)
    if args.latency:
        latency(args.size, args.latency)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
