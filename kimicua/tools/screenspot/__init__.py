"""Running and scoring the grounding benchmarks: a policy asked in batches into a
resumable predictions.jsonl, then metrics.json and the printed tables."""

from kimicua.tools.screenspot.report import metrics_json, print_report, tables, write_metrics
from kimicua.tools.screenspot.runner import (
    METRICS, PREDICTIONS, RUN_RECORD, Answerer, Progress, answerer, check_run_record, pending, predict,
)

__all__ = ["METRICS", "PREDICTIONS", "RUN_RECORD", "Answerer", "Progress", "answerer", "check_run_record",
           "metrics_json", "pending", "predict", "print_report", "tables", "write_metrics"]
