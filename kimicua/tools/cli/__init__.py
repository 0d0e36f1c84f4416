"""The `kimicua` command: a thin dispatch onto plain functions.

Each sub-command lives in its own module and imports heavy dependencies (torch,
playwright) inside the command body, so `kimicua --help` stays fast and the core
never needs torch.
"""

from __future__ import annotations

import typer

from kimicua.tools.cli import export as _export
from kimicua.tools.cli import model as _model
from kimicua.tools.cli import parse as _parse
from kimicua.tools.cli import record as _record
from kimicua.tools.cli import render as _render
from kimicua.tools.cli import run as _run
from kimicua.tools.cli import screenspot as _screenspot
from kimicua.tools.cli import serve as _serve
from kimicua.tools.cli import tasks as _tasks
from kimicua.tools.cli import tui as _tui

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0])
app.add_typer(_model.app, name="model")
app.add_typer(_tasks.app, name="tasks")
app.add_typer(_screenspot.app, name="screenspot")
app.command("parse")(_parse.parse_command)
app.command("run")(_run.run_command)
app.command("demo")(_run.demo_command)
app.command("render")(_render.render_command)
app.command("export")(_export.export_command)
app.command("tui")(_tui.tui_command)
app.command("serve")(_serve.serve_command)
app.command("record")(_record.record_command)
app.command("replay")(_record.replay_command)


def main() -> None:
    """Run the CLI; a usage error (unknown option, bad value) is one line and exit 2."""
    import sys

    try:  # typer >= 0.20 carries its own copy of click
        from typer._click.exceptions import NoArgsIsHelpError, UsageError
    except ImportError:
        from click.exceptions import NoArgsIsHelpError, UsageError

    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as err:
        print(err.ctx.get_help() if err.ctx else str(err))
        code = 0
    except UsageError as err:
        where = f" (see '{err.ctx.command_path} --help')" if err.ctx else ""
        print(f"error: {' '.join(err.format_message().split())}{where}", file=sys.stderr)
        code = 2
    except (KeyboardInterrupt, typer.Abort):
        print("aborted", file=sys.stderr)
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
