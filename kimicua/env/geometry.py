"""Coordinate spaces: the only place where a point changes space.

Spaces, all with the origin at the top-left:
- ``relative``: 0..1 of the screen (Kimi-VL, OpenCUA).
- ``relative1000``: 0..1000 of the screen (UI-TARS 1.0).
- ``image``: pixels of the image the model saw, i.e. the screenshot resized to
  ``image`` size and possibly padded right/bottom to ``padded`` size (UI-TARS 1.5,
  Qwen2.5-VL). Points in the padding are outside the screen.
- ``logical``: screen logical pixels, what controllers and actions use.
- ``physical``: screen physical pixels, the screenshot's pixels
  (``logical * scale`` on a high-DPI screen).

Conversions go through exact rational arithmetic and are rounded to float once, so
a round trip returns the point up to one float rounding. A point outside the screen
raises OutsideScreen; it is never clamped to the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


class Space(StrEnum):
    RELATIVE = "relative"
    RELATIVE_1000 = "relative1000"
    IMAGE = "image"
    LOGICAL = "logical"
    PHYSICAL = "physical"


class OutsideScreen(ValueError):
    """A point that lies outside the screen (or in the model image's padding)."""

    def __init__(self, x: float, y: float, space: Space, width: float, height: float):
        self.x, self.y, self.space = x, y, space
        super().__init__(
            f"point ({x:g}, {y:g}) in {space} space is outside 0..{width:g} x 0..{height:g}"
        )


@dataclass(frozen=True, slots=True)
class Size:
    width: int
    height: int

    def __post_init__(self):
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"size must be positive, got {self.width}x{self.height}")

    @classmethod
    def parse(cls, text: str) -> Size:
        """'1920x1080' -> Size(1920, 1080), with a clear error otherwise."""
        try:
            w, h = text.lower().split("x")
            return cls(int(w), int(h))
        except ValueError:
            raise ValueError(f"expected a size like 1920x1080, got {text!r}") from None

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True, slots=True)
class Frame:
    """The sizes that relate every space for one screenshot.

    ``screen`` is the logical screen size; ``physical`` the screenshot's size
    (defaults to ``screen``); ``image`` the resized size the model saw, without
    padding, and ``padded`` that image with its padding (defaults to ``image``).
    """

    screen: Size
    physical: Size | None = None
    image: Size | None = None
    padded: Size | None = None

    @property
    def scale(self) -> float:
        """Device scale factor (physical / logical width)."""
        return 1.0 if self.physical is None else self.physical.width / self.screen.width

    def _extent(self, space: Space) -> tuple[Fraction, Fraction]:
        match space:
            case Space.RELATIVE:
                return Fraction(1), Fraction(1)
            case Space.RELATIVE_1000:
                return Fraction(1000), Fraction(1000)
            case Space.LOGICAL:
                return Fraction(self.screen.width), Fraction(self.screen.height)
            case Space.PHYSICAL:
                size = self.physical or self.screen
                return Fraction(size.width), Fraction(size.height)
            case Space.IMAGE:
                if self.image is None:
                    raise ValueError("image space needs the model image size in the Frame")
                return Fraction(self.image.width), Fraction(self.image.height)
        raise ValueError(f"unknown space {space!r}")

    def convert(self, x: float, y: float, src: Space | str, dst: Space | str) -> tuple[float, float]:
        """Convert a point from ``src`` to ``dst`` space; OutsideScreen if it is off-screen."""
        src, dst = Space(src), Space(dst)
        sw, sh = self._extent(src)
        fx, fy = Fraction(x), Fraction(y)
        # The screen is the closed box [0, extent]; the image's padding lies beyond
        # the image extent, so the same check rejects points in the padding.
        if not (0 <= fx <= sw and 0 <= fy <= sh):
            raise OutsideScreen(x, y, src, float(sw), float(sh))
        dw, dh = self._extent(dst)
        return float(fx * dw / sw), float(fy * dh / sh)

    def to_screen(self, x: float, y: float, src: Space | str) -> tuple[float, float]:
        """A point in ``src`` space as screen logical pixels."""
        return self.convert(x, y, src, Space.LOGICAL)

    def from_screen(self, x: float, y: float, dst: Space | str) -> tuple[float, float]:
        """Screen logical pixels as a point in ``dst`` space."""
        return self.convert(x, y, Space.LOGICAL, dst)


def pixel(value: float, extent: int) -> int:
    """The integer pixel a continuous coordinate falls in (the right/bottom edge,
    value == extent, belongs to the last pixel)."""
    return min(int(value), extent - 1)
