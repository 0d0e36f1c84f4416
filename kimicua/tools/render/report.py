"""report.html of one episode: the header (task, model, outcome), then every line.

Each line shows the screen its action acted on with the marker drawn, the model's
thought, the action, timings and errors; the raw answer is folded away. Pictures
are files next to the page, linked relatively: the folder opens offline as it is,
and the page stays small however long the episode (data URIs would put every
frame, a third larger, into one file the browser must parse before it shows
anything).
"""

from __future__ import annotations

from pathlib import Path

from kimicua.agent.trajectory import Episode, StepRecord
from kimicua.tools.render.page import Markup, document, esc, facts, href, status_class
from kimicua.tools.render.shots import Shot, action_text


def thought_of(ep: Episode, step: StepRecord) -> str | None:
    """The visible reasoning of the line's answer in the episode's dialect; None for
    an unknown dialect or one whose reader fails on this text (the raw answer is shown)."""
    from kimicua.agent.dialects import get_dialect

    if not step.response:
        return None
    try:
        return get_dialect((ep.meta and ep.meta.dialect) or "kimi").thought(step.response)
    except Exception:  # model text is data: a reader that chokes on it costs the thought only
        return None


def _seconds(v: object) -> str:
    if not isinstance(v, (int, float)):
        return str(v)
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def timings_text(step: StepRecord) -> str | None:
    """``model 1.20 s · parse 3 ms · ...`` for the stages that ran."""
    parts = [f"{k.removesuffix('_s')} {_seconds(v)}" for k, v in step.timings.model_dump().items() if v is not None]
    return " · ".join(parts) or None


def _header(ep: Episode, media: dict[str, Path], page_dir: Path) -> str:
    meta, outcome = ep.meta, ep.meta.outcome if ep.meta else None
    status = outcome.status if outcome else "unfinished"
    score = outcome.score if outcome else ep.result
    title = (meta.task_id if meta else ep.directory.name)
    items: list[tuple[str, object]] = [
        ("status", Markup(f'<span class="status {status_class(status)}">{esc(status)}</span>')),
        ("score", "-" if score is None else f"{score:.2f}"),
        ("verdict", outcome.verdict if outcome else None),
        ("error", outcome.error if outcome else None),
        ("steps", f"{outcome.steps} actions, {outcome.turns} model turns" if outcome else f"{len(ep.steps)} lines"),
    ]
    if meta:
        items += [("domain", meta.domain), ("model", meta.model), ("dialect", meta.dialect), ("env", meta.env),
                  ("screen", f"{meta.screen[0]}x{meta.screen[1]}" if meta.screen else None), ("seed", meta.seed),
                  ("rollout", None if meta.rollout is None else f"{meta.rollout} of {meta.group}"),
                  ("started", meta.started_at), ("finished", meta.finished_at)]
    items.append(("directory", str(ep.directory)))
    notices = ["traj.jsonl ends in a cut-off line: the episode was interrupted mid-write"] if ep.truncated else []
    notices += [f"recorded error: {e}" for e in ep.errors]
    if meta is None:
        notices.append("no episode.json: task, model and outcome unknown")
    links = " ".join(f'<a href="{href(path, page_dir)}">{esc(label)}</a>' for label, path in media.items())
    instruction = f'<p class="instruction">{esc(meta.instruction)}</p>' if meta else ""
    return (f"<header><h1>{esc(title)}</h1>{instruction}{facts(items)}"
            + "".join(f'<p class="notice">{esc(n)}</p>' for n in notices)
            + (f'<p class="links">{links}</p>' if links else "") + "</header>")


def _picture(shot: Shot, image: Path | None, page_dir: Path) -> str:
    if image is None:
        why = "frame not on disk" if shot.source is None else "frame unreadable"
        return f'<div class="missing">{esc(why)}</div>'
    link = href(image, page_dir)
    return (f'<a href="{link}"><img src="{link}" loading="lazy" '
            f'alt="{esc(shot.text)}"></a>')


def _step(ep: Episode, shot: Shot, image: Path | None, page_dir: Path, first_of_turn: dict[int, str]) -> str:
    step = shot.step
    assert step is not None
    parts = [f'<h2 id="{esc(shot.name)}">{esc(shot.text.split(":", 1)[0])}'
             f'<span class="muted"> · turn {esc(step.turn if step.turn is not None else "-")}</span></h2>',
             f'<p class="action">{esc(action_text(step))}</p>']
    if step.error:
        parts.append(f'<p class="error">error: {esc(step.error)}</p>')
    first = first_of_turn.get(step.turn) if step.turn is not None else None
    if first is not None and first != shot.name:
        parts.append(f'<p class="muted">same answer as <a href="#{esc(first)}">{esc(first)}</a></p>')
    else:
        thought = thought_of(ep, step)
        parts.append(f'<p class="thought">{esc(thought)}</p>' if thought
                     else '<p class="muted">no thought</p>')
        if step.response:
            parts.append(f"<details><summary>model answer</summary><pre>{esc(step.response)}</pre></details>")
    extra = [("timings", timings_text(step)),
             ("reward", step.reward if step.reward or step.done else None),
             ("done", "yes" if step.done else None), ("url", step.info.get("url"))]
    parts.append(facts(extra))
    return (f'<section class="step">{_picture(shot, image, page_dir)}'
            f'<div>{"".join(parts)}</div></section>')


def episode_report(ep: Episode, shots: list[Shot], images: dict[str, Path], media: dict[str, Path],
                   page_dir: Path) -> str:
    """The page for ``ep``; ``images`` maps a shot's name to its picture file and
    ``media`` a label to a file (the video, the GIF), both linked from ``page_dir``."""
    first_of_turn: dict[int, str] = {}  # turn -> the shot of its first line, which shows the answer
    for s in shots:
        if s.step is not None and s.step.turn is not None:
            first_of_turn.setdefault(s.step.turn, s.name)
    body = [_header(ep, media, page_dir)]
    body += [_step(ep, s, images.get(s.name), page_dir, first_of_turn) for s in shots if s.step is not None]
    end = shots[-1]
    body.append(f'<section class="step">{_picture(end, images.get(end.name), page_dir)}'
                f'<div><h2 id="end">{esc(end.text)}</h2>'
                + (f'<p class="error">{esc(end.error)}</p>' if end.error else "") + "</div></section>")
    title = ep.meta.task_id if ep.meta else ep.directory.name
    return document(f"{title}: episode report", "\n".join(body))
