"""Single-property presentation checks: orientation, a stretched picture, slide
transitions, slide-number colour, background fill, and Impress's slide panel.

python-pptx loads on first use; the XML checks read the .pptx parts directly.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

from kimicua.tasks.metrics.registry import metric

_NS = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main",
       "p": "http://schemas.openxmlformats.org/presentationml/2006/main"}
_HALF_INCH = 457200  # EMU
_PICTURE = 13


def _presentation(path: Any):
    from pptx import Presentation

    return Presentation(path)


@metric
def check_slide_orientation_Portrait(pptx_path: Any) -> float:
    """1 when the slides are taller than wide."""
    deck = _presentation(pptx_path)
    return float(deck.slide_width < deck.slide_height)


@metric
def check_image_stretch_and_center(modified_ppt: Any, original_ppt: Any) -> float:
    """1 when the first picture of the original's first slide appears (same image bytes)
    on the modified first slide stretched to the slide and centred, within half an inch."""
    original, modified = _presentation(original_ppt), _presentation(modified_ppt)
    pictures = [s for s in original.slides[0].shapes if s.shape_type == _PICTURE]
    if not pictures:
        return 0.0
    blob = pictures[0].image.blob
    matches = [s for s in modified.slides[0].shapes if s.shape_type == _PICTURE and s.image.blob == blob]
    if not matches:
        return 0.0
    image, width, height = matches[-1], original.slide_width, original.slide_height
    return float(abs(image.width - width) <= _HALF_INCH and abs(image.height - height) <= _HALF_INCH
                 and abs(image.left - (width - image.width) / 2) <= _HALF_INCH
                 and abs(image.top - (height - image.height) / 2) <= _HALF_INCH)


@metric
def check_transition(pptx_file: Any, rules: dict[str, Any]) -> float:
    """1 when slide ``slide_idx`` (from 0) has a transition of ``transition_type``
    (e.g. "dissolve": a <p:dissolve> inside its <p:transition>)."""
    name = f"ppt/slides/slide{rules['slide_idx'] + 1}.xml"
    kind = rules["transition_type"]
    if not kind.isidentifier():
        raise ValueError(f"bad transition_type {kind!r}")
    with zipfile.ZipFile(pptx_file) as zf:
        if name not in zf.namelist():
            return 0.0
        root = ET.fromstring(zf.read(name))
    transition = root.find(".//p:transition", _NS)
    return float(transition is not None and transition.find(f".//p:{kind}", _NS) is not None)


def _master_number_color(root) -> str | None:
    """The slide master's colour for slide numbers, found as OSWorld does: a colour
    under a slide-number, footer or date placeholder, else the last non-black colour of a
    text run, else the last non-black colour anywhere, else the last colour."""
    number = root.find(".//p:ph[@type='sldNum']", _NS)
    if number is not None and (c := number.find(".//a:solidFill//a:srgbClr", _NS)) is not None:
        return c.get("val")
    for ph in root.findall(".//p:ph", _NS):
        if ph.get("type") in ("sldNum", "ftr", "dt") and (c := ph.find(".//a:solidFill//a:srgbClr", _NS)) is not None:
            return c.get("val")
    for path in (".//a:rPr//a:solidFill//a:srgbClr", ".//a:solidFill//a:srgbClr"):
        colors = [c.get("val") for c in root.findall(path, _NS)]
        for value in reversed(colors):
            if value and value != "000000":
                return value
    return colors[-1] if colors else None


def _hex_rgb(text: str | None) -> tuple[int, int, int] | None:
    text = (text or "").lstrip("#")
    if len(text) != 6:
        return None
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        return None


_COLOR_TESTS = {
    "red": lambda r, g, b: r > g + 50 and r > b + 50,
    "green": lambda r, g, b: g > r + 50 and g > b + 50,
    "blue": lambda r, g, b: b > g + 50 and b > r + 50,
    "black": lambda r, g, b: r < 50 and g < 50 and b < 50,
}


@metric
def check_page_number_colors(pptx_file: Any, rules: dict[str, Any]) -> float:
    """1 when the slide master's slide-number colour is ``rules["color"]`` (red, green,
    blue or black: that channel 50 above the others, or all below 50; another name
    accepts any colour found)."""
    with zipfile.ZipFile(pptx_file) as zf:
        root = ET.fromstring(zf.read("ppt/slideMasters/slideMaster1.xml"))
    rgb = _hex_rgb(_master_number_color(root))
    if rgb is None:
        return 0.0
    test = _COLOR_TESTS.get(rules["color"])
    return float(test is None or test(*rgb))


def _fill_rgb(fill):
    try:
        return fill.fore_color.rgb if hasattr(fill.fore_color, "rgb") else None
    except Exception:  # noqa: BLE001 - OSWorld reads an unreadable colour as none
        return None


def _fill_distance(slide, rgb, original) -> float:
    """Distance in 0..1 of a slide's solid background (its own or the master's) to
    ``rgb``; 1 without one, or when it is still the ``original`` colour."""
    fill = slide.background.fill
    if fill.type == 5:
        fill = slide.slide_layout.slide_master.background.fill
        if fill.type != 1:
            return 1.0
    elif fill.type != 1:
        return 1.0
    color = _fill_rgb(fill)
    if color is None or (original is not None and tuple(color) == tuple(original)):
        return 1.0
    return math.dist(tuple(color), tuple(rgb)) / math.dist((0, 0, 0), (255, 255, 255))


@metric
def evaluate_presentation_fill_to_rgb_distance(pptx_file: Any, rules: dict[str, Any]) -> float:
    """1 minus the mean over slides of the background's distance to ``rules["rgb"]``."""
    deck = _presentation(pptx_file)
    slides = list(deck.slides)
    distance = sum(_fill_distance(s, rules["rgb"], rules.get("original_rgb")) for s in slides)
    return 1 - distance / len(slides)


@metric
def check_left_panel(accessibility_tree: Any) -> float:
    """1 when the accessibility tree (XML) has a document-frame named "Slides View",
    i.e. Impress shows its slide panel."""
    if not accessibility_tree:
        return 0.0
    root = ET.fromstring(accessibility_tree)
    return float(any(f.get("name") == "Slides View" for f in root.iter("document-frame")))
