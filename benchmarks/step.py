"""Time of one env step (execute + settle + capture), excluding any model.

For the desktop env (private Xvfb, pyautogui/XTest, mss) and the browser env (headless
Chromium, Playwright, CDP screenshot), each action kind repeated and the median taken.
The desktop step includes its settle pause (DesktopEnv.settle_s, printed), so the
desktop is also measured with settle_s=0 to show what the machinery itself costs.
Peer in the same run: a bare capture (observe()) of the same env, the floor of any step.
Other processes sharing the cores skew every figure; compare within a row.

    .venv/bin/python benchmarks/step.py [--reps 20] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import statistics
import time

from kimicua.env import Size
from kimicua.env.actions import Click, Key, Move, Type

ACTIONS = {
    "move": lambda i: Move(x=100 + i, y=100),
    "click": lambda i: Click(x=200 + i, y=200),
    "key": lambda i: Key(key="shift"),
    "type(10 chars)": lambda i: Type(text="hello <ü>!"),
}


def measure(env, reps: int) -> dict[str, tuple[float, float, float]]:
    """action -> median (step total, execute_s, capture_s) in ms."""
    rows = {}
    observe = []
    env.observe()  # warm up: the first capture attaches the CDP session
    for _ in range(reps):
        t = time.perf_counter()
        env.observe()
        observe.append(time.perf_counter() - t)
    rows["observe() only"] = (statistics.median(observe) * 1e3, 0.0, statistics.median(observe) * 1e3)
    for name, make in ACTIONS.items():
        total, execute, capture = [], [], []
        env.step(make(0))  # warm up: first-use costs (imports, keymap) are not per-step
        for i in range(reps):
            t = time.perf_counter()
            _, _, _, _, info = env.step(make(i))
            total.append(time.perf_counter() - t)
            assert info["result"].ok, info["result"].error
            execute.append(info["execute_s"])
            capture.append(info["capture_s"])
        rows[name] = tuple(statistics.median(v) * 1e3 for v in (total, execute, capture))
    return rows


def report(title: str, rows: dict[str, tuple[float, float, float]]) -> None:
    floor = rows["observe() only"][0]
    print(title)
    for name, (total, execute, capture) in rows.items():
        print(f"  {name:16s} step {total:7.1f} ms  (execute {execute:6.1f}, capture {capture:6.1f}) "
              f"= {total / floor:4.1f}x a bare capture")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--size", type=Size.parse, default=Size(1920, 1080))
    args = parser.parse_args()

    from kimicua.env.browser_env import BrowserEnv
    from kimicua.env.desktop_env import DesktopEnv

    with DesktopEnv(size=args.size) as env:
        env.reset()
        report(f"desktop {args.size}, settle_s={env.settle_s}", measure(env, args.reps))
        env.settle_s = 0.0
        report(f"desktop {args.size}, settle_s=0", measure(env, args.reps))
    with BrowserEnv(size=args.size) as env:
        env.reset()
        env.page.set_content("<input autofocus style='width:90%'>" + "<p>benchmark text</p>" * 50)
        report(f"browser {args.size}", measure(env, args.reps))


if __name__ == "__main__":
    main()
