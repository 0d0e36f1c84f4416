"""Markers: where an action happened, drawn on the screen it acted on.

Actions carry screen logical pixels; frames are physical pixels. The point changes
space only through the geometry module's Frame. The centre of every marked point is
exactly ``MARKER`` (no anti-aliasing), with a white outline around the shapes so
they read on dark and light screens alike.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

from kimicua.env.actions import Action, Click, Drag, Move, Scroll
from kimicua.env.geometry import Frame, OutsideScreen, Size, Space, pixel

MARKER = (255, 32, 32)
OUTLINE = (255, 255, 255)
RING_PX, DOT_PX, ARROW_PX, LINE_PX = 12, 4, 40, 3  # logical pixels, times the frame's scale


def frame_for(image: Image.Image, screen: tuple[int, int] | None) -> Frame:
    """The Frame relating a picture (physical pixels) to the logical ``screen`` it shows;
    without a screen size, logical is taken to be physical (OSWorld's lines)."""
    physical = Size(*image.size)
    return Frame(screen=Size(*screen) if screen else physical, physical=physical)


def to_pixel(frame: Frame, x: float, y: float) -> tuple[int, int] | None:
    """The physical pixel of logical (x, y); None off the screen."""
    try:
        px, py = frame.convert(x, y, Space.LOGICAL, Space.PHYSICAL)
    except OutsideScreen:
        return None
    size = frame.physical or frame.screen
    return pixel(px, size.width), pixel(py, size.height)


class _Pen:
    """Shapes in marker colour over a white outline, sized by the frame's scale."""

    def __init__(self, image: Image.Image, scale: float):
        self.draw = ImageDraw.Draw(image)
        self.s = max(scale, 0.5)
        self.width = max(2, round(LINE_PX * self.s))

    def _box(self, p: tuple[int, int], r: float) -> list[float]:
        return [p[0] - r, p[1] - r, p[0] + r, p[1] + r]

    def dot(self, p: tuple[int, int]) -> None:
        r = DOT_PX * self.s
        self.draw.ellipse(self._box(p, r + 2), fill=OUTLINE)
        self.draw.ellipse(self._box(p, r), fill=MARKER)
        self.draw.point(p, fill=MARKER)  # the point itself, however small the dot

    def ring(self, p: tuple[int, int], factor: float = 1.0) -> None:
        r = RING_PX * self.s * factor
        self.draw.ellipse(self._box(p, r + 1), outline=OUTLINE, width=self.width + 2)
        self.draw.ellipse(self._box(p, r), outline=MARKER, width=self.width)

    def line(self, a: tuple[float, float], b: tuple[float, float], head: bool = False, short: float = 0) -> None:
        """A line from a to b, stopping ``short`` pixels before b (so a dot drawn at b
        leaves the arrow head in sight)."""
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        if short and length > short:
            b = (b[0] - (b[0] - a[0]) * short / length, b[1] - (b[1] - a[1]) * short / length)
        for colour, extra in ((OUTLINE, 2), (MARKER, 0)):
            self.draw.line([a, b], fill=colour, width=self.width + extra)
        if head:
            angle = math.atan2(b[1] - a[1], b[0] - a[0])
            size = 3 * self.width
            wings = [(b[0] - size * math.cos(angle + da), b[1] - size * math.sin(angle + da))
                     for da in (0.5, -0.5)]
            self.draw.polygon([b, *wings], fill=MARKER, outline=OUTLINE)


def draw_action(image: Image.Image, action: Action | None, frame: Frame) -> list[tuple[int, int]]:
    """Draw ``action``'s marker on ``image`` (in place); return the physical pixels it
    marks (none for a keyboard action, one without a point, or one off the screen).

    Click: a ring per click and a dot; move: a dot; drag: a line from the start (a
    ring) to the end (a dot); scroll: a dot and an arrow in the scroll direction."""
    pen = _Pen(image, frame.scale)
    match action:
        case Click(x=x, y=y) if x is not None and (p := to_pixel(frame, x, y)):
            for i in range(action.count):
                pen.ring(p, 1.0 + 0.5 * i)
            pen.dot(p)
            return [p]
        case Move() if (p := to_pixel(frame, action.x, action.y)):
            pen.dot(p)
            return [p]
        case Drag() if (end := to_pixel(frame, action.x, action.y)):
            start = None if action.start_x is None else to_pixel(frame, action.start_x, action.start_y)
            if start is None:
                pen.dot(end)
                return [end]
            pen.line(start, end, head=True, short=DOT_PX * pen.s + 3)
            pen.ring(start)
            pen.dot(start)
            pen.dot(end)
            return [start, end]
        case Scroll(x=x, y=y) if x is not None and (p := to_pixel(frame, x, y)):
            length = ARROW_PX * pen.s
            dx, dy = (action.dx > 0) - (action.dx < 0), (action.dy < 0) - (action.dy > 0)  # +dy is up
            if dx or dy:
                norm = math.hypot(dx, dy)
                pen.line(p, (p[0] + length * dx / norm, p[1] + length * dy / norm), head=True)
            pen.dot(p)
            return [p]
    return []
