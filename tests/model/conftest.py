"""The tiny checkpoint (random weights in the official layout) the model tests run on:
written once per module, and loaded in fp32 where a module needs the model itself. Imports
stay inside the fixtures, so tests that need no torch collect without it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The tiny checkpoint's directory (seed 0)."""
    from kimicua.model.tiny import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny"), seed=0)


@pytest.fixture(scope="module")
def loaded(tiny):
    """(model in eval mode, processor) of the tiny checkpoint, in fp32."""
    import torch

    from kimicua.model.weights import load_checkpoint

    model, processor, _ = load_checkpoint(tiny, dtype=torch.float32)
    return model.eval(), processor
