"""Is a predicted point right? The hit tests and the verdict per sample.

As the official scripts decide (ScreenSpot's, ScreenSpot-Pro's ``eval_sample_*_gt``,
OSWorld-G's ``_eval``):

- a point is correct when it lies in the target box, edges included (OSWorld-G's
  polygons: inside, or on an edge);
- a sample whose element is absent (Pro's negative samples, OSWorld-G's refusals) is
  correct only when the model declines; a point there is wrong;
- no usable point (missing, null, unparseable) is ``wrong_format``. A decline on a
  sample whose element is there is a well-formed wrong answer: ``wrong``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kimicua.tasks.screenspot.formats import Absent, Box, Polygon, Target

CORRECT, WRONG, WRONG_FORMAT = "correct", "wrong", "wrong_format"
VERDICTS = (CORRECT, WRONG, WRONG_FORMAT)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the model said, as scoring needs it: a point in image pixels, or that it
    declined (the element is not there), or neither (``Answer()``: wrong_format)."""

    point: tuple[float, float] | None = None
    declined: bool = False


def inside_box(box: Box, x: float, y: float) -> bool:
    return box.x1 <= x <= box.x2 and box.y1 <= y <= box.y2


def inside_polygon(polygon: Polygon, x: float, y: float) -> bool:
    """Even-odd ray casting (OSWorld-G's rule), with the edges counted as inside."""
    pts = polygon.points
    inside = False
    for (xi, yi), (xj, yj) in zip(pts, pts[-1:] + pts[:-1]):
        if _on_segment(x, y, xi, yi, xj, yj):
            return True
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
    return inside


def _on_segment(x: float, y: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
    scale = max(abs(x2 - x1), abs(y2 - y1), 1.0)
    return (abs(cross) <= 1e-9 * scale * scale
            and min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2))


def hit(target: Target, x: float, y: float) -> bool:
    """Whether the point (x, y) in image pixels lies on the target."""
    match target:
        case Box():
            return inside_box(target, x, y)
        case Polygon():
            return inside_polygon(target, x, y)
    return False  # nothing to hit where the element is absent


def judge(target: Target, answer: Answer | None) -> str:
    """correct, wrong or wrong_format for one sample (``None``: no prediction at all)."""
    point = answer.point if answer is not None else None
    if point is not None and not (len(point) == 2 and all(math.isfinite(v) for v in point)):
        point = None
    if isinstance(target, Absent):
        if point is not None:
            return WRONG
        return CORRECT if answer is not None and answer.declined else WRONG_FORMAT
    if point is not None:
        return CORRECT if hit(target, *point) else WRONG
    return WRONG if answer is not None and answer.declined else WRONG_FORMAT
