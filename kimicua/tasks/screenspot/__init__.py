"""Grounding benchmarks (ScreenSpot v1, v2, Pro and OSWorld-G): their annotation files,
how a point is judged, and the report's tables as data. The run itself (prompting a
policy, predictions.jsonl, metrics.json) lives in ``kimicua.tools.screenspot``."""

from kimicua.tasks.screenspot.formats import (
    FORMATS, Absent, Box, Dataset, FormatError, Polygon, ProOptions, Sample, find_images, load,
)
from kimicua.tasks.screenspot.metrics import Cell, Report, Row, tally
from kimicua.tasks.screenspot.predictions import Predictions, coverage_notes, read_predictions, verdicts
from kimicua.tasks.screenspot.scoring import CORRECT, WRONG, WRONG_FORMAT, Answer, hit, judge

__all__ = [
    "CORRECT", "FORMATS", "WRONG", "WRONG_FORMAT", "Absent", "Answer", "Box", "Cell", "Dataset",
    "FormatError", "Polygon", "Predictions", "ProOptions", "Report", "Row", "Sample", "coverage_notes",
    "find_images", "hit", "judge", "load", "read_predictions", "tally", "verdicts",
]
