"""Group statistics and the GRPO advantage of each episode's return.

As verl's ``compute_grpo_outcome_advantage``: a group is one task's rollouts (here of
one model and dialect), the advantage is (return - group mean) / group std with the
sample standard deviation (``torch.std``'s default, n - 1). Two choices differ from
verl and say so: a group whose returns are all equal, and a group of one (no std),
get advantage 0 (verl divides by std + 1e-6, and gives a lone rollout its raw return);
and no epsilon is added. Mean and std are computed exactly (``statistics`` works in
fractions), so equal returns such as 0.1, 0.1, 0.1 give std 0, never a rounding residue
that would blow up into advantages of +-0.6.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class GroupStats:
    size: int
    mean: float
    std: float  # sample std (n - 1); 0 for a group of one

    def advantage(self, score: float) -> float:
        return 0.0 if self.std == 0 else (score - self.mean) / self.std

    def columns(self, score: float | None) -> dict:
        """The group columns of a row whose episode returned ``score`` (None: unscored)."""
        return {"advantage": None if score is None else self.advantage(score), "group_size": self.size,
                "group_mean": self.mean, "group_std": self.std}


NO_GROUP = {"advantage": None, "group_size": None, "group_mean": None, "group_std": None}


def group_stats(scores: Iterable[tuple[Hashable, float]]) -> dict[Hashable, GroupStats]:
    """(group key, return) pairs -> each group's statistics."""
    groups: dict[Hashable, list[float]] = defaultdict(list)
    for key, score in scores:
        groups[key].append(score)
    out = {}
    for key, values in groups.items():
        equal = min(values) == max(values)
        std = 0.0 if equal or len(values) < 2 else statistics.stdev(values)
        out[key] = GroupStats(len(values), values[0] if equal else statistics.mean(values), std)
    return out
