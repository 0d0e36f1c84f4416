"""The TUI's tests draw screenshots with half blocks, so snapshots are the same on
every terminal and machine."""

import pytest


@pytest.fixture(autouse=True)
def halfblock_images(monkeypatch):
    monkeypatch.setenv("KIMICUA_TUI_IMAGES", "halfblock")
