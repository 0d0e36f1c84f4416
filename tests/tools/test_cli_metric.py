"""`kimicua tasks metric NAME RESULT [EXPECTED] [--options JSON]`: paths or JSON literals
in, the score (and a failing metric's reason) out with exit 0; usage errors exit 2."""

import json

import openpyxl
import pytest
from pptx import Presentation
from pptx.util import Inches
from typer.testing import CliRunner

from kimicua.tools.cli.tasks import app


def run(*args: str):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always keeps stderr apart
        runner = CliRunner()
    return runner.invoke(app, ["metric", *args])


def test_json_literals():
    result = run("exact_match", '"yes"', '{"expected": "yes"}')
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert run("exact_match", '"no"', '{"expected": "yes"}').stdout.strip() == "0"
    rules = json.dumps({"include": ["43 132"], "exclude": ["error"]})
    assert run("check_include_exclude", '"rows 43 132"', rules).stdout.strip() == "1"
    assert run("is_in_list", '["a", "b"]', '{"expected": "b"}').stdout.strip() == "1"


@pytest.fixture
def workbooks(tmp_path):
    paths = []
    for name, score in (("result.xlsx", 1.0), ("gold.xlsx", 1.0), ("other.xlsx", 2.0)):
        wb = openpyxl.Workbook()
        wb.active.append(["Name", "Score"])
        wb.active.append(["ann", score])
        wb.save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return paths


def test_files_and_options(workbooks):
    result, gold, other = workbooks
    options = json.dumps({"rules": [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]})
    assert run("compare_table", result, gold, "--options", options).stdout.strip() == "1"
    assert run("compare_table", other, gold, "--options", options).stdout.strip() == "0"


def test_a_metric_without_expected(tmp_path):
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(7.5), Inches(10)
    prs.save(tmp_path / "tall.pptx")
    result = run("check_slide_orientation_Portrait", str(tmp_path / "tall.pptx"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_a_failing_metric_prints_zero_and_why(workbooks):
    result = run("compare_table", workbooks[0], workbooks[1], "--options", '{"rules": [{"type": "sheet_colour"}]}')
    assert result.exit_code == 0
    assert result.stdout.strip() == "0 (ValueError: unknown compare_table rule type 'sheet_colour')"
    missing_option = run("compare_table", workbooks[0], workbooks[1])
    assert missing_option.exit_code == 0 and missing_option.stdout.startswith("0 (KeyError")


@pytest.mark.parametrize("args, message", [
    (["exact_mach", '"a"'], "unknown metric 'exact_mach' (did you mean exact_match?)"),
    (["exact_match", '"a"', "{}", "--options", "{rules"], "--options is not JSON"),
    (["exact_match", '"a"', "{}", "--options", "[1]"], "--options must be a JSON object"),
    (["exact_match", "not-a-file-nor-json", "{}"], "RESULT 'not-a-file-nor-json' is neither"),
    (["exact_match", '"a"', "{oops"], "EXPECTED '{oops' is neither"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert result.stdout == ""
