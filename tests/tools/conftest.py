"""Fixtures of the serve tests: the tiny checkpoint loaded once per module, and the official
openai client on the module's own ``server`` fixture (each module starts its server with its
own limits). Imports stay inside the fixtures: the other tools tests need neither torch nor
openai."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(model, processor) of the tiny checkpoint in fp32."""
    from serve_helpers import load_tiny

    return load_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def client(server):
    """The openai client on ``server``, never retrying (a retry would hide a failed request)."""
    import openai

    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=120)
