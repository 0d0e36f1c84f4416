"""The turn list: per model turn its thought, its actions with how each went, the
model's time and any error; the newest turn stays in view."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from kimicua.agent.dialects import get_dialect
from kimicua.agent.events import ActionExecuted, ModelAnswered
from kimicua.tools.render.captions import describe

MAX_THOUGHT = 300  # characters of the thought shown per turn


def thought_of(dialect: str, text: str) -> str | None:
    """The answer's reasoning in ``dialect``; None where the dialect finds none beyond
    the whole answer (a scripted action's JSON) or its reader fails on the text."""
    try:
        thought = get_dialect(dialect).thought(text)
    except Exception:  # model text is data: a reader that chokes on it costs the thought only
        return None
    if not thought or " ".join(thought.split()) == " ".join(text.split()):
        return None
    return thought


class TurnCard(Static):
    """One turn, rebuilt as its answer and actions come in."""

    DEFAULT_CSS = "TurnCard { margin-bottom: 1; }"

    def __init__(self, turn: int, **kwargs):
        self.turn = turn
        self.model_s: float | None = None
        self.thought: str | None = None
        self.error: str | None = None
        self.lines: list[tuple[str, str, str | None]] = []  # (mark, action text, error)
        super().__init__(self.text(), **kwargs)

    def text(self) -> Text:
        head = Text(f"turn {self.turn}", style="bold")
        head.append("  thinking…" if self.model_s is None else f"  model {self.model_s:.2f} s", style="dim")
        out = [head]
        if self.thought:
            cut = self.thought if len(self.thought) <= MAX_THOUGHT else self.thought[:MAX_THOUGHT] + "…"
            out.append(Text(cut, style="italic"))
        if self.error:
            out.append(Text(f"✗ no action: {self.error}", style="red"))
        for mark, what, error in self.lines:
            line = Text(f"{mark} ", style={"✓": "green", "✗": "red", "–": "yellow"}[mark])
            line.append(what)
            if error:
                line.append(f"  {error}", style="red")
            out.append(line)
        return Text("\n").join(out)


class TurnList(VerticalScroll):
    """Every turn of the running episode."""

    DEFAULT_CSS = "TurnList { height: 1fr; padding: 0 1; }"

    def __init__(self, dialect: str, **kwargs):
        super().__init__(**kwargs)
        self.dialect = dialect
        self.card: TurnCard | None = None

    def clear(self) -> None:
        self.remove_children()
        self.card = None

    def begin(self, turn: int) -> None:
        self.card = TurnCard(turn)
        self.mount(self.card)
        self.scroll_end(animate=False)

    def answered(self, event: ModelAnswered) -> None:
        if self.card is None:
            self.begin(event.turn)
        card = self.card
        card.model_s, card.error = event.model_s, event.error
        card.thought = thought_of(self.dialect, event.text)
        card.update(card.text())

    def executed(self, event: ActionExecuted) -> None:
        if self.card is None:
            return
        if event.result is None:
            self.card.lines.append(("–", describe(event.action), "skipped"))
        else:
            self.card.lines.append(("✓" if event.result.ok else "✗", describe(event.action), event.result.error))
        self.card.update(self.card.text())
        self.scroll_end(animate=False)
