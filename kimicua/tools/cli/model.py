"""`kimicua model ...`: inspect, write a tiny checkpoint, generate."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Kimi-VL model tools.")
