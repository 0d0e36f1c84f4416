"""Ask a model every sample of a grounding benchmark, B at a time, into predictions.jsonl.

Each answered batch is appended (one JSON line per sample) and flushed before the next
is asked, so a run that stops (Ctrl-C, a server gone) keeps what it had and the next
run with the same ``--out`` asks only the rest. ``run.json`` records what the
predictions were made with; a later run with another format, dialect, model or
instruction set into the same folder is refused rather than mixed in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kimicua.agent.dialects import Dialect
from kimicua.agent.policy import Policy, Prompt, Reply
from kimicua.env.geometry import Size
from kimicua.tasks.screenspot.formats import Sample
from kimicua.tasks.screenspot.grounding import grounding_prompt, read_answer
from kimicua.tasks.screenspot.images import image_path, load_image
from kimicua.tasks.screenspot.predictions import Predictions, read_predictions
from kimicua.tasks.screenspot.scoring import Answer

PREDICTIONS = "predictions.jsonl"
METRICS = "metrics.json"
RUN_RECORD = "run.json"

Answerer = Callable[[list[Prompt]], list[Reply]]  # a batch of prompts -> one reply each, in order


def answerer(policy: Policy) -> Answerer:
    """The policy's batch call: the local model decodes the prompts together, a server
    has them in flight at once; each reply is the one ``act`` would give."""
    return policy.act_batch


@dataclass(frozen=True, slots=True)
class Progress:
    """Called after each batch: samples answered so far this run, and those to answer."""

    done: int
    todo: int
    seconds: float


def check_run_record(out: Path, settings: dict[str, Any]) -> None:
    """Write ``run.json`` with ``settings``, or refuse (ValueError, one line) when the
    folder holds predictions made with other settings. Without predictions there is
    nothing to mix up: a run that never got to ask (a mistyped model) leaves no claim."""
    path = out / RUN_RECORD
    if path.is_file() and (out / PREDICTIONS).is_file():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            before = None
        if not isinstance(before, dict):
            raise ValueError(f"{path}: not a run record; choose another --out")
        for key, value in settings.items():
            if key in before and before[key] != value:
                raise ValueError(f"{out} holds predictions made with {key} {before[key]!r}, not {value!r}: "
                                 "choose another --out (or the same settings to resume)")
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")


def pending(samples: Sequence[Sample], done: Predictions) -> list[Sample]:
    """The samples no prediction answers yet, one per key."""
    seen: set[str] = set()
    todo = []
    for s in samples:
        if s.key not in seen and done.find(s) is None:
            seen.add(s.key)
            todo.append(s)
    return todo


def _batches(items: list[Sample], size: int) -> Iterator[list[Sample]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _open_for_append(path: Path):
    """The predictions file opened for appending, a torn last line (a killed run's) cut off first."""
    if path.is_file():
        raw = path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            with path.open("r+b") as f:
                f.truncate(raw.rfind(b"\n") + 1)
    return path.open("a", encoding="utf-8")


def prediction_line(sample: Sample, reply: Reply, answer: Answer, error: str | None,
                    size: Size, seconds: float) -> dict[str, Any]:
    """One predictions.jsonl line: the sample's id or image + instruction, the raw answer,
    the point in image pixels (or null), and how it was read."""
    line: dict[str, Any] = {} if sample.id is None else {"id": sample.id}
    line.update(img_filename=sample.image, instruction=sample.instruction, answer=reply.text,
                point=list(answer.point) if answer.point is not None else None, declined=answer.declined)
    if error is not None:
        line["error"] = error
    line.update(model=reply.model, image_size=[size.width, size.height], seconds=round(seconds, 3))
    return line


def predict(samples: Sequence[Sample], answer: Answerer, dialect: Dialect, out: Path, images: Path | None,
            *, batch: int = 1, on_progress: Callable[[Progress], None] | None = None) -> int:
    """Answer every sample not yet in ``out/predictions.jsonl``, ``batch`` prompts per
    call; returns how many were answered now. Images are checked before the first call."""
    if batch < 1:
        raise ValueError(f"--batch must be at least 1, got {batch}")
    path = out / PREDICTIONS
    done = read_predictions(path) if path.is_file() else Predictions(path)
    todo = pending(samples, done)
    for s in todo:
        image_path(images, s.image)  # a missing image fails the run before the model is asked
    answered, t0 = 0, time.perf_counter()
    if on_progress is not None:
        on_progress(Progress(0, len(todo), 0.0))
    with _open_for_append(path) as f:
        for chunk in _batches(todo, batch):
            pictures = [load_image(images, s.image) for s in chunk]
            prompts = [grounding_prompt(dialect, s.instruction, p) for s, p in zip(chunk, pictures)]
            t1 = time.perf_counter()
            replies = answer(prompts)
            seconds = (time.perf_counter() - t1) / len(chunk)
            if len(replies) != len(chunk):
                raise RuntimeError(f"the model gave {len(replies)} answers to {len(chunk)} prompts")
            for s, picture, reply in zip(chunk, pictures, replies):
                size = Size(picture.shape[1], picture.shape[0])
                got, error = read_answer(reply.text, dialect, size, reply.image_size)
                line = prediction_line(s, reply, got, error, size, seconds)
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
            f.flush()
            answered += len(chunk)
            if on_progress is not None:
                on_progress(Progress(answered, len(todo), time.perf_counter() - t0))
    return answered
