"""One finished episode, frame by frame: the screen each action acted on with its
marker, the caption, the model's thought, timings and errors; the header holds the
outcome and the evaluator's verdict. The same data as ``kimicua render``
(``episode_shots``), never re-derived."""

from __future__ import annotations

import numpy as np
from PIL import Image
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from kimicua.agent.trajectory import Episode
from kimicua.tools.render.report import thought_of, timings_text
from kimicua.tools.render.shots import Shot, episode_shots
from kimicua.tools.tui.widgets.screenshot import screenshot_view


def header(ep: Episode) -> Text:
    """Task, status, score and verdict; the instruction below."""
    meta = ep.meta
    outcome = meta.outcome if meta else None
    text = Text(meta.task_id if meta else ep.directory.name, style="bold")
    status = outcome.status if outcome else "unfinished"
    score = outcome.score if outcome else ep.result
    text.append(f"  {status}  score {'-' if score is None else f'{score:.2f}'}")
    if meta and meta.model:
        text.append(f"  {meta.model} ({meta.dialect or '?'})", style="dim")
    if outcome and (outcome.verdict or outcome.error):
        text.append(f"\n{'verdict' if outcome.verdict else 'error'}: {outcome.verdict or outcome.error}")
    if meta:
        text.append(f"\n{' '.join(meta.instruction.split())}", style="italic")
    return text


def details(ep: Episode, shot: Shot, index: int, total: int) -> Text:
    """The shot's caption, thought, timings and error."""
    text = Text(f"{index + 1}/{total}  ", style="dim")
    text.append(shot.text, style="bold")
    if shot.error:
        text.append(f"\n{shot.error}", style="red")
    if shot.step is not None:
        thought = thought_of(ep, shot.step)
        if thought:
            text.append(f"\n\n{' '.join(thought.split())}", style="italic")
        if timings := timings_text(shot.step):
            text.append(f"\n\n{timings}", style="dim")
    return text


class EpisodeScreen(Screen):
    """Page through an episode's pictures."""

    BINDINGS = [
        Binding("left,p", "move(-1)", "Previous"),
        Binding("right,n", "move(1)", "Next"),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    EpisodeScreen #head { height: auto; max-height: 4; padding: 0 1; background: $panel; }
    EpisodeScreen #body { height: 1fr; }
    EpisodeScreen #picture { width: 3fr; }
    EpisodeScreen #side { width: 2fr; min-width: 28; border-left: solid $primary-darken-2; padding: 0 1; }
    """

    def __init__(self, ep: Episode, images: str = "halfblock"):
        super().__init__()
        self.ep, self.images = ep, images
        self.shots = episode_shots(ep)
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static(header(self.ep), id="head")
        with Horizontal(id="body"):
            yield screenshot_view(self.images, id="picture")
            with VerticalScroll(id="side"):
                yield Static(id="step")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        shot = self.shots[self.index]
        image = None
        if shot.source is not None:
            try:
                with Image.open(shot.source) as im:
                    image = np.asarray(im.convert("RGB"))
            except (OSError, ValueError):
                image = None
        why = "frame not on disk" if shot.source is None else "frame unreadable"
        self.query_one("#picture").show(image, shot.action, shot.screen, placeholder=why)
        self.query_one("#step", Static).update(details(self.ep, shot, self.index, len(self.shots)))

    def action_move(self, by: int) -> None:
        self.index = min(max(self.index + by, 0), len(self.shots) - 1)
        self.show()

    def action_jump(self, to: int) -> None:
        self.index = to % len(self.shots)
        self.show()

    def action_back(self) -> None:
        self.app.pop_screen()
