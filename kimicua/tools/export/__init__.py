"""Trajectories as data for RL trainers: ``kimicua export``.

``export_run`` turns a run's episodes into rows, per model turn (``step``) or per
sequence in the shape of verl's agent-loop output (``episode``), with rewards, returns
and GRPO group advantages, written as parquet (pyarrow) or jsonl. The columns of each
level are listed in ``columns`` and documented in the README ("Export for RL").
"""

from kimicua.tools.export.advantages import GroupStats, group_stats
from kimicua.tools.export.columns import EPISODE_COLUMNS, LEVELS, STEP_COLUMNS, arrow_schema
from kimicua.tools.export.export import ExportError, ExportReport, export_run
from kimicua.tools.export.writers import FORMATS

__all__ = ["EPISODE_COLUMNS", "FORMATS", "LEVELS", "STEP_COLUMNS", "ExportError", "ExportReport", "GroupStats",
           "arrow_schema", "export_run", "group_stats"]
