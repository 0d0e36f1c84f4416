"""`kimicua parse`: model text on stdin -> actions as JSON on stdout.

Errors (an unparseable answer, an unknown dialect, a bad size) go to stderr as
``{"error": ..., "dialect": ...}`` with exit code 2, so scripts can tell them apart.
"""

from __future__ import annotations

import json
import sys

import typer

from kimicua.agent.dialects import DIALECTS, get_dialect
from kimicua.agent.parser import ParseError, parse
from kimicua.env.actions import action_to_json
from kimicua.env.geometry import Frame, Size


def parse_command(
    dialect: str = typer.Option(..., "--dialect", "-d", help=", ".join(DIALECTS)),
    screen: str = typer.Option(..., "--screen", help="Screen size the actions are for, WxH."),
    image: str | None = typer.Option(
        None, "--image", help="Size the model saw the screenshot at, WxH (image-space dialects)."
    ),
) -> None:
    """Parse a model answer read from stdin; print the actions in screen pixels as JSON."""
    try:
        d = get_dialect(dialect)
        frame = Frame(screen=Size.parse(screen), image=Size.parse(image) if image else None)
        actions = parse(sys.stdin.read(), d, frame)
    except (ParseError, ValueError) as err:
        sys.stderr.write(json.dumps({"error": str(err), "dialect": dialect}, ensure_ascii=False) + "\n")
        raise typer.Exit(code=2) from None
    sys.stdout.write(json.dumps([action_to_json(a) for a in actions], ensure_ascii=False) + "\n")
