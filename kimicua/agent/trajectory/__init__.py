"""The trajectory store: one schema, one writer, one reader."""

from kimicua.agent.trajectory.frames import FrameWriter
from kimicua.agent.trajectory.reader import Episode, TrajectoryError, find_episodes, read_episode
from kimicua.agent.trajectory.schema import (
    SCHEMA_VERSION,
    EpisodeMeta,
    Outcome,
    StepRecord,
    Timings,
    timestamp,
)
from kimicua.agent.trajectory.writer import TrajectoryWriter

__all__ = [
    "SCHEMA_VERSION", "Episode", "EpisodeMeta", "FrameWriter", "Outcome", "StepRecord",
    "Timings", "TrajectoryError", "TrajectoryWriter", "find_episodes", "read_episode", "timestamp",
]
