"""Trajectory writing: how long the step loop waits for the writer per step with
1920x1080 frames, against the peer: OSWorld's way (the PNG saved inline).

Ours hands each step over: frames encode (and fsync) in background threads, and one
writer thread appends each line, in step order, once every frame it names is in
place, then fsyncs it. The lines are version 2's: every one names the prompt's frames,
a turn's first one holds its messages and prompt token ids, and every fifth turn is
a failed answer naming the frame it answered.

Goal: the loop waits under 2 ms per step while PNG encoding and fsync run behind.
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

SYSTEM = "You are a GUI agent. " * 150  # about a dialect's system prompt (3 kB)


def record(n: int, shown: list[str], failed: bool = False) -> StepRecord:
    """Step n's line as the loop writes it: a one-action turn seeing the last 3 frames."""
    images = [{"role": "user", "content": [{"type": "image", "file": f}]} for f in shown[:-1]]
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Task: ..."}, *images,
                {"role": "user", "content": [{"type": "image", "file": shown[-1]},
                                             {"type": "text", "text": "What is the next step?"}]}]
    common = dict(step_num=n, action_timestamp=timestamp(time.time()), response="## Thought\n..." * 20,
                  turn=n, prompt_images=shown, prompt_messages=messages,
                  prompt_token_ids=list(range(3000)), token_ids=list(range(200)), logprobs=[-0.5] * 200)
    if failed:
        return StepRecord(**common, screenshot_file=shown[-1], error="kimi: no action found")
    a = Click(x=n, y=n)
    return StepRecord(**common, action=to_computer13(a)[0], parsed_action=a)


def ours(frames, root: Path, model_s: float) -> tuple[list[float], float, list[int]]:
    """Step-loop waits, total seconds, and how many lines were not yet durable
    each time the model's turn ended (how far the writer runs behind)."""
    waits, behind = [], []
    t0 = time.perf_counter()
    with TrajectoryWriter(root / "ours", EpisodeMeta(task_id="b", instruction="i", model="m")) as w:
        shown = [w.initial(frames[-1].copy())]
        for n, img in enumerate(frames, start=1):
            time.sleep(model_s)  # the model's turn: the writer works meanwhile
            behind.append(w.steps - w.durable)
            failed = n % 5 == 0
            shot = None if failed else img.copy()  # a fresh array per step, as capture gives
            t = time.perf_counter()
            rec = w.step(record(n, shown[-3:], failed), shot)
            waits.append(time.perf_counter() - t)
            if not failed:
                shown.append(rec.screenshot_file)
        w.finish(Outcome(status="done", score=1.0, steps=len(frames)))
    return waits, time.perf_counter() - t0, behind


def inline(frames, root: Path, model_s: float) -> tuple[list[float], float]:
    """The peer: json line + PNG saved on the step's path (OSWorld's lib_run_single)."""
    (root / "inline").mkdir()
    waits, shown = [], ["initial.png"]
    t0 = time.perf_counter()
    with open(root / "inline" / "traj.jsonl", "a") as f:
        for n, img in enumerate(frames, start=1):
            time.sleep(model_s)
            t = time.perf_counter()
            Image.fromarray(img).save(root / "inline" / f"step_{n}.png")
            f.write(record(n, shown[-3:]).model_dump_json() + "\n")
            f.flush()
            waits.append(time.perf_counter() - t)
            shown.append(f"step_{n}.png")
    return waits, time.perf_counter() - t0


def p90(xs: list[float]) -> float:
    return sorted(xs)[int(len(xs) * 0.9)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--model-ms", type=float, default=50.0, help="simulated model time per step")
    args = p.parse_args()
    frames = [screenshot_like(seed=i) for i in range(4)] * (args.steps // 4)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        waits, total, behind = ours(frames, root, args.model_ms / 1000)
        ours_wait = statistics.median(waits)
        print(f"{'ours (background PNG, ordered fsync lines)':44s} wait/step median {ours_wait * 1e3:7.2f} ms  "
              f"p90 {p90(waits) * 1e3:7.2f} ms  {len(frames) / total:6.1f} steps/s (with {args.model_ms:.0f} ms model)")
        print(f"{'':44s} lines not yet durable when the model answers: median {statistics.median(behind):.0f}, "
              f"max {max(behind)} (the frame queue holds 8)")
        waits, total = inline(frames, root, args.model_ms / 1000)
        print(f"{'inline PNG (OSWorld)':44s} wait/step median {statistics.median(waits) * 1e3:7.2f} ms  "
              f"p90 {p90(waits) * 1e3:7.2f} ms  {len(frames) / total:6.1f} steps/s (with {args.model_ms:.0f} ms model)")
        print(f"ratio: the step loop waits {statistics.median(waits) / ours_wait:.1f}x less with ours "
              f"(goal: ours < 2 ms; {'met' if ours_wait < 2e-3 else 'NOT met'})")
        # Raw throughput with no model time: the writer's own limit.
        (root / "raw").mkdir()
        waits, total, _ = ours(frames, root / "raw", 0.0)
        print(f"writer throughput with no model time: {len(frames) / total:.1f} steps/s "
              f"(median wait {statistics.median(waits) * 1e3:.1f} ms: back-pressure once the queue is full)")


if __name__ == "__main__":
    main()
