"""The approval bar: the proposed action (as the dialect writes it), the model's
thought, and a field to edit it; the screen's bindings accept, skip, edit or stop."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static


class ApproveBar(Vertical):
    """Hidden until an action waits for the person."""

    DEFAULT_CSS = """
    ApproveBar { height: auto; max-height: 8; border-top: solid $accent; padding: 0 1; display: none; }
    ApproveBar.asking { display: block; }
    ApproveBar #edit { display: none; }
    ApproveBar.editing #edit { display: block; }
    ApproveBar #edit-error { color: $error; height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="proposal")
        yield Input(id="edit", compact=True, placeholder="the action, in the dialect or as JSON; Enter runs it")
        yield Static(id="edit-error")

    def ask(self, dialect: str, action_text: str, thought: str | None) -> None:
        text = Text(f"proposed ({dialect}): ", style="bold magenta")
        text.append(action_text, style="bold")
        if thought:
            text.append("\n")
            text.append(" ".join(thought.split())[:200], style="italic")
        self.query_one("#proposal", Static).update(text)
        self.query_one("#edit-error", Static).update("")
        self.remove_class("editing")
        self.add_class("asking")

    def edit(self, initial: str) -> None:
        field = self.query_one("#edit", Input)
        field.value = initial
        self.add_class("editing")
        field.focus()

    def refuse(self, why: str) -> None:
        self.query_one("#edit-error", Static).update(why)

    def close(self) -> None:
        self.remove_class("asking", "editing")
