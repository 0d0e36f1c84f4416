"""``export_run``: a run's episodes as rows for RL trainers, in two passes.

The first pass reads every episode's metadata (scores, groups); the second reads one
episode at a time and streams its rows to the writer, so memory holds one episode and
one row group whatever the run's size. Episodes without a score (interrupted, crashed,
stopped) are left out unless ``include_unscored``, which keeps them with null rewards;
either way they never count in a group's statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kimicua.agent.trajectory import TrajectoryError, read_episode
from kimicua.tools.export.advantages import group_stats
from kimicua.tools.export.columns import LEVELS
from kimicua.tools.export.rows import episode_rows, step_rows
from kimicua.tools.export.source import scan
from kimicua.tools.export.turns import model_turns
from kimicua.tools.export.writers import FORMATS, open_writer


class ExportError(ValueError):
    """Bad input to an export (one line: what and where)."""


@dataclass
class ExportReport:
    rows: int = 0
    episodes: int = 0  # exported
    groups: int = 0  # groups with at least one scored episode
    unscored: int = 0  # episodes without a score (left out unless include_unscored)
    set_aside: int = 0  # earlier attempts a rerun set aside, skipped
    without_token_ids: int = 0  # exported episodes with a turn lacking prompt or response ids
    skipped: list[str] = field(default_factory=list)  # unreadable episodes, one line each

    def warnings(self, include_unscored: bool) -> list[str]:
        """What the user should know, one line each."""
        lines = [f"skipped {line}" for line in self.skipped]
        if self.unscored:
            lines.append(f"{self.unscored} episode(s) without a score (interrupted, stopped or failed): "
                         + ("kept with null rewards" if include_unscored else "left out (--include-unscored keeps them)"))
        if self.set_aside:
            lines.append(f"skipped {self.set_aside} set-aside earlier attempt(s) (*.interrupted-N, *.replaced-N)")
        if self.without_token_ids:
            lines.append(f"{self.without_token_ids} of {self.episodes} episode(s) have turns without token ids "
                         "(their backend did not return them, as a server does not): those token columns are null")
        return lines


def _check(run_dir: Path, out: Path, fmt: str, level: str) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (parquet or jsonl)")
    if level not in LEVELS:
        raise ExportError(f"unknown level {level!r} (step or episode)")
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir}: no such directory")
    if out.is_dir():
        raise ExportError(f"--out {out}: is a directory")
    if not out.parent.is_dir():
        raise ExportError(f"--out {out}: no such directory {out.parent}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ExportError("--format parquet needs pyarrow (pip install 'kimicua[data]'), or use --format jsonl") from None


def export_run(run_dir: str | Path, out: str | Path, *, fmt: str = "parquet", level: str = "step",
               include_unscored: bool = False, rows_per_group: int = 128) -> ExportReport:
    """Write the episodes below ``run_dir`` to ``out`` as ``level`` rows in ``fmt``.
    Raises ExportError for bad input (nothing to export, a target that cannot be written)."""
    run_dir, out = Path(run_dir), Path(out)
    _check(run_dir, out, fmt, level)
    found = scan(run_dir)
    report = ExportReport(set_aside=found.set_aside, skipped=list(found.unreadable))
    if not found.episodes:
        raise ExportError(f"{run_dir}: no episodes below it (no traj.jsonl outside set-aside attempts)")
    scored = [e for e in found.episodes if e.score is not None]
    report.unscored = len(found.episodes) - len(scored)
    chosen = found.episodes if include_unscored else scored
    if not chosen:
        raise ExportError(f"{run_dir}: none of its {len(found.episodes)} episode(s) has a score "
                          "(--include-unscored exports them with null rewards)")
    stats = group_stats((e.group_key, e.score) for e in scored)
    report.groups = len(stats)
    build = step_rows if level == "step" else episode_rows
    try:
        writer = open_writer(fmt, out, level, rows_per_group)
    except OSError as err:
        raise ExportError(f"--out {out}: cannot write ({err.strerror or err})") from None
    try:
        for info in chosen:
            try:
                turns = model_turns(read_episode(info.directory))
            except (OSError, TrajectoryError) as err:
                report.skipped.append(" ".join(str(err).split()))
                continue
            report.episodes += 1
            report.without_token_ids += not all(t.has_token_ids for t in turns)
            for row in build(info, turns, stats.get(info.group_key)):
                writer.write(row)
        writer.close()
    except OSError as err:
        writer.discard()
        raise ExportError(f"--out {out}: cannot write ({err.strerror or err})") from None
    except BaseException:
        writer.discard()
        raise
    report.rows = writer.rows
    return report
