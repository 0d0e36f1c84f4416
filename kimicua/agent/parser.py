"""Model text -> typed actions, or a ParseError that says what was wrong and where.

Parsing is pure: the text is read as data (``ast.parse`` plus a whitelist, JSON, or
regular expressions) and is never executed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kimicua.env.actions import Action, ActionError
from kimicua.env.geometry import Frame, OutsideScreen
from kimicua.env.keys import UnknownKey

if TYPE_CHECKING:
    from kimicua.agent.dialects.base import Dialect

MAX_TEXT = 100_000  # longer answers are runaway generations; refuse before ast sees them
MAX_ACTIONS = 100  # one answer is one step; more than this is a loop gone wrong


class ParseError(ValueError):
    """A model answer that does not parse into actions.

    ``reason`` is a one-line message, ``snippet`` the offending text (one line,
    shortened), ``line``/``col`` its 1-based position within the code or action text
    that was read (a fenced block, the part after ``Action:``) when known. Only the
    error ``parse`` makes of an unexpected exception has a ``__cause__``: that exception.
    """

    def __init__(
        self,
        reason: str,
        *,
        snippet: str | None = None,
        line: int | None = None,
        col: int | None = None,
        dialect: str | None = None,
    ):
        self.reason = _utf8(" ".join(reason.split()))
        self.snippet = _one_line(snippet) if snippet else None
        self.line, self.col, self.dialect = line, col, dialect
        super().__init__(str(self))

    def with_dialect(self, dialect: str) -> ParseError:
        self.dialect = dialect
        self.args = (str(self),)
        return self

    def __str__(self) -> str:
        where = ""
        if self.line is not None:
            where = f"line {self.line}" + (f" col {self.col}" if self.col is not None else "") + ": "
        head = f"{self.dialect}: " if self.dialect else ""
        tail = f": {self.snippet}" if self.snippet else ""
        return f"{head}{where}{self.reason}{tail}"


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return _utf8(text if len(text) <= limit else text[: limit - 3] + "...")


def _utf8(text: str) -> str:
    """``text`` with lone surrogates (from a JSON "\\ud800") escaped, so the message
    can be written as UTF-8 (to a trajectory, a log, the terminal)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def parse(text: str, dialect: str | Dialect, frame: Frame) -> list[Action]:
    """Parse one model answer in ``dialect`` (a name or a Dialect) into actions in
    screen logical pixels; raise ParseError otherwise."""
    # Imported here because every dialect imports ParseError from this module.
    from kimicua.agent.dialects import get_dialect

    d = get_dialect(dialect) if isinstance(dialect, str) else dialect
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}", dialect=d.name)
    if not text.strip():
        raise ParseError("empty answer", dialect=d.name)
    if len(text) > MAX_TEXT:
        raise ParseError(f"answer is {len(text)} characters, more than {MAX_TEXT}", dialect=d.name)
    try:
        actions = d.parse(text, d.frame_for(frame))
    except ParseError as err:
        raise err.with_dialect(d.name) from None
    # A dialect converts these itself; this keeps a missed case an error value too.
    except (ActionError, UnknownKey, OutsideScreen) as err:
        raise ParseError(str(err), dialect=d.name) from None
    except Exception as err:  # noqa: BLE001 - the last line of defence: a bad answer is a value
        # A bug in the dialect, not in the answer. The cause is kept (a ParseError has
        # none otherwise) so that logs show the traceback and the fuzz tests find it.
        raise ParseError(f"unexpected {type(err).__name__} while parsing: {_one_line(str(err))}",
                         dialect=d.name) from err
    if not actions:
        raise ParseError("no action found", dialect=d.name)
    if len(actions) > MAX_ACTIONS:
        raise ParseError(f"{len(actions)} actions in one answer, more than {MAX_ACTIONS}", dialect=d.name)
    return actions
