"""Render an episode (report, MP4, GIF) or every episode of a run (plus an index).

Frames are read, marked and written one at a time; whatever an interrupted episode
left on disk is rendered and the rest is said to be missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from kimicua.agent.trajectory import Episode, TrajectoryError, find_episodes, read_episode
from kimicua.tools.render.captions import with_caption
from kimicua.tools.render.index import IndexRow, index_page
from kimicua.tools.render.markers import draw_action, frame_for
from kimicua.tools.render.page import write_page
from kimicua.tools.render.report import episode_report
from kimicua.tools.render.shots import episode_shots
from kimicua.tools.render.video import GifWriter, Mp4Writer, VideoError, mp4_available

REPORT, MP4, GIF, FRAMES = "report.html", "episode.mp4", "episode.gif", "frames"
JPEG_QUALITY = 90
MAX_HOLD_S = 60.0
_OUR_FRAME = re.compile(r"(step_\d+|end)\.jpg")


def default_out(directory: Path) -> Path:
    """Where an episode's pictures go unless told: ``<episode>/render``."""
    return directory / "render"


def _check(hold_s: float, gif_width: int) -> None:
    if not 0 < hold_s <= MAX_HOLD_S:  # NaN fails too
        raise ValueError(f"hold must be more than 0 and at most {MAX_HOLD_S:g} seconds, got {hold_s}")
    if gif_width < 16:
        raise ValueError(f"GIF width must be at least 16 pixels, got {gif_width}")


def _load(path: Path) -> Image.Image | None:
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError):  # a damaged frame: shown as unreadable, the rest still renders
        return None


def _render(ep: Episode, out: Path, hold_s: float, gif_width: int) -> list[Path]:
    frames_dir = out / FRAMES
    frames_dir.mkdir(parents=True, exist_ok=True)
    mp4 = Mp4Writer(out / MP4, hold_s) if mp4_available() else None
    gif = GifWriter(out / GIF, hold_s, gif_width)
    shots = episode_shots(ep)
    images: dict[str, Path] = {}
    for shot in shots:
        image = None if shot.source is None else _load(shot.source)
        if image is None:
            continue
        draw_action(image, shot.action, frame_for(image, shot.screen))
        images[shot.name] = path = frames_dir / f"{shot.name}.jpg"
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
        picture = with_caption(image, shot.text, shot.error)
        if mp4 is not None:
            mp4.add(picture)
        gif.add(picture)
    for old in frames_dir.iterdir():  # an earlier render's pictures this one no longer has
        if _OUR_FRAME.fullmatch(old.name) and old not in images.values():
            old.unlink()
    media = {name: path for name, path in (("video (MP4)", mp4 and mp4.close()), ("animation (GIF)", gif.close()))
             if path is not None}
    report = write_page(out / REPORT, episode_report(ep, shots, images, media, out))
    return [report, *media.values()]


def render_episode(directory: str | Path, out: str | Path | None = None, *, hold_s: float = 1.0,
                   gif_width: int = 640) -> list[Path]:
    """Render one episode into ``out`` (default ``<episode>/render``): report.html,
    episode.mp4 (when OpenCV is installed) and episode.gif, each picture held
    ``hold_s`` seconds; returns the files written, the report first.

    TrajectoryError for an unreadable episode; a missing or damaged frame only
    leaves its step without a picture."""
    _check(hold_s, gif_width)
    directory = Path(directory)
    return _render(read_episode(directory), Path(out) if out else default_out(directory), hold_s, gif_width)


@dataclass(frozen=True)
class RunPictures:
    index: Path
    reports: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line per episode that could not be rendered


def _row(name: str, ep: Episode, report: Path) -> IndexRow:
    outcome = ep.meta.outcome if ep.meta else None
    if outcome is None:
        return IndexRow(name, "unfinished", ep.result, len(ep.steps), report)
    return IndexRow(name, outcome.status, outcome.score, outcome.steps, report, outcome.error)


def render_run(directory: str | Path, out: str | Path | None = None, *, hold_s: float = 1.0,
               gif_width: int = 640, rerender: bool = True) -> RunPictures:
    """Render every episode below ``directory`` and write ``index.html`` linking them.

    With ``out``, an episode's pictures go to ``out/<its path below directory>`` and
    the index to ``out``; without, each goes to ``<episode>/render`` and the index to
    ``directory``. An episode that cannot be rendered is listed with why, and the
    others go on. ``rerender=False`` keeps an episode's existing report (``run --render``
    rendered each as it finished). ValueError when there is no episode at all."""
    _check(hold_s, gif_width)
    directory = Path(directory)
    found = list(find_episodes(directory))
    if not found:
        raise ValueError(f"{directory}: no episode (no traj.jsonl below it)")
    root = Path(out) if out else directory
    rows, reports, errors = [], [], []
    for ep_dir in found:
        name = ep_dir.relative_to(directory).as_posix()
        try:
            ep = read_episode(ep_dir)
            ep_out = root / name if out else default_out(ep_dir)
            report = ep_out / "report.html"
            if rerender or not report.is_file():
                report = _render(ep, ep_out, hold_s, gif_width)[0]
        except (TrajectoryError, VideoError, OSError, ValueError) as err:
            why = " ".join(str(err).split())
            errors.append(f"{ep_dir}: {why}" if str(ep_dir) not in why else why)
            rows.append(IndexRow(name, "unreadable", None, None, None, why))
            continue
        reports.append(report)
        rows.append(_row(name, ep, report))
    root.mkdir(parents=True, exist_ok=True)
    index = write_page(root / "index.html", index_page(directory.resolve().name, rows, root))
    return RunPictures(index, reports, errors)
