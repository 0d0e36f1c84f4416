"""Which picture each line of an episode gets: the screen its action acted on.

A line's ``screenshot_file`` is the screen AFTER its action, so the screen an
action happened on is the one before it: the previous line's frame, or the
initial screenshot for the first line. A line that ran nothing (an unparseable
answer, a vetoed action) names the screen as it stands, which is that same
screen. Frames missing from disk (an interrupted episode) leave their lines
without a picture; whatever exists is still shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kimicua.agent.trajectory import Episode, StepRecord
from kimicua.env.actions import Action
from kimicua.tools.render.captions import describe, one_line


@dataclass(frozen=True)
class Shot:
    """One picture: a line of traj.jsonl (``step``) or the episode's end (``step`` None)."""

    name: str  # the picture's file stem: step_001 ... or end
    step: StepRecord | None
    source: Path | None  # the frame to draw on; None when it is not on disk
    text: str  # the caption
    error: str | None
    screen: tuple[int, int] | None  # logical size of the screen the frame shows

    @property
    def action(self) -> Action | None:
        return None if self.step is None else self.step.parsed_action


def action_text(step: StepRecord) -> str:
    """The action's short text; for a line without a typed action, what it holds."""
    if step.parsed_action is not None:
        return describe(step.parsed_action)
    if step.action not in (None, "", [], {}):
        return one_line(str(step.action))[:120]  # OSWorld's own lines: its action as written
    return "no action"


def outcome_text(ep: Episode) -> tuple[str, str | None]:
    """The end's caption and error: status and score, or that the episode is unfinished."""
    outcome = ep.meta.outcome if ep.meta else None
    if outcome is None:
        return ("end: unfinished" + (f", score {ep.result:.2f}" if ep.result is not None else ""),
                "; ".join(ep.errors) or None)
    score = "no score" if outcome.score is None else f"score {outcome.score:.2f}"
    return f"end: {outcome.status}, {score}", outcome.error


def _initial(ep: Episode) -> Path | None:
    name = ep.meta.initial_screenshot if ep.meta else None
    path = None if name is None else ep.directory / name
    return path if path is not None and path.exists() else None


def episode_shots(ep: Episode) -> list[Shot]:
    """A shot per line, on the screen before its action, then the end's shot."""
    screen = ep.meta.screen if ep.meta else None
    shots, before = [], _initial(ep)
    total = len(ep.steps)
    for i, step in enumerate(ep.steps, start=1):
        source = before
        if source is None and step.action_index == 0 and step.prompt_images:
            # The model's current screen, the last of its prompt: where its first action acts.
            source = ep.prompt_frames(step)[-1]
        shots.append(Shot(f"step_{i:03d}", step, source, f"step {i}/{total}: {action_text(step)}", step.error,
                          step.screen or screen))
        if step.screenshot_file is not None:  # a line naming no frame changed nothing
            before = ep.frame(step)
    text, error = outcome_text(ep)
    last_screen = ep.steps[-1].screen if ep.steps else None
    shots.append(Shot("end", None, before, text, error, last_screen or screen))
    return shots
