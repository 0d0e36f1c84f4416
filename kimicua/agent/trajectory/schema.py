"""The trajectory schema: one line of ``traj.jsonl`` and the episode's metadata.

Lines carry OSWorld's keys (``step_num``, ``action_timestamp``, ``action``,
``response``, ``reward``, ``done``, ``info``, ``screenshot_file``) so OSWorld's
tools read them, plus ours; every key of ours is optional so that OSWorld's own
``traj.jsonl`` files read back too. The writer, export, replay, the TUI and RL all
use these models and nothing else.

Version 2 records what the model was shown, so a trainer can rebuild each turn:
every line of a turn carries ``turn`` and ``prompt_images`` (the frame files in the
prompt, oldest first, the current screen last); the turn's first line also carries
``prompt_messages`` (the chat messages, each image item ``{"type": "image", "file":
name}`` instead of pixels) and, for a local model, ``prompt_token_ids``. A file a
line names exists whenever the line does. Version 1 lines (no prompt fields, no
frame on a failed answer) read as they are.

With routing recording (a local model, ``--record-routing``) the turn's first line also names
``routing_file``: ``routing_turn_<turn>.npy`` beside the frames, a uint8 array
[len(token_ids), MoE layers, top-k] of the experts each answer token was routed through
(model/routing.py). It is optional, so the schema version stays 2.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kimicua.env.actions import Action

SCHEMA_VERSION = 2
TIMESTAMP_FORMAT = "%Y%m%d@%H%M%S%f"  # OSWorld's action_timestamp


def timestamp(t: float) -> str:
    """OSWorld's ``%Y%m%d@%H%M%S%f`` for a time.time() value (UTC)."""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime(TIMESTAMP_FORMAT)


class Timings(BaseModel):
    """Seconds spent in each stage of one step (None: the stage did not run)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    capture_s: float | None = None
    preprocess_s: float | None = None
    model_s: float | None = None
    parse_s: float | None = None
    execute_s: float | None = None
    settle_s: float | None = None  # waiting for the screen to show the action's result
    write_s: float | None = None


class StepRecord(BaseModel):
    """One line of traj.jsonl: one executed action, or one answer that gave none.

    ``screenshot_file`` is the screen after the line's action. A line without an
    executed action changed nothing, so it names the last frame recorded, the screen
    as it stands: for an answer that failed to parse, the frame the model answered
    (the last of ``prompt_images``); for a vetoed action, the frame after the turn's
    previous action. Its ``response`` is the answer's text and ``error`` why no
    action ran.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    # OSWorld's keys.
    step_num: int
    action_timestamp: str
    action: Any = None  # computer_13 form where one exists, else our action JSON
    response: str = ""  # the raw model text
    reward: float = 0.0
    done: bool = False
    info: dict[str, Any] = Field(default_factory=dict)
    screenshot_file: str | None = None  # the screen after the action (see above)
    # Ours.
    schema_version: int | None = None
    parsed_action: Action | None = None
    action_index: int = 0  # position of this action within the model's answer
    turn: int | None = None  # model call this step came from (1-based)
    # The frames the prompt showed, oldest first; None for one that could not be written.
    prompt_images: list[str | None] = Field(default_factory=list)
    prompt_messages: list[dict[str, Any]] | None = None  # on the turn's first line
    prompt_token_ids: list[int] | None = None  # on the turn's first line, local model only
    token_ids: list[int] | None = None  # the answer's, on the turn's first line
    logprobs: list[float] | None = None
    routing_file: str | None = None  # on the turn's first line, with routing recording
    timings: Timings = Field(default_factory=Timings)
    screen: tuple[int, int] | None = None  # logical width, height
    scale: float | None = None
    coordinate_space: str | None = None  # the dialect's space the model answered in
    error: str | None = None  # parse or execution error of this step


class Outcome(BaseModel):
    """How an episode ended."""

    model_config = ConfigDict(frozen=True)

    status: str  # "done" | "fail" | "truncated" | "error" | "interrupted" | "stopped" | "parse_failures"
    score: float | None = None
    steps: int = 0
    turns: int = 0
    error: str | None = None
    verdict: str | None = None  # how the evaluator came to the score, in its words


class EpisodeMeta(BaseModel):
    """episode.json: written when the episode starts and again when it ends."""

    model_config = ConfigDict(frozen=True, extra="allow")

    schema_version: int = SCHEMA_VERSION
    task_id: str
    instruction: str
    domain: str | None = None
    model: str
    dialect: str | None = None
    seed: int | None = None
    # Rollouts of one task form a group (GRPO-style training): ``group`` names it
    # (domain/task_id), ``rollout`` is this episode's index in it (0..K-1).
    rollout: int | None = None
    group: str | None = None
    env: str | None = None
    screen: tuple[int, int] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    initial_screenshot: str | None = None
    outcome: Outcome | None = None
