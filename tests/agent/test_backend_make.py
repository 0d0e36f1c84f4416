"""make_policy: every --model form, and the one-line error for anything else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize("model", ["gpt-4o", "ftp://host/model", "", "file:///no/such/dir"])
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


@pytest.mark.parametrize("model", ["/no/such/dir", "./missing", "../missing", "~/no-such-kimicua-dir",
                                   "a/b/c", "runs/ckpt/tiny", ".hidden"])
def test_a_name_that_can_only_be_a_path_is_a_missing_directory_never_a_hub_id(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as info:
        make_policy(model)
    path = Path(model).expanduser()
    assert str(info.value) == f"{path}: no such checkpoint directory (--model {model!r} is a path, not a hub id owner/name)"


def test_a_file_given_as_a_checkpoint_is_named(tmp_path):
    file = tmp_path / "config.json"
    file.write_text("{}")
    with pytest.raises(ValueError, match=f"^{file}: not a checkpoint directory \\(a file\\)"):
        make_policy(str(file))


def test_a_missing_path_never_loads_the_hub_client_or_torch():
    """The path rule is decided before any backend is built: no huggingface_hub, no torch."""
    code = (
        "import sys\nfrom kimicua.agent.backends import make_policy\n"
        "for m in ('/no/such/dir', './missing', 'a/b/c', '~/no-such-kimicua-dir'):\n"
        "    try:\n        make_policy(m)\n    except ValueError as e:\n        assert 'no such checkpoint directory' in str(e), e\n"
        "print(sorted(m for m in ('torch', 'huggingface_hub', 'kimicua.model') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
