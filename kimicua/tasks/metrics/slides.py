"""compare_pptx_files: two decks compared slide by slide, shape by shape, with OSWorld's
``examine_*`` switches, tolerances and quirks (python-pptx, loaded on first use).

Per slide (pairs in order): the background colour, the notes, the shape count, then per
shape pair the geometry checks that are switched on, table cells, text, paragraphs and
runs, and finally the text shapes of the whole slide (inside groups too). Sizes compare
with a relative tolerance (``approximately_tolerance``, 0.005). Some switches encode
single OSWorld tasks (a title moved down on a "Product Comparison" slide, a table on
slide 3, a picture on slide 2); they are kept as OSWorld has them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields
from typing import Any

from kimicua.tasks.metrics.registry import metric

_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
PICTURE, FREEFORM, TABLE = 13, 5, 19  # MSO_SHAPE_TYPE values


@dataclass(frozen=True)
class PptxOptions:
    """OSWorld's option names and defaults (``examine_`` dropped)."""

    number_of_slides: bool = True
    shape: bool = True
    text: bool = True
    indent: bool = True
    font_name: bool = True
    font_size: bool = True
    font_bold: bool = True
    font_italic: bool = True
    color_rgb: bool = True
    font_underline: bool = True
    strike_through: bool = True
    alignment: bool = True
    title_bottom_position: bool = False
    table_bottom_position: bool = False
    run_count: bool = True
    right_position: bool = False
    top_position: bool = False
    shape_for_shift_size: bool = False
    image_size: bool = False
    modify_height: bool = False
    bullets: bool = True
    background_color: bool = True
    note: bool = True
    tolerance: float = 0.005

    @classmethod
    def parse(cls, options: dict[str, Any]) -> "PptxOptions":
        """From a task's options: examine_* and approximately_tolerance; keys starting
        with "_" (notes) and enable_debug are ignored, any other key is an error."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in options.items():
            if key.startswith("_") or key == "enable_debug":
                continue
            name = "tolerance" if key == "approximately_tolerance" else key.removeprefix("examine_")
            if not key.startswith("examine_") and key != "approximately_tolerance" or name not in names:
                raise ValueError(f"unknown compare_pptx_files option {key!r}")
            values[name] = value
        return cls(**values)


def _close(a, b, tolerance: float) -> bool:
    if a == b:
        return True
    if a == 0 or b == 0:
        return False
    return abs(a - b) / max(abs(a), abs(b)) <= tolerance


def _same_box(s1, s2, tolerance: float) -> bool:
    return all(_close(getattr(s1, k), getattr(s2, k), tolerance) for k in ("left", "top", "width", "height"))


def _has_text(shape) -> bool:
    return hasattr(shape, "text")


def _background_rgb(slide):
    fill = slide.background.fill
    if fill.type == 1:  # solid
        return fill.fore_color.rgb
    if fill.type == 5:  # follows the master
        master = slide.slide_layout.slide_master.background.fill
        return master.fore_color.rgb if master.type == 1 else None
    return None


def _notes(slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    if frame is None:
        raise ValueError("a notes slide without a notes placeholder")
    return frame.text


def _text_shapes(shapes) -> list:
    """Every shape with a text frame, groups searched depth first."""
    found = []
    for shape in shapes:
        if hasattr(shape, "text") and hasattr(shape, "text_frame"):
            found.append(shape)
        if hasattr(shape, "shapes"):
            found.extend(_text_shapes(shape.shapes))
    return found


def _geometry_ok(s1, s2, slide_no: int, o: PptxOptions) -> bool:
    tol = o.tolerance
    same_box = _same_box(s1, s2, tol)  # OSWorld computes it whatever the switches say
    if o.title_bottom_position:
        if _has_text(s1) and _has_text(s2) and s1.text == s2.text:
            if s1.text == "Product Comparison" and (s1.top <= s2.top or s1.top < 3600000):
                return False
        elif not same_box:
            return False
    if o.table_bottom_position:
        if slide_no == 3 and s1.shape_type == TABLE and s2.shape_type == TABLE:
            if s1.top <= s2.top or s1.top < 3600000:
                return False
        elif not same_box:
            return False
    if o.right_position and slide_no == 2 and not _has_text(s1) and not _has_text(s2):
        if s1.left <= s2.left or s1.left < 4320000:
            return False
    if o.top_position and slide_no == 2 and s1.shape_type == PICTURE and s2.shape_type == PICTURE:
        if s1.top >= s2.top or s1.top > 1980000:
            return False
    if o.shape_for_shift_size and not same_box:
        if not (_has_text(s1) and _has_text(s2) and s1.text == s2.text
                and s1.text == "Elaborate on what you want to discuss."):
            return False
    both_empty = all(not getattr(s, "text", None) or (s.text or "").strip() == "" for s in (s1, s2))
    if o.shape and not both_empty and not same_box:
        return False
    if o.image_size:
        if s1.shape_type == PICTURE and s2.shape_type == PICTURE:
            if not (_close(s1.width, s2.width, tol) and _close(s1.height, s2.height, tol)):
                return False
        elif not same_box:
            return False
    if o.modify_height:
        if (not _has_text(s1) and not _has_text(s2)) or (s1.shape_type == FREEFORM and s2.shape_type == FREEFORM):
            if not _close(s1.height, s2.height, tol):
                return False
        elif not same_box:
            return False
    return True


def _runs(p1, p2) -> tuple[list, list]:
    """The paragraphs' runs; for two blank paragraphs only runs with text (0 runs and one
    empty run are the same paragraph)."""
    if (p1.text or "").strip() == "" and (p2.text or "").strip() == "":
        return [r for r in p1.runs if (r.text or "").strip()], [r for r in p2.runs if (r.text or "").strip()]
    return list(p1.runs), list(p2.runs)


def _flag_differs(a, b) -> bool:
    """Bold/italic differ, None and False both meaning off."""
    return a != b and not (a in (None, False) and b in (None, False))


def _underline_differs(a, b) -> bool:
    return a != b and ((a is not None and b is not None) or {a, b} == {None, True})


def _color_differs(r1, r2) -> bool:
    c1, c2 = r1.font.color, r2.font.color
    return hasattr(c1, "rgb") and hasattr(c2, "rgb") and c1.rgb != c2.rgb


def _table_ok(s1, s2, o: PptxOptions) -> bool:
    t1, t2 = s1.table, s2.table
    if len(t1.rows) != len(t2.rows) or len(t1.columns) != len(t2.columns):
        return False
    for row in range(len(t1.rows)):
        for col in range(len(t1.columns)):
            paras1 = t1.cell(row, col).text_frame.paragraphs
            paras2 = t2.cell(row, col).text_frame.paragraphs
            if len(paras1) != len(paras2):
                return False
            for p1, p2 in zip(paras1, paras2):
                runs1, runs2 = _runs(p1, p2)
                if o.run_count and len(runs1) != len(runs2):
                    return False
                for r1, r2 in zip(runs1, runs2):
                    # In tables OSWorld checks bold, italic and underline whatever the switches say.
                    if (o.color_rgb and _color_differs(r1, r2)) or _flag_differs(r1.font.bold, r2.font.bold) \
                            or _flag_differs(r1.font.italic, r2.font.italic) \
                            or _underline_differs(r1.font.underline, r2.font.underline):
                        return False
    return True


def _bullets(xml: bytes) -> list[tuple] | None:
    """(level, bullet char, text) of each non-blank paragraph of a slide's XML; None when
    a text element is empty (OSWorld's reader fails there and skips the bullet check)."""
    found = []
    for para in ET.fromstring(xml).iter(f"{_A}p"):
        ppr = para.find(f"{_A}pPr")
        if ppr is None:
            level, char = "No Level", "No Bullet"
        else:
            bullet = ppr.find(f"{_A}buChar")
            level, char = ppr.get("lvl"), bullet.get("char") if bullet is not None else "No Bullet"
        parts = [t.text for t in para.iter(f"{_A}t")]
        if None in parts:
            return None
        text = "".join(parts)
        if text.strip():
            found.append((level, char, text))
    return found


def _level(level: str | None) -> str:
    return "0" if level is None else level


def _bullets_ok(slide1, slide2) -> bool:
    b1, b2 = _bullets(slide1.part.blob), _bullets(slide2.part.blob)
    if b1 is None or b2 is None:
        return True
    if len(b1) != len(b2):
        return False
    for (lvl1, char1, text1), (lvl2, char2, text2) in zip(b1, b2):
        if text1 != text2 or char1 != char2:
            return False
        if (char1 != "No Bullet" or char2 != "No Bullet") and _level(lvl1) != _level(lvl2):
            return False
    return True


def _alignment(paragraph):
    from pptx.enum.text import PP_ALIGN

    return PP_ALIGN.LEFT if paragraph.alignment is None else paragraph.alignment


def _run_ok(r1, r2, o: PptxOptions) -> bool:
    f1, f2 = r1.font, r2.font
    return not ((o.font_name and f1.name != f2.name) or (o.font_size and f1.size != f2.size)
                or (o.font_bold and _flag_differs(f1.bold, f2.bold))
                or (o.font_italic and _flag_differs(f1.italic, f2.italic))
                or (o.color_rgb and _color_differs(r1, r2))
                or (o.font_underline and _underline_differs(f1.underline, f2.underline))
                or (o.strike_through and f1._element.get("strike", "noStrike") != f2._element.get("strike", "noStrike")))


def _text_ok(s1, s2, o: PptxOptions, bullets) -> bool:
    if o.text and s1.text.strip() != s2.text.strip():
        return False
    paras1, paras2 = s1.text_frame.paragraphs, s2.text_frame.paragraphs
    if len(paras1) != len(paras2):
        return False
    for p1, p2 in zip(paras1, paras2):
        if o.alignment and _alignment(p1) != _alignment(p2):
            return False
        if o.text and p1.text != p2.text:
            return False
        if o.indent and p1.level != p2.level and not ((p1.level or 0) in (0, 1) and (p2.level or 0) in (0, 1)):
            return False
        runs1, runs2 = _runs(p1, p2)
        if o.run_count and len(runs1) != len(runs2):
            return False
        for r1, r2 in zip(runs1, runs2):
            if not _run_ok(r1, r2, o) or (o.bullets and not bullets()):
                return False
    return True


def _slides_match(slide1, slide2, slide_no: int, o: PptxOptions) -> bool:
    if o.background_color and _background_rgb(slide1) != _background_rgb(slide2):
        return False
    if o.note and _notes(slide1).strip() != _notes(slide2).strip():
        return False
    if len(slide1.shapes) != len(slide2.shapes):
        return False
    verdict: list[bool] = []

    def bullets() -> bool:  # the whole slide's bullets, compared once when a run needs them
        if not verdict:
            verdict.append(_bullets_ok(slide1, slide2))
        return verdict[0]

    for s1, s2 in zip(slide1.shapes, slide2.shapes):
        if not _geometry_ok(s1, s2, slide_no, o):
            return False
        if s1.shape_type == TABLE and not _table_ok(s1, s2, o):
            return False
        if _has_text(s1) and _has_text(s2) and not _text_ok(s1, s2, o, bullets):
            return False
    texts1, texts2 = _text_shapes(slide1.shapes), _text_shapes(slide2.shapes)
    if len(texts1) != len(texts2):
        return False
    if o.alignment:
        for t1, t2 in zip(texts1, texts2):
            if o.text and t1.text.strip() != t2.text.strip():
                return False
            paras1, paras2 = t1.text_frame.paragraphs, t2.text_frame.paragraphs
            if len(paras1) != len(paras2) or any(_alignment(p) != _alignment(q) for p, q in zip(paras1, paras2)):
                return False
    return True


@metric
def compare_pptx_files(file1: Any, file2: Any, **options: Any) -> float:
    """1 when the two decks match under the ``examine_*`` options (see the module)."""
    from pptx import Presentation

    o = PptxOptions.parse(options)
    if not file1 or not file2:
        return 0.0
    deck1, deck2 = Presentation(file1), Presentation(file2)
    if o.number_of_slides and len(deck1.slides) != len(deck2.slides):
        return 0.0
    return float(all(_slides_match(s1, s2, n, o)
                     for n, (s1, s2) in enumerate(zip(deck1.slides, deck2.slides), start=1)))
