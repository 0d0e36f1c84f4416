"""Presentation metrics and the slide getters on decks made here (python-pptx)."""

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import PP_ALIGN
from pptx.util import Emu, Inches, Pt

from kimicua.tasks.context import RunContext
from kimicua.tasks.getters import GETTERS
from kimicua.tasks.metrics import slide_checks as sc
from kimicua.tasks.metrics.slides import PptxOptions, compare_pptx_files

A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"


def _png(color="red", size=(8, 8)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def _deck(path, edit=None, slides=2, picture=True):
    """A deck of ``slides`` title-and-content slides ("Title n", two bullet lines), with a
    picture on the last slide; ``edit(prs)`` changes it before saving."""
    prs = Presentation()
    for n in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = f"Title {n + 1}"
        body = slide.placeholders[1].text_frame
        body.text = "First point"
        body.add_paragraph().text = "Second point"
    if picture:
        prs.slides[-1].shapes.add_picture(_png(), Inches(1), Inches(5), Inches(1), Inches(1))
    if edit:
        edit(prs)
    prs.save(path)
    return str(path)


def _title_run(prs, slide=0):
    return prs.slides[slide].shapes.title.text_frame.paragraphs[0].runs[0]


@pytest.fixture
def gold(tmp_path):
    return _deck(tmp_path / "gold.pptx")


def test_identical_decks_match(tmp_path, gold):
    assert compare_pptx_files(_deck(tmp_path / "same.pptx"), gold) == 1.0


def test_text_and_slide_count(tmp_path, gold):
    retitled = _deck(tmp_path / "r.pptx", lambda p: setattr(p.slides[0].shapes.title, "text", "Other"))
    assert compare_pptx_files(retitled, gold) == 0.0
    extra = _deck(tmp_path / "e.pptx", slides=3)
    assert compare_pptx_files(extra, gold) == 0.0
    # The third slide's picture is on slide 3, not 2: pairing the first two slides still differs.
    assert compare_pptx_files(extra, gold, examine_number_of_slides=False) == 0.0
    no_picture = _deck(tmp_path / "n.pptx", slides=3, picture=False)
    assert compare_pptx_files(no_picture, _deck(tmp_path / "g2.pptx", picture=False),
                              examine_number_of_slides=False) == 1.0


def _shift(dx):
    """Move slide 1's title right by ``dx`` EMU (its whole box made explicit: a placeholder
    that inherits its position gets an explicit one when any side is set)."""
    def edit(prs):
        title = prs.slides[0].shapes.title
        box = title.left, title.top, title.width, title.height
        title.left, title.top, title.width, title.height = box[0] + dx, *box[1:]
    return edit


def test_moved_shape_fails_only_while_shapes_are_examined(tmp_path, gold):
    moved = _deck(tmp_path / "m.pptx", _shift(Inches(1)))
    assert compare_pptx_files(moved, gold) == 0.0
    assert compare_pptx_files(moved, gold, examine_shape=False) == 1.0
    assert compare_pptx_files(moved, gold, approximately_tolerance=0.7) == 1.0  # 2/3 of the new left
    assert compare_pptx_files(_deck(tmp_path / "n.pptx", _shift(100)), gold) == 1.0  # within 0.5%


def test_run_fonts(tmp_path, gold):
    bold = _deck(tmp_path / "b.pptx", lambda p: setattr(_title_run(p).font, "bold", True))
    assert compare_pptx_files(bold, gold) == 0.0
    assert compare_pptx_files(bold, gold, examine_font_bold=False) == 1.0
    not_bold = _deck(tmp_path / "nb.pptx", lambda p: setattr(_title_run(p).font, "bold", False))
    assert compare_pptx_files(not_bold, gold) == 1.0  # False and unset are both "not bold"
    sized = _deck(tmp_path / "s.pptx", lambda p: setattr(_title_run(p).font, "size", Pt(40)))
    assert compare_pptx_files(sized, gold) == 0.0
    assert compare_pptx_files(sized, gold, examine_font_size=False) == 1.0
    red = _deck(tmp_path / "c.pptx", lambda p: setattr(_title_run(p).font.color, "rgb", RGBColor(255, 0, 0)))
    assert compare_pptx_files(red, _deck(tmp_path / "c2.pptx", lambda p: setattr(
        _title_run(p).font.color, "rgb", RGBColor(0, 0, 255)))) == 0.0
    assert compare_pptx_files(red, gold) == 1.0  # a colour is compared only where both runs have one

    def strike(prs):
        _title_run(prs).font._element.set("strike", "sngStrike")

    assert compare_pptx_files(_deck(tmp_path / "k.pptx", strike), gold) == 0.0
    assert compare_pptx_files(_deck(tmp_path / "k2.pptx", strike), gold, examine_strike_through=False) == 1.0


def test_alignment_unset_means_left(tmp_path, gold):
    def align(value):
        return lambda p: setattr(p.slides[0].shapes.title.text_frame.paragraphs[0], "alignment", value)

    assert compare_pptx_files(_deck(tmp_path / "l.pptx", align(PP_ALIGN.LEFT)), gold) == 1.0
    centered = _deck(tmp_path / "c.pptx", align(PP_ALIGN.CENTER))
    assert compare_pptx_files(centered, gold) == 0.0
    assert compare_pptx_files(centered, gold, examine_alignment=False) == 1.0


def test_indent_levels_zero_and_one_are_the_same(tmp_path, gold):
    def level(n):
        return lambda p: setattr(p.slides[0].placeholders[1].text_frame.paragraphs[1], "level", n)

    assert compare_pptx_files(_deck(tmp_path / "one.pptx", level(1)), gold) == 1.0
    two = _deck(tmp_path / "two.pptx", level(2))
    assert compare_pptx_files(two, gold) == 0.0
    assert compare_pptx_files(two, gold, examine_indent=False) == 1.0


def test_notes_and_background(tmp_path, gold):
    noted = _deck(tmp_path / "n.pptx", lambda p: setattr(p.slides[0].notes_slide.notes_text_frame, "text", "Say hi"))
    assert compare_pptx_files(noted, gold) == 0.0
    assert compare_pptx_files(noted, gold, examine_note=False) == 1.0

    def paint(prs):
        fill = prs.slides[1].background.fill
        fill.solid()
        fill.fore_color.rgb = RGBColor(0, 0, 255)

    painted = _deck(tmp_path / "p.pptx", paint)
    assert compare_pptx_files(painted, gold) == 0.0
    assert compare_pptx_files(painted, gold, examine_background_color=False) == 1.0


def test_bullet_characters_of_the_slide(tmp_path, gold):
    def bullet(prs):
        ppr = prs.slides[0].placeholders[1].text_frame.paragraphs[0]._p.get_or_add_pPr()
        etree.SubElement(ppr, f"{{{A}}}buChar", char="•")

    bulleted = _deck(tmp_path / "b.pptx", bullet)
    assert compare_pptx_files(bulleted, gold) == 0.0
    assert compare_pptx_files(bulleted, gold, examine_bullets=False) == 1.0


def test_run_count(tmp_path, gold):
    def split(prs):
        paragraph = prs.slides[0].shapes.title.text_frame.paragraphs[0]
        paragraph.runs[0].text = "Title "
        paragraph.add_run().text = "1"

    two_runs = _deck(tmp_path / "t.pptx", split)
    assert compare_pptx_files(two_runs, gold) == 0.0
    assert compare_pptx_files(two_runs, gold, examine_run_count=False) == 1.0


def _picture(prs):
    return next(s for s in prs.slides[-1].shapes if s.shape_type == 13)


def test_image_size_and_modify_height_switches(tmp_path, gold):
    taller = _deck(tmp_path / "t.pptx", lambda p: setattr(_picture(p), "height", Inches(2)))
    moved = _deck(tmp_path / "m.pptx", lambda p: setattr(_picture(p), "left", Inches(3)))
    wider = _deck(tmp_path / "w.pptx", lambda p: setattr(_picture(p), "width", Inches(2)))
    assert compare_pptx_files(taller, gold, examine_shape=False) == 1.0
    assert compare_pptx_files(taller, gold, examine_shape=False, examine_image_size=True) == 0.0
    assert compare_pptx_files(moved, gold, examine_shape=False, examine_image_size=True) == 1.0
    assert compare_pptx_files(taller, gold, examine_shape=False, examine_modify_height=True) == 0.0
    assert compare_pptx_files(wider, gold, examine_shape=False, examine_modify_height=True) == 1.0


def test_table_runs_compare_bold_whatever_the_switches(tmp_path):
    def table(bold):
        def edit(prs):
            frame = prs.slides[0].shapes.add_table(2, 2, Inches(1), Inches(5), Inches(4), Inches(1))
            cell = frame.table.cell(0, 0)
            cell.text = "Head"
            cell.text_frame.paragraphs[0].runs[0].font.bold = bold
        return edit

    gold = _deck(tmp_path / "g.pptx", table(True))
    plain = _deck(tmp_path / "p.pptx", table(None))
    assert compare_pptx_files(_deck(tmp_path / "s.pptx", table(True)), gold) == 1.0
    assert compare_pptx_files(plain, gold, examine_font_bold=False) == 0.0


def test_options_are_checked(tmp_path, gold):
    same = _deck(tmp_path / "s.pptx")
    assert compare_pptx_files(same, gold, _note="ignored", enable_debug=False) == 1.0
    with pytest.raises(ValueError, match="unknown compare_pptx_files option 'examine_colour'"):
        compare_pptx_files(same, gold, examine_colour=False)
    assert PptxOptions.parse({"approximately_tolerance": 0.01}).tolerance == 0.01
    assert compare_pptx_files(None, gold) == 0.0


def test_check_slide_orientation_portrait(tmp_path):
    def portrait(prs):
        prs.slide_width, prs.slide_height = Inches(7.5), Inches(10)

    assert sc.check_slide_orientation_Portrait(_deck(tmp_path / "p.pptx", portrait)) == 1.0
    assert sc.check_slide_orientation_Portrait(_deck(tmp_path / "l.pptx")) == 0.0


def test_check_image_stretch_and_center(tmp_path):
    original = _deck(tmp_path / "o.pptx", slides=1)

    def stretch(prs):
        picture = _picture(prs)
        picture.left, picture.top = Emu(100000), Emu(0)
        picture.width, picture.height = prs.slide_width - Emu(200000), prs.slide_height

    assert sc.check_image_stretch_and_center(_deck(tmp_path / "s.pptx", stretch, slides=1), original) == 1.0
    assert sc.check_image_stretch_and_center(original, original) == 0.0  # still 1 inch wide
    other = _deck(tmp_path / "x.pptx", lambda p: None, slides=1, picture=False)
    assert sc.check_image_stretch_and_center(other, original) == 0.0


def test_check_transition(tmp_path):
    def dissolve(prs):
        transition = etree.SubElement(prs.slides[0]._element, f"{{{P}}}transition")
        etree.SubElement(transition, f"{{{P}}}dissolve")

    deck = _deck(tmp_path / "d.pptx", dissolve)
    assert sc.check_transition(deck, {"slide_idx": 0, "transition_type": "dissolve"}) == 1.0
    assert sc.check_transition(deck, {"slide_idx": 0, "transition_type": "fade"}) == 0.0
    assert sc.check_transition(deck, {"slide_idx": 1, "transition_type": "dissolve"}) == 0.0
    assert sc.check_transition(deck, {"slide_idx": 9, "transition_type": "dissolve"}) == 0.0


def _number_color(value):
    def edit(prs):
        for ph in prs.slide_masters[0]._element.iter(f"{{{P}}}ph"):
            if ph.get("type") == "sldNum":
                sp = ph.getparent().getparent().getparent()
                for rpr in sp.iter(f"{{{A}}}rPr"):
                    fill = etree.SubElement(rpr, f"{{{A}}}solidFill")
                    etree.SubElement(fill, f"{{{A}}}srgbClr", val=value)
    return edit


def test_check_page_number_colors(tmp_path):
    red = _deck(tmp_path / "r.pptx", _number_color("E01010"))
    assert sc.check_page_number_colors(red, {"color": "red"}) == 1.0
    assert sc.check_page_number_colors(red, {"color": "blue"}) == 0.0
    assert sc.check_page_number_colors(_deck(tmp_path / "b.pptx", _number_color("1010E0")), {"color": "blue"}) == 1.0
    assert sc.check_page_number_colors(_deck(tmp_path / "n.pptx"), {"color": "red"}) == 0.0  # no colour at all


def test_evaluate_presentation_fill_to_rgb_distance(tmp_path):
    def fill(rgb, slides=(0, 1)):
        def edit(prs):
            for n in slides:
                background = prs.slides[n].background.fill
                background.solid()
                background.fore_color.rgb = RGBColor(*rgb)
        return edit

    rules = {"rgb": [0, 0, 255], "original_rgb": [255, 255, 255]}
    assert sc.evaluate_presentation_fill_to_rgb_distance(_deck(tmp_path / "b.pptx", fill((0, 0, 255))), rules) == 1.0
    half = sc.evaluate_presentation_fill_to_rgb_distance(_deck(tmp_path / "h.pptx", fill((0, 0, 255), [0])), rules)
    assert half == pytest.approx(0.5)  # the unfilled slide counts as distance 1
    white = sc.evaluate_presentation_fill_to_rgb_distance(_deck(tmp_path / "w.pptx", fill((255, 255, 255))), rules)
    assert white == 0.0
    near = sc.evaluate_presentation_fill_to_rgb_distance(_deck(tmp_path / "n.pptx", fill((0, 0, 200))), rules)
    assert near == pytest.approx(1 - 55 / (255 * 3 ** 0.5))


def test_check_left_panel():
    shown = '<desktop-frame><application name="soffice"><document-frame name="Slides View"/></application></desktop-frame>'
    hidden = '<desktop-frame><application name="soffice"><document-frame name="Outline"/></application></desktop-frame>'
    assert sc.check_left_panel(shown) == 1.0
    assert sc.check_left_panel(hidden) == 0.0
    assert sc.check_left_panel(None) == 0.0


def _with_media(path, slide_xml_edit, rels):
    """Rewrite a saved deck: slide 1's XML through ``slide_xml_edit`` and its rels with
    extra ``rels`` entries; extra zip members from ``rels`` values with bytes."""
    out = path.with_name("media_" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "ppt/slides/slide1.xml":
                data = slide_xml_edit(data)
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":
                extra = "".join(f'<Relationship Id="{rid}" Type="{kind}" Target="{target}"{mode}/>'
                                for rid, kind, target, mode, _ in rels)
                data = data.replace(b"</Relationships>", extra.encode() + b"</Relationships>")
            dst.writestr(item, data)
        for _, _, target, _, blob in rels:
            if blob is not None:
                dst.writestr("ppt/" + target.removeprefix("../"), blob)
    return out


class _FilesEnv:
    """The one thing the file getters ask of an env: a copy of an app's file (False when
    it is missing or outside the home)."""

    def __init__(self, home):
        self.home = str(home)

    def get_file(self, path, dest):
        source = Path(path)
        if not str(path).startswith(self.home) or not source.is_file():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        return True


def _getter_env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return _FilesEnv(home), home, RunContext(tmp_path / "run")


def test_audio_in_slide_embedded_and_linked(tmp_path):
    env, home, ctx = _getter_env(tmp_path)
    deck = tmp_path / "deck.pptx"
    _deck(deck, slides=1, picture=False)
    audio_type = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/audio"
    embedded = _with_media(deck, lambda x: x, [("rIdA", audio_type, "../media/media1.mp3", "", b"ID3fake")])
    (home / "talk.pptx").write_bytes(embedded.read_bytes())
    spec = {"type": "audio_in_slide", "ppt_file_path": f"{env.home}/talk.pptx", "slide_index": 0, "dest": "a.mp3"}
    got = GETTERS["audio_in_slide"](env, ctx, spec)
    assert got is not None and open(got, "rb").read() == b"ID3fake"

    (home / "song.mp3").write_bytes(b"linked")
    linked = _with_media(deck, lambda x: x, [("rIdA", audio_type, f"file://{home / 'song.mp3'}",
                                              ' TargetMode="External"', None)])
    (home / "talk.pptx").write_bytes(linked.read_bytes())
    got = GETTERS["audio_in_slide"](env, ctx, spec)
    assert got is not None and open(got, "rb").read() == b"linked"
    assert GETTERS["audio_in_slide"](env, ctx, {**spec, "slide_index": 3}) is None
    assert GETTERS["audio_in_slide"](env, ctx, {**spec, "ppt_file_path": f"{env.home}/none.pptx"}) is None


def test_background_image_in_slide(tmp_path):
    env, home, ctx = _getter_env(tmp_path)
    deck = tmp_path / "deck.pptx"
    _deck(deck, slides=1, picture=False)
    image_type = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
    background = ('<p:bg><p:bgPr><a:blipFill><a:blip r:embed="rIdBg"/></a:blipFill>'
                  '<a:effectLst/></p:bgPr></p:bg>').encode()

    def add_background(xml):
        return xml.replace(b"<p:cSld>", b"<p:cSld>" + background, 1)

    png = _png("green").getvalue()
    with_bg = _with_media(deck, add_background, [("rIdBg", image_type, "../media/bg.png", "", png)])
    (home / "slides.pptx").write_bytes(with_bg.read_bytes())
    spec = {"type": "background_image_in_slide", "ppt_file_path": f"{env.home}/slides.pptx",
            "slide_index": 0, "dest": "bg.png"}
    got = GETTERS["background_image_in_slide"](env, ctx, spec)
    assert got is not None and open(got, "rb").read() == png
    (home / "slides.pptx").write_bytes(deck.read_bytes())  # no background picture
    assert GETTERS["background_image_in_slide"](env, ctx, spec) is None
