"""windows.wait_for: the polling every env's wait_for_window shares."""

from __future__ import annotations

import pytest

from kimicua.env.core import EnvError, Window
from kimicua.env.windows import wait_for


def window(i: int, name: str) -> Window:
    return Window(id=i, name=name, wm_class="x.X", x=0, y=0, width=10, height=10)


def test_the_newest_matching_window_once_it_appears():
    looks = iter([[], [window(1, "Files")], [window(1, "Files"), window(2, "notes.txt - Mousepad"),
                                              window(3, "todo.txt - Mousepad")]])
    found = wait_for(lambda: next(looks), "Mousepad", timeout=5, missing="window", poll_s=0)
    assert found.id == 3


def test_gives_up_with_one_line_naming_what_and_where():
    with pytest.raises(EnvError, match=r"^no window named like 'Gimp' on display :7 after 0.05s$"):
        wait_for(lambda: [window(1, "Files")], "Gimp", timeout=0.05, missing="window named like 'Gimp' on display :7")
