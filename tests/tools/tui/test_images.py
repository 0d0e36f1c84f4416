"""Screenshots in the terminal: which way they are drawn, and the marker on them."""

from __future__ import annotations

import numpy as np
import pytest

from kimicua.env.actions import Click, Drag, Type
from kimicua.tools.render.markers import MARKER
from kimicua.tools.terminal.halfblock import UPPER_HALF
from kimicua.tools.tui.images import halfblock_picture, images_mode


def colours(text):
    """Every rgb colour in the picture's styles."""
    out = set()
    for span in text.spans:
        for c in (span.style.color, span.style.bgcolor):
            if c is not None:
                out.add(tuple(c.get_truecolor()))
    return out


def is_red(rgb):
    r, g, b = rgb
    return r > 200 and g < 140 and b < 140


def test_the_mode_comes_from_the_option_then_the_environment(monkeypatch):
    monkeypatch.setenv("KIMICUA_TUI_IMAGES", "halfblock")
    assert images_mode() == "halfblock"
    assert images_mode("HalfBlock") == "halfblock"
    with pytest.raises(ValueError, match="auto, halfblock, tgp, sixel"):
        images_mode("ascii")
    monkeypatch.setenv("KIMICUA_TUI_IMAGES", "auto")
    assert images_mode() == "halfblock"  # not a terminal (pytest captures stdout): half blocks


def test_the_picture_fits_its_cells_and_marks_a_click_or_a_drag_in_red():
    image = np.full((800, 1280, 3), 200, np.uint8)
    plain = halfblock_picture(image, None, (1280, 800), 40, 30)  # 40 wide bounds it: 25 pixels tall
    lines = plain.plain.split("\n")
    assert len(lines) == 13 and {len(line) for line in lines} == {40} and set(plain.plain) <= {UPPER_HALF, "\n"}
    assert len(halfblock_picture(image, None, (1280, 800), 40, 6).plain.split("\n")[0]) == 19  # 6 rows bound it
    assert not any(is_red(c) for c in colours(plain))
    assert len(plain.spans) == len(lines)  # a flat screen is one run per line
    for action in (Click(x=640, y=400), Drag(start_x=100, start_y=100, x=1100, y=700)):
        assert any(is_red(c) for c in colours(halfblock_picture(image, action, (1280, 800), 40, 12)))
    assert not any(is_red(c) for c in colours(halfblock_picture(image, Type(text="x"), (1280, 800), 40, 12)))
    assert MARKER[0] > 200  # what is_red looks for


def test_the_marker_lands_where_the_click_is():
    image = np.full((800, 1280, 3), 200, np.uint8)
    text = halfblock_picture(image, Click(x=1200, y=100), (1280, 800), 64, 20)
    red_cols = [span.start % 65 for span in text.spans  # 64 cells and a newline per line
                if any(c is not None and is_red(tuple(c.get_truecolor()))
                       for c in (span.style.color, span.style.bgcolor))]
    assert red_cols and min(red_cols) > 48  # the right quarter of a 64-column picture
