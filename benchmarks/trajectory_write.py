"""Trajectory writing: steps/s with 1920x1080 frames, and how long the step loop
waits for the writer, against the peer: OSWorld's way (the PNG saved inline).

Goal: the loop waits under 2 ms per step while PNG encoding runs behind.
Run: .venv/bin/python benchmarks/trajectory_write.py [--steps 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from _frames import screenshot_like  # noqa: E402

from kimicua.agent.trajectory import EpisodeMeta, Outcome, StepRecord, TrajectoryWriter, timestamp  # noqa: E402
from kimicua.env.actions import Click, to_computer13  # noqa: E402


def record(n: int) -> StepRecord:
    a = Click(x=n, y=n)
    return StepRecord(step_num=n, action_timestamp=timestamp(time.time()), action=to_computer13(a)[0],
                      parsed_action=a, response="## Thought\n..." * 20, token_ids=list(range(200)),
                      logprobs=[-0.5] * 200)


def ours(frames, root: Path, model_s: float) -> tuple[list[float], float]:
    waits = []
    t0 = time.perf_counter()
    with TrajectoryWriter(root / "ours", EpisodeMeta(task_id="b", instruction="i", model="m")) as w:
        for n, img in enumerate(frames, start=1):
            time.sleep(model_s)  # the model's turn: the writer works meanwhile
            shot = img.copy()  # a fresh array per step, as capture gives
            t = time.perf_counter()
            w.step(record(n), shot)
            waits.append(time.perf_counter() - t)
        w.finish(Outcome(status="done", score=1.0, steps=len(frames)))
    return waits, time.perf_counter() - t0


def inline(frames, root: Path, model_s: float) -> tuple[list[float], float]:
    """The peer: json line + PNG saved on the step's path (OSWorld's lib_run_single)."""
    (root / "inline").mkdir()
    waits = []
    t0 = time.perf_counter()
    with open(root / "inline" / "traj.jsonl", "a") as f:
        for n, img in enumerate(frames, start=1):
            time.sleep(model_s)
            t = time.perf_counter()
            Image.fromarray(img).save(root / "inline" / f"step_{n}.png")
            f.write(record(n).model_dump_json() + "\n")
            f.flush()
            waits.append(time.perf_counter() - t)
    return waits, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--model-ms", type=float, default=50.0, help="simulated model time per step")
    args = p.parse_args()
    frames = [screenshot_like(seed=i) for i in range(4)] * (args.steps // 4)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, fn in (("ours (background PNG, fsync'd line)", ours), ("inline PNG (OSWorld)", inline)):
            waits, total = fn(frames, root, args.model_ms / 1000)
            print(f"{name:38s} wait/step median {statistics.median(waits) * 1e3:7.2f} ms  "
                  f"p90 {sorted(waits)[int(len(waits) * 0.9)] * 1e3:7.2f} ms  "
                  f"{len(frames) / total:6.1f} steps/s (with {args.model_ms:.0f} ms model)")
            if name.startswith("ours"):
                ours_wait = statistics.median(waits)
            else:
                print(f"ratio: the step loop waits {statistics.median(waits) / ours_wait:.1f}x less with ours "
                      f"(goal: ours < 2 ms; {'met' if ours_wait < 2e-3 else 'NOT met'})")
        # Raw throughput with no model time: the writer's own limit.
        (root / "raw").mkdir()
        waits, total = ours(frames, root / "raw", 0.0)
        print(f"writer throughput with no model time: {len(frames) / total:.1f} steps/s "
              f"(median wait {statistics.median(waits) * 1e3:.1f} ms: back-pressure once the queue is full)")


if __name__ == "__main__":
    main()
