"""A Thinking-2506-style tiny checkpoint played in episodes: routing records on disk and read
back, think-block answers parsed or recorded as failures, nothing extra when recording is off.

The world is a small fake (a 96x64 screen whose pixel [0, 0, 0] counts the actions); the model
is the tiny checkpoint, for real (random answers, routing recorded) or with its generation
replaced by scripted token ids (think-block answers, a test fixture)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from kimicua.agent.backends import LocalPolicy  # noqa: E402
from kimicua.agent.episode import run_episode  # noqa: E402
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter, read_episode  # noqa: E402
from kimicua.env.actions import Click  # noqa: E402

from episode_fakes import ClickTask, Screens  # noqa: E402


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from kimicua.model.tiny import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny_2506"), seed=0, style="thinking-2506")


def play(tmp_path, policy, max_steps=3):
    meta = EpisodeMeta(task_id=ClickTask.id, instruction=ClickTask.instruction, model=policy.name, seed=0)
    with TrajectoryWriter(tmp_path / "ep", meta) as writer:
        result = run_episode(Screens(), ClickTask(), policy, writer, max_steps)
    return result, read_episode(tmp_path / "ep")


def firsts(ep):
    return [s for s in ep.steps if s.action_index == 0]


def test_2506_checkpoint_plays_and_records_routing_per_turn(ckpt, tmp_path):
    policy = LocalPolicy(ckpt, max_new_tokens=8, temperature=0.0, record_routing=True)
    assert policy.defaults.thinking
    result, ep = play(tmp_path, policy)
    assert result.turns >= 1 and ep.meta.outcome is not None
    cfg = policy.model.config.text
    n_moe = sum(cfg.is_moe_layer(i) for i in range(cfg.num_layers))
    for line in firsts(ep):
        assert line.routing_file == f"routing_turn_{line.turn}.npy"
        assert (tmp_path / "ep" / line.routing_file).is_file()
        routing = ep.routing(line)
        assert routing.dtype == np.uint8
        assert routing.shape == (len(line.token_ids), n_moe, cfg.num_experts_per_tok)
        assert line.response and (line.error or line.parsed_action)  # random text: parsed or a recorded failure
    later = [s for s in ep.steps if s.action_index > 0]
    for line in later:  # later lines of a turn name no file but read the turn's record
        assert line.routing_file is None and ep.routing(line) is not None
    assert sorted(p.name for p in (tmp_path / "ep").glob("routing_turn_*.npy")) == \
        sorted(f"routing_turn_{t}.npy" for t in {s.turn for s in ep.steps})


def test_routing_off_by_default_writes_nothing(ckpt, tmp_path):
    _, ep = play(tmp_path, LocalPolicy(ckpt, max_new_tokens=4, temperature=0.0), max_steps=2)
    assert ep.steps and all(s.routing_file is None and ep.routing(s) is None for s in ep.steps)
    assert not list((tmp_path / "ep").glob("*.npy"))


THINK_CLOSED = ("◁think▷The box is at the centre. pyautogui.click(x=0.9, y=0.9)◁/think▷## Action\nClick.\n"
                "## Code\n```python\npyautogui.click(x=0.5, y=0.5)\n```")
THINK_CLOSE_ONLY = "I looked again.◁/think▷## Code\n```python\npyautogui.click(x=0.25, y=0.5)\n```"
THINK_CUT = "◁think▷Let me consider where to click: maybe pyautogui.click(x=0.1"


def test_think_block_answers_parse_or_fail_with_their_text(ckpt, tmp_path, monkeypatch):
    from kimicua.model import engine

    policy = LocalPolicy(ckpt, temperature=0.0)
    tok = policy.processor.tokenizer
    scripted = [(THINK_CLOSED, "stop"), (THINK_CLOSE_ONLY, "stop"), (THINK_CUT, "length")]
    for text, _ in scripted:
        assert tok.decode(tok.encode(text)) == text  # the tiny vocabulary spells the tags

    def fake_generate_batch(model, prompts, params, *, record_routing=False):
        text, finish = scripted.pop(0)
        ids = tok.encode(text)
        stop = params[0].stop_token_ids[0] if finish == "stop" else None
        return [engine.Generation(ids, [-0.5] * len(ids), finish, 10, 0.0, 0.0,
                                  stop, None if stop is None else -0.1)]

    monkeypatch.setattr(engine, "generate_batch", fake_generate_batch)
    result, ep = play(tmp_path, policy, max_steps=3)
    assert [s.response for s in ep.steps] == [THINK_CLOSED, THINK_CLOSE_ONLY, THINK_CUT]
    assert ep.steps[0].parsed_action == Click(x=48.0, y=32.0)  # the click after the block, not inside it
    assert ep.steps[1].parsed_action == Click(x=24.0, y=32.0)  # only a close tag: what follows it
    cut = ep.steps[2]
    assert cut.parsed_action is None and "inside a ◁think▷ block" in cut.error
    assert ep.steps[0].token_ids[-1] == policy.processor.stop_token_ids[0]  # the stop ends the ids
    assert cut.token_ids == tok.encode(THINK_CUT)  # cut on length: no stop
