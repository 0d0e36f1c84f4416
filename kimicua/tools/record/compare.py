"""Did a replay see what the recording saw? A tolerant distance between two frames.

Two frames of one screen differ where a pixel's channels differ by more than LEVEL
(0..255). A replay differs from its recording in a few ways that are not a different
course: a blinking caret caught on in one and off in the other, an underline drawn a
frame later. Those are thin lines, one or two pixels across. So the screen is cut
into TILE x TILE tiles and a tile counts as changed only when its differing pixels
span more than THIN columns *and* more than THIN rows: a caret or an underline never
does; a typed character, a moved widget, another page always do. (A lone narrow
glyph such as "l" does not either: the check reads layouts, not single strokes.)
A frame diverges when more than ``tolerance`` tiles changed (default 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TILE = 16
LEVEL = 24  # anti-aliasing and colour rounding stay below this
THIN = 3  # a change spanning at most this many columns (or rows) of a tile is a line


@dataclass(frozen=True)
class Difference:
    tiles: int  # changed tiles
    total: int  # tiles on the screen
    box: tuple[int, int, int, int] | None  # (x0, y0, x1, y1) px around the changed tiles
    size_mismatch: bool = False

    def describe(self) -> str:
        if self.size_mismatch:
            return "the frames have different sizes"
        if not self.tiles:
            return "no change"
        x0, y0, x1, y1 = self.box
        return (f"{self.tiles} of {self.total} {TILE}x{TILE} tiles differ, "
                f"within ({x0}, {y0})-({x1}, {y1})")


def difference(a: np.ndarray, b: np.ndarray) -> Difference:
    """How ``a`` and ``b`` (RGB [H, W, 3]) differ, by changed tiles (module docstring)."""
    if a.shape != b.shape:
        return Difference(0, 0, None, size_mismatch=True)
    h, w = a.shape[:2]
    mask = (np.abs(a.astype(np.int16) - b.astype(np.int16)) > LEVEL).any(axis=2)
    th, tw = -(-h // TILE), -(-w // TILE)
    padded = np.zeros((th * TILE, tw * TILE), dtype=bool)
    padded[:h, :w] = mask
    tiles = padded.reshape(th, TILE, tw, TILE)  # [tile row, y in tile, tile col, x in tile]
    columns = tiles.any(axis=1).sum(axis=2)  # [th, tw]: columns of a tile with a change
    rows = tiles.any(axis=3).sum(axis=1)  # [th, tw]: rows of a tile with a change
    changed = (columns > THIN) & (rows > THIN)
    n = int(changed.sum())
    if not n:
        return Difference(0, th * tw, None)
    ys, xs = np.nonzero(changed)
    box = (int(xs.min()) * TILE, int(ys.min()) * TILE,
           min(w, (int(xs.max()) + 1) * TILE), min(h, (int(ys.max()) + 1) * TILE))
    return Difference(n, th * tw, box)
