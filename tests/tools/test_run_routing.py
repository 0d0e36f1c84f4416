"""`kimicua run --record-routing`: a Thinking-2506-style tiny checkpoint plays a built-in browser
task and every turn's routing record lands beside the frames; a model that is not local is a
one-line error."""

import numpy as np
import pytest
from typer.testing import CliRunner

from kimicua.agent.trajectory import read_episode
from kimicua.env.geometry import Size
from kimicua.tasks.suites import load_builtin
from kimicua.tools.runner import Runner, RunOptions


def test_record_routing_needs_a_local_checkpoint():
    import typer

    from kimicua.tools.cli.run import run_command

    app = typer.Typer()
    app.command()(run_command)
    for model in ("http://localhost:1/v1", "scripted"):
        result = CliRunner().invoke(app, ["--model", model, "--record-routing", "small"])
        assert result.exit_code == 2
        assert "only the on-device engine can record expert routing" in " ".join(result.output.split())


@pytest.mark.browser
def test_tiny_2506_records_routing_in_a_browser_episode(tmp_path):
    pytest.importorskip("torch")
    from kimicua.model.tiny import write_tiny_checkpoint

    ckpt = write_tiny_checkpoint(tmp_path / "Kimi-VL-tiny-Thinking-2506", style="thinking-2506")
    by_id = {task.id: (domain, task) for domain, task in load_builtin("all").tasks}
    opts = RunOptions(model=str(ckpt), results=tmp_path / "results", screen=Size(1280, 800), max_steps=2,
                      policy_options={"max_new_tokens": 12, "record_routing": True, "temperature": 0.0})
    with Runner(opts) as runner:
        (row,) = runner.run([by_id["browser-signup-basic"]])
    assert row.status in {"parse_failures", "truncated", "done", "fail"}, row  # random weights: noise
    ep = read_episode(row.directory)
    firsts = [s for s in ep.steps if s.action_index == 0]
    assert firsts
    for s in firsts:
        routing = ep.routing(s)
        assert s.routing_file and routing is not None and routing.dtype == np.uint8
        assert routing.shape[0] == len(s.token_ids) and routing.ndim == 3
