"""ScriptedPolicy: plays in order, consumes lazily, then Done."""

from __future__ import annotations

import json

import pytest

from kimicua.agent.backends import ScriptedPolicy
from kimicua.agent.policy import Policy, Prompt
from kimicua.env.actions import Click, Done, Hotkey, Type, action_from_json

PROMPT = Prompt([{"role": "user", "content": "go"}])


def test_plays_in_order_then_done_forever():
    script = [Click(x=10, y=20), Type(text="hi"), Hotkey(keys=("ctrl", "s"))]
    policy = ScriptedPolicy(script)
    assert isinstance(policy, Policy)
    replies = [policy.act(PROMPT) for _ in range(5)]
    assert [r.actions for r in replies] == [(a,) for a in script] + [(Done(),)] * 2
    for reply in replies:
        assert action_from_json(json.loads(reply.text)) == reply.actions[0]
        assert reply.model == "scripted"


def test_consumes_lazily_one_item_per_step():
    produced: list[int] = []

    def script():
        for i in range(3):
            produced.append(i)  # a real script resolves coordinates here, at step time
            yield Click(x=i, y=i)

    policy = ScriptedPolicy(script())
    assert produced == []
    assert policy.act(PROMPT).actions == (Click(x=0, y=0),)
    assert produced == [0]
    assert policy.act(PROMPT).actions == (Click(x=1, y=1),)
    assert produced == [0, 1]


def test_exhausted_iterator_is_not_pulled_again():
    class Once:
        pulls = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.pulls += 1
            if self.pulls > 1:
                raise StopIteration
            return Click(x=5, y=5)

    script = Once()
    policy = ScriptedPolicy(script)
    assert [policy.act(PROMPT).actions[0] for _ in range(4)] == [Click(x=5, y=5)] + [Done()] * 3
    assert script.pulls == 2  # the StopIteration is remembered, not asked for again


def test_close_runs_the_scripts_cleanup():
    events: list[str] = []

    def script():
        try:
            yield Click(x=1, y=1)
            yield Click(x=2, y=2)
        finally:
            events.append("closed")

    policy = ScriptedPolicy(script())
    policy.act(PROMPT)
    policy.close()
    assert events == ["closed"]


def test_non_action_items_are_reported():
    policy = ScriptedPolicy([None])
    with pytest.raises(TypeError, match="expected an Action, got NoneType"):
        policy.act(PROMPT)


def test_act_batch_answers_in_order_and_shares_the_script_with_act():
    script = [Click(x=1, y=1), Click(x=2, y=2), Click(x=3, y=3)]
    policy = ScriptedPolicy(script)
    assert [r.actions for r in policy.act_batch([PROMPT, PROMPT])] == [(script[0],), (script[1],)]
    assert policy.act(PROMPT).actions == (script[2],)
    assert [r.actions for r in policy.act_batch([PROMPT] * 2)] == [(Done(),)] * 2
    assert policy.act_batch([]) == []
