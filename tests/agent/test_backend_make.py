"""make_policy: every --model form, and the one-line error for anything else."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kimicua.agent.backends import ScriptedPolicy, ServerPolicy, make_policy
from kimicua.agent.policy import Policy, Prompt
from kimicua.env.actions import Click


def test_url_gives_server_policy_with_options():
    policy = make_policy("http://127.0.0.1:9/v1", model="m", timeout=2.5, max_tokens=None)
    assert isinstance(policy, ServerPolicy) and isinstance(policy, Policy)
    assert policy.root == "http://127.0.0.1:9/v1" and policy.name == "m"
    assert policy.timeout == 2.5 and policy.max_tokens == 512  # None keeps the default
    assert isinstance(make_policy("https://example.invalid"), ServerPolicy)


def test_scripted_plays_the_actions_option():
    policy = make_policy("scripted", actions=[Click(x=3, y=4)])
    assert isinstance(policy, ScriptedPolicy)
    assert policy.act(Prompt([])).actions == (Click(x=3, y=4),)
    with pytest.raises(ValueError, match="needs the actions"):
        make_policy("scripted")


@pytest.mark.parametrize("model", ["gpt-4o", "ftp://host/model", "", "a/b/c", "/no/such/dir", "./missing"])
def test_unknown_forms_fail_with_one_clear_line(model):
    with pytest.raises(ValueError) as info:
        make_policy(model)
    msg = str(info.value)
    assert repr(model) in msg and "http(s)://" in msg and "owner/name" in msg and "\n" not in msg


def test_options_a_backend_does_not_take_are_named():
    with pytest.raises(ValueError, match=r"server backend does not take max_new_tokens, seed; it takes model, "):
        make_policy("http://127.0.0.1:9", max_new_tokens=5, seed=1)
    with pytest.raises(ValueError, match="scripted backend does not take temperature"):
        make_policy("scripted", actions=[], temperature=0.5)


def test_backends_import_without_torch_or_the_model_package():
    code = (
        "import sys, kimicua.agent.backends as b; "
        "b.make_policy('scripted', actions=[]); b.make_policy('http://127.0.0.1:9'); "
        "print(sorted(m for m in ('torch', 'kimicua.model') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
