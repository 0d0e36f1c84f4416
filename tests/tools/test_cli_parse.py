"""`kimicua parse` through a tiny typer app built around parse_command."""

import json

import pytest
import typer
from typer.testing import CliRunner

from kimicua.tools.cli.parse import parse_command

app = typer.Typer()
app.command("parse")(parse_command)
app.command("noop")(lambda: None)  # two commands, so "parse" is a sub-command as in kimicua


def run(args: list[str], stdin: str):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always keeps stderr apart
        runner = CliRunner()
    return runner.invoke(app, ["parse", *args], input=stdin)


def test_kimi_answer_to_json():
    result = run(["--dialect", "kimi", "--screen", "1920x1080"],
                 "## Code\n```python\npyautogui.click(x=0.5, y=0.5)\npyautogui.write('é')\n```")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"type": "click", "x": 960.0, "y": 540.0, "button": "left", "count": 1},
        {"type": "type", "text": "é"},
    ]


def test_image_size_option():
    call = '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [644, 364]}}'
    text = f"<tool_call>{call}</tool_call>"
    result = run(["--dialect", "qwen25vl", "--screen", "1920x1080", "--image", "1288x728"], text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["x"] == 960.0


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--dialect", "kimi", "--screen", "1920x1080"], "import os", "not an import"),
        (["--dialect", "kimi", "--screen", "1920x1080"], "", "empty answer"),
        (["--dialect", "gpt", "--screen", "1920x1080"], "x", "unknown dialect 'gpt'"),
        (["--dialect", "kimi", "--screen", "big"], "x", "expected a size"),
    ],
)
def test_errors_are_json_on_stderr_with_exit_2(args, stdin, message):
    result = run(args, stdin)
    assert result.exit_code == 2
    assert result.stdout == ""
    err = json.loads(result.stderr)
    assert message in err["error"] and err["dialect"] == args[1]
