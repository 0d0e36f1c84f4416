"""Editing a proposed action as text: shown in the model's dialect, read back in the
dialect or as action JSON with ``run --approve``'s own reader (never evaluated)."""

from __future__ import annotations

from kimicua.agent.dialects import Dialect, get_dialect
from kimicua.agent.dialects.base import fenced_blocks
from kimicua.agent.parser import ParseError, parse
from kimicua.env.actions import Action, dumps
from kimicua.env.observation import Observation
from kimicua.tools.cli.approve import read_action


def as_text(action: Action, dialect: str | Dialect, obs: Observation) -> str:
    """The action as the dialect writes it (its code, on one line), when that reads
    back as the same action; else its JSON."""
    dialect = get_dialect(dialect) if isinstance(dialect, str) else dialect
    try:
        text = dialect.format_history_step(None, [action], dialect.frame_for(obs.frame))
        blocks = fenced_blocks(text)
        code = blocks[-1][1] if blocks else text.split("Action:", 1)[-1]
        code = " ".join(code.split())  # one line: it is edited in a one-line field
        if code and parse(code, dialect, obs.frame) == [action]:
            return code
    except (ParseError, ValueError, TypeError):
        pass  # a dialect that cannot write this action here: JSON always can
    return dumps(action)


def read_edit(text: str, dialect: str | Dialect, obs: Observation) -> Action | str:
    """The edited action, or one line saying why the text is not one action."""
    return read_action(text, get_dialect(dialect) if isinstance(dialect, str) else dialect, obs)
