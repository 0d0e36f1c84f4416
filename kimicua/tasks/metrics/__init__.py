"""Evaluator metrics with OSWorld's names, argument order and scores, one module per
kind of state (see ``registry`` for the calling convention)."""

from kimicua.tasks.metrics import general  # noqa: F401  (registers its metrics)
from kimicua.tasks.metrics import images, image_checks, media  # noqa: F401
from kimicua.tasks.metrics import files, configs, desktop  # noqa: F401
from kimicua.tasks.metrics import chrome, thunderbird, vlc  # noqa: F401
from kimicua.tasks.metrics import table, textfiles, word, word_format  # noqa: F401
from kimicua.tasks.metrics import slides, slide_checks, pdf, epub, prefs, placement  # noqa: F401
from kimicua.tasks.metrics.registry import METRICS, metric

__all__ = ["METRICS", "metric"]
