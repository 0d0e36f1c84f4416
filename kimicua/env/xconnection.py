"""A python-xlib connection of this process's own to a display (the damage watch and the
focus reader each hold one), opened with the display's XAUTHORITY."""

from __future__ import annotations

from typing import Any

from kimicua.env.core import EnvError
from kimicua.env.display import Display


def open_connection(display: Display, failure: str) -> Any:
    """An Xlib Display connected to ``display``; EnvError "<failure>: <why>" when none opens."""
    from Xlib.display import Display as XDisplay

    try:
        with display.environ():  # python-xlib reads XAUTHORITY when it connects
            return XDisplay(display.name)
    except Exception as err:
        raise EnvError(f"{failure}: {err}") from None


def close_quietly(conn: Any) -> None:
    """Close ``conn``; the server may already be gone, which is no error here."""
    try:
        conn.close()
    except Exception:
        pass  # the server may already be gone
