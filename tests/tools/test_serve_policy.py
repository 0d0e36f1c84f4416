"""Our own client against our own server: ServerPolicy (act and act_batch) answers as LocalPolicy
does on the same checkpoint, and the runner plays a built-in task with --model http://..."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")

from serve_helpers import NAME, load_tiny, shot, start  # noqa: E402

from kimicua.agent.backends import BackendError, LocalPolicy, ServerPolicy  # noqa: E402
from kimicua.agent.policy import Prompt  # noqa: E402

MAX_NEW = 10


@pytest.fixture(scope="module")
def ckpt_and_tiny(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny")
    return directory, load_tiny(directory)


@pytest.fixture(scope="module")
def server(ckpt_and_tiny):
    with start(*ckpt_and_tiny[1], max_model_len=4096) as running:
        yield running


def prompt(text: str, *images: np.ndarray) -> Prompt:
    items = [{"type": "image"} for _ in images] + [{"type": "text", "text": text}]
    return Prompt([{"role": "system", "content": "You operate a computer."}, {"role": "user", "content": items}],
                  list(images))


PROMPTS = [prompt("Click OK.", shot(96, 64, 1)), prompt("Type hello.", shot(64, 64, 2), shot(120, 80, 3)),
           prompt("What now?")]


def assert_same(served, local) -> None:
    assert served.text == local.text and served.token_ids == local.token_ids
    assert np.allclose(served.logprobs, local.logprobs, atol=1e-4, rtol=0)


@pytest.mark.parametrize("temperature", [0.0, 1.3])
def test_server_policy_answers_as_local_policy(ckpt_and_tiny, server, temperature):
    ckpt, _ = ckpt_and_tiny
    local = LocalPolicy(ckpt, dtype="fp32", max_new_tokens=MAX_NEW, temperature=temperature, seed=40)
    remote = ServerPolicy(server.url, max_tokens=MAX_NEW, temperature=temperature)
    remote.check()
    assert remote.resolve_model() == NAME
    remote.reset(40)  # request i asks for seed 40 + i, as local call i samples with it
    for p in PROMPTS:
        assert_same(remote.act(p), local.act(p))
    local.reset(41), remote.reset(41)
    batch_local, batch_remote = local.act_batch(PROMPTS), remote.act_batch(PROMPTS)  # all in flight at once
    for served, expected in zip(batch_remote, batch_local):
        assert_same(served, expected)
        assert served.model == NAME and served.timings["request_s"] > 0


def test_server_policy_reports_the_servers_error_in_one_line(server):
    remote = ServerPolicy(server.url, model="not-served", max_retries=0)
    with pytest.raises(BackendError, match=r"HTTP 404 .*`not-served` does not exist"):
        remote.act(PROMPTS[2])


@pytest.mark.display
@pytest.mark.browser
def test_the_runner_plays_a_task_against_the_server(server, tmp_path):
    from kimicua.agent.trajectory import read_episode
    from kimicua.env.geometry import Size
    from kimicua.tasks.suites import load_builtin
    from kimicua.tools.runner import Runner, RunOptions

    by_id = {task.id: (domain, task) for domain, task in load_builtin("all").tasks}
    # one screenshot per prompt: the tiny tokenizer's few merges make the system prompt long already
    opts = RunOptions(model=server.url, results=tmp_path, screen=Size(1280, 800), max_steps=2, max_images=1,
                      policy_options={"max_tokens": 24})
    with Runner(opts) as runner:
        (row,) = runner.run([by_id["browser-signup-basic"]])
    # random weights: the answers are noise, but every turn is a recorded step with its tokens
    assert row.status in {"parse_failures", "truncated", "done", "fail"}, row.error
    episode = read_episode(row.directory)
    assert episode.meta.outcome is not None and episode.meta.outcome.status == row.status
    first_lines = [s for s in episode.steps if s.action_index == 0]
    assert first_lines
    for step in first_lines:
        assert step.token_ids and len(step.token_ids) == len(step.logprobs) <= 24
        assert all(lp <= 0 for lp in step.logprobs)
