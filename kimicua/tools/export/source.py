"""The episodes a run holds, and who each one is: task, group, rollout, model, score.

The first pass of an export: it reads only episode.json and result.txt, so the group
statistics are known before any traj.jsonl is read. Directories a rerun set aside
(``*.interrupted-N``, ``*.replaced-N``) are skipped; runs written before episodes
recorded their rollout and group (and OSWorld's own, with no episode.json) are named
from the path, ``<results>/<dialect>/<observation>/<model>/<domain>/<task_id>[/rollout_<k>]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from kimicua.agent.trajectory import EpisodeMeta, find_episodes

SET_ASIDE = re.compile(r"\.(interrupted|replaced)-\d+$")
ROLLOUT_DIR = re.compile(r"^rollout_(\d+)$")
OBSERVATIONS = ("screenshot", "a11y_tree", "screenshot_a11y_tree", "som")  # OSWorld's observation types


@dataclass(frozen=True)
class EpisodeInfo:
    """One episode's identity and outcome, from its metadata (or its path)."""

    directory: Path
    episode_dir: str  # relative to the exported folder, '/'-separated ("." for the folder itself)
    task_id: str
    domain: str | None
    group: str
    rollout: int
    model: str | None
    dialect: str | None
    instruction: str | None
    status: str | None
    score: float | None

    @property
    def group_key(self) -> tuple[str | None, str | None, str]:
        """Rollouts compete only with the same task's rollouts of the same model and dialect."""
        return self.model, self.dialect, self.group

    def identity(self) -> dict:
        """The identity columns every row of this episode carries."""
        return {"task_id": self.task_id, "domain": self.domain, "group": self.group,
                "rollout": self.rollout, "model": self.model, "dialect": self.dialect,
                "instruction": self.instruction, "episode_dir": self.episode_dir, "status": self.status}


@dataclass
class Scan:
    """What a folder holds: the episodes, how many set-aside attempts were passed
    over, and one line for each episode whose metadata could not be read."""

    episodes: list[EpisodeInfo] = field(default_factory=list)
    set_aside: int = 0
    unreadable: list[str] = field(default_factory=list)


def _layout(task_dir: Path) -> dict[str, str | None]:
    """Domain, model and dialect as the results layout names them; all None when the
    path does not follow it (its names would be arbitrary folders)."""
    up = [p.name for p in task_dir.parents]
    if len(up) < 4 or up[2] not in OBSERVATIONS:
        return {"domain": None, "model": None, "dialect": None}
    return {"domain": up[0], "model": up[1], "dialect": up[3]}


def _score(directory: Path, meta: EpisodeMeta | None) -> float | None:
    if meta is not None and meta.outcome is not None and meta.outcome.score is not None:
        return meta.outcome.score
    result = directory / "result.txt"
    return float(result.read_text().strip()) if result.exists() else None


def episode_info(directory: Path, root: Path) -> EpisodeInfo:
    """Read one episode's identity; raises ValueError (one line) on unreadable metadata."""
    meta_path = directory / "episode.json"
    try:
        meta = EpisodeMeta.model_validate_json(meta_path.read_text()) if meta_path.exists() else None
    except ValidationError as err:
        first = err.errors()[0]
        raise ValueError(f"{meta_path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    try:
        score = _score(directory, meta)
    except ValueError:
        raise ValueError(f"{directory / 'result.txt'}: not a number") from None
    here = directory.resolve()
    rollout_dir = ROLLOUT_DIR.match(here.name)
    task_dir = here.parent if rollout_dir else here
    path = _layout(task_dir)
    task_id = meta.task_id if meta else task_dir.name
    domain = (meta.domain if meta else None) or path["domain"]
    group = (meta.group if meta else None) or (f"{domain}/{task_id}" if domain else task_id)
    rollout = meta.rollout if meta and meta.rollout is not None else int(rollout_dir[1]) if rollout_dir else 0
    relative = directory.relative_to(root).as_posix()  # find_episodes gives paths below root
    return EpisodeInfo(
        directory=directory, episode_dir=relative, task_id=task_id, domain=domain, group=group,
        rollout=rollout, model=meta.model if meta else path["model"],
        dialect=(meta.dialect if meta else None) or path["dialect"],
        instruction=meta.instruction if meta else None,
        status=meta.outcome.status if meta and meta.outcome else None, score=score,
    )


def scan(root: str | Path) -> Scan:
    """Every episode below ``root`` (which may itself be one), ordered so that each
    group's rollouts are adjacent: by model, dialect, group, rollout."""
    root = Path(root)
    found = Scan()
    for directory in find_episodes(root):
        if any(SET_ASIDE.search(part) for part in directory.relative_to(root).parts):
            found.set_aside += 1
            continue
        try:
            found.episodes.append(episode_info(directory, root))
        except (OSError, ValueError) as err:
            found.unreadable.append(" ".join(str(err).split()))
    found.episodes.sort(key=lambda e: (*(part or "" for part in e.group_key), e.rollout, e.episode_dir))
    return found
