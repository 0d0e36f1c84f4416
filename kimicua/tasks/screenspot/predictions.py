"""Predictions files (JSON lines), ours or made elsewhere, matched to samples and scored.

A line names its sample by ``id``, or by ``img_filename`` and ``instruction``, and
gives ``point``: ``[x, y]`` in image pixels. A missing, null or unparseable point is
wrong_format, unless the line says ``"declined": true`` (the model answered that the
element is not there). Lines this project writes carry more (the raw answer, the model,
the parse error), which scoring does not need.

A last line cut short (a run killed mid-write, no newline after it) is skipped with a
note; any other line that is not a JSON object is an error naming the line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from kimicua.tasks.screenspot.formats import Dataset, FormatError, Sample
from kimicua.tasks.screenspot.scoring import Answer, judge


@dataclass
class Predictions:
    """The answers of a predictions file, by id and by image + instruction (a later
    line for the same sample wins)."""

    path: Path | None = None
    by_id: dict[str, int] = field(default_factory=dict)
    by_image: dict[tuple[str, str], int] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repeated: int = 0  # lines naming a sample an earlier line named

    def add(self, line: dict[str, Any]) -> None:
        index = len(self.answers)
        self.answers.append(answer_of(line))
        sample_id = line.get("id")
        id_key = str(sample_id) if isinstance(sample_id, str | int) and not isinstance(sample_id, bool) else None
        image, instruction = line.get("img_filename"), line.get("instruction")
        image_key = (image, instruction) if isinstance(image, str) and isinstance(instruction, str) else None
        self.repeated += id_key in self.by_id or image_key in self.by_image
        if id_key is not None:
            self.by_id[id_key] = index
        if image_key is not None:
            self.by_image[image_key] = index

    def find_index(self, sample: Sample) -> int | None:
        if sample.id is not None and sample.id in self.by_id:
            return self.by_id[sample.id]
        return self.by_image.get((sample.image, sample.instruction))

    def find(self, sample: Sample) -> Answer | None:
        """The sample's answer; None when no line names it."""
        index = self.find_index(sample)
        return None if index is None else self.answers[index]

    def __len__(self) -> int:
        return len(self.answers)


def answer_of(line: dict[str, Any]) -> Answer:
    """A line's answer: its point when that is two finite numbers, else its decline."""
    point = line.get("point")
    if (isinstance(point, list | tuple) and len(point) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in point)):
        return Answer(point=(float(point[0]), float(point[1])))
    return Answer(declined=line.get("declined") is True)


def read_predictions(path: Path) -> Predictions:
    """Every line of a predictions file; FormatError (naming the file and line) for a
    file that is not one."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise FormatError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None
    out = Predictions(path)
    lines = text.split("\n")
    torn = not text.endswith("\n")
    for number, body in enumerate(lines, 1):
        if not body.strip():
            continue
        try:
            line = json.loads(body)
        except ValueError:
            line = None
        if not isinstance(line, dict):
            if torn and number == len(lines):
                out.notes.append(f"{path.name}: line {number} is cut short (no newline after it): skipped")
                continue
            raise FormatError(f"{path}: line {number}: not a JSON object")
        if "id" not in line and not ("img_filename" in line and "instruction" in line):
            raise FormatError(f"{path}: line {number}: names no sample (needs id, or img_filename and instruction)")
        out.add(line)
    return out


def verdicts(samples: Sequence[Sample], predictions: Predictions) -> list[str]:
    """correct / wrong / wrong_format per sample; a sample with no line is wrong_format."""
    return [judge(s.target, predictions.find(s)) for s in samples]


def coverage_notes(dataset: Dataset, predictions: Predictions) -> list[str]:
    """What did not match: samples without a prediction, predictions without a sample."""
    used = {predictions.find_index(s) for s in dataset.samples}
    missing = sum(1 for s in dataset.samples if predictions.find_index(s) is None)
    unmatched = sum(1 for i in range(len(predictions)) if i not in used) - predictions.repeated
    notes = []
    if missing:
        notes.append(f"{missing} of {len(dataset.samples)} sample(s) have no prediction: counted as wrong_format")
    if predictions.repeated:
        notes.append(f"{predictions.repeated} prediction line(s) name a sample an earlier line named: the later counts")
    if unmatched > 0:
        notes.append(f"{unmatched} prediction line(s) match no sample: ignored")
    return notes
