"""Replay: a recorded (or generated) episode's actions played again on a fresh env.

The actions are the executed lines' parsed actions, in order (lines whose action
failed or was vetoed, and answers that gave none, are skipped; OSWorld's own lines
give their computer_13 ``action``). They are played by the episode loop itself with
a scripted policy, after the task's setup, and evaluated: the replayed episode is
written and listed as a run writes it (``source: "replay"`` in its episode.json).

``first_divergence`` compares the replay's frames with the recording's: the screen
before the first action, then the screen after each action (``compare``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from kimicua.agent.trajectory import Episode, StepRecord
from kimicua.env.actions import Action, ActionError, from_computer13
from kimicua.tools.record.compare import Difference, difference


class ReplayError(ValueError):
    """An episode that cannot be replayed: one line naming the file and line."""


@dataclass(frozen=True)
class Played:
    """One recorded line and the actions it replays as (one, or a computer_13 list's)."""

    step: StepRecord
    actions: tuple[Action, ...]


def executed(step: StepRecord) -> bool:
    """Whether a line's action ran and worked (not failed, vetoed or unparsed)."""
    if step.error is not None or step.info.get("ok") is False:
        return False
    return step.parsed_action is not None or step.action is not None


def replayable(episode: Episode) -> list[Played]:
    """The recorded lines to play, each with its actions (ReplayError for a line
    whose action this runtime cannot read, such as OSWorld's pyautogui code)."""
    out: list[Played] = []
    for step in episode.steps:
        if not executed(step):
            continue
        if step.parsed_action is not None:
            out.append(Played(step, (step.parsed_action,)))
            continue
        items = step.action if isinstance(step.action, list) else [step.action]
        try:
            out.append(Played(step, tuple(from_computer13(item) for item in items)))
        except ActionError as err:
            raise ReplayError(f"{episode.directory / 'traj.jsonl'}: step {step.step_num}: "
                              f"its action cannot be replayed ({err})") from None
    return out


@dataclass(frozen=True)
class Divergence:
    """Where a replay first looked different from its recording."""

    step: int  # 0: the screen before the first action; k: after the k-th replayed action
    recorded_step: int | None  # that action's step_num in the recording
    action: Action | None
    reason: str

    def describe(self) -> str:
        from kimicua.tools.render.captions import describe

        if self.step == 0:
            return f"before the first action: {self.reason}"
        what = f" ({describe(self.action)})" if self.action is not None else ""
        return f"step {self.step} (recorded step {self.recorded_step}){what}: {self.reason}"


@dataclass(frozen=True)
class Check:
    """The outcome of ``first_divergence``: the first divergence, if any, how many
    frame pairs were compared, and the largest difference that was tolerated."""

    divergence: Divergence | None
    compared: int
    largest: tuple[int, Difference] | None  # (step, difference) with the most changed tiles


def _load(path: Path | None) -> np.ndarray | None:
    if path is None or not path.exists():
        return None
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _initial(episode: Episode) -> Path | None:
    name = episode.meta.initial_screenshot if episode.meta is not None else None
    return None if name is None else episode.directory / name


def first_divergence(recorded: Episode, played: list[Played], replayed: Episode,
                     tolerance: int = 0) -> Check:
    """Compare the replay's frames with the recording's, in order; a frame pair
    diverges when more than ``tolerance`` tiles changed (``compare``), and an action
    that failed or never ran on replay diverges too. Frames missing on either side
    are not compared."""
    after = [s for s in replayed.steps if s.parsed_action is not None]
    pairs: list[tuple[int, int | None, Action | None, Path | None, Path | None]] = [
        (0, None, None, _initial(recorded), _initial(replayed))]
    k = 0
    for item in played:
        k += len(item.actions)
        mine = after[k - 1] if k <= len(after) else None
        if mine is None:
            reason = f"the replay ended after {len(after)} of {sum(len(p.actions) for p in played)} actions"
            if replayed.meta is not None and replayed.meta.outcome is not None and replayed.meta.outcome.error:
                reason += f" ({replayed.meta.outcome.error})"
            return Check(Divergence(k, item.step.step_num, item.actions[-1], reason), len(pairs) - 1, None)
        pairs.append((k, item.step.step_num, item.actions[-1], recorded.frame(item.step), replayed.frame(mine)))
    compared, largest = 0, None
    for step, recorded_step, action, theirs, ours in pairs:
        if step and (mine := after[step - 1]).error is not None:
            return Check(Divergence(step, recorded_step, action, f"the action failed on replay: {mine.error}"),
                         compared, largest)
        a, b = _load(theirs), _load(ours)
        if a is None or b is None:
            continue
        compared += 1
        diff = difference(a, b)
        if diff.size_mismatch or diff.tiles > tolerance:
            return Check(Divergence(step, recorded_step, action, diff.describe()), compared, largest)
        if diff.tiles and (largest is None or diff.tiles > largest[1].tiles):
            largest = (step, diff)
    return Check(None, compared, largest)
