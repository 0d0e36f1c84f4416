"""Reading each benchmark's files: conventions (and saying which was read), layouts, and
one-line errors that name the file for data that is not the format."""

from __future__ import annotations

import json

import pytest
from screenspot_sets import PRO, SCREENSPOT, W, H, png, write_osworld_g, write_pro, write_screenspot

from kimicua.tasks.screenspot import Absent, Box, FormatError, Polygon, ProOptions, find_images, load
from kimicua.tasks.screenspot.images import image_size


def test_v1_boxes_become_corner_boxes_in_pixels(tmp_path):
    write_screenspot(tmp_path, "v1")
    dataset = load(tmp_path, "v1")
    assert [s.target for s in dataset.samples] == [Box(x, y, x + w, y + h) for _, _, _, (x, y, w, h), *_ in SCREENSPOT]
    assert [dict(s.tags)["split"] for s in dataset.samples] == [("mobile",)] * 2 + [("desktop",)] * 2 + [("web",)] * 2
    assert [s.kind for s in dataset.samples] == [s[4] for s in SCREENSPOT]
    assert dataset.notes == [f"screenspot_{split}.json: bbox read as [x, y, w, h] in pixels"
                             for split in ("mobile", "desktop", "web")]
    assert dataset.samples[0].key == "m1.png\nopen settings" and dataset.samples[0].id is None


def test_v1_and_v2_files_are_told_apart(tmp_path):
    write_screenspot(tmp_path, "v2")
    with pytest.raises(FormatError, match=r"no ScreenSpot v1 annotation files \(like screenspot_mobile.json\)"):
        load(tmp_path, "v1")
    write_screenspot(tmp_path, "v1")  # both in one folder: each reads its own
    assert len(load(tmp_path, "v1").samples) == len(load(tmp_path, "v2").samples) == 6


def test_the_normalised_v2_mirror_is_detected_and_said(tmp_path):
    pixels = load(write_screenspot(tmp_path / "a", "v2"), "v2")
    root = write_screenspot(tmp_path / "b", "v2", normalised=True)
    mirror = load(root, "v2", sizes=lambda name: image_size(root / "screenspotv2_image", name))
    for p, m in zip(pixels.samples, mirror.samples):
        assert (m.target.x1, m.target.y1, m.target.x2, m.target.y2) == pytest.approx(
            (p.target.x1, p.target.y1, p.target.x2, p.target.y2))
    assert mirror.notes == [f"screenspot_{s}_v2.json: bbox read as normalised [x1, y1, x2, y2] (every value <= 1), "
                            "scaled by each image's size" for s in ("mobile", "desktop", "web")]
    with pytest.raises(FormatError, match="normalised .* needs the images"):
        load(root, "v2")


def test_one_annotation_file_can_be_given(tmp_path):
    write_screenspot(tmp_path, "v2")
    dataset = load(tmp_path / "screenspot_web_v2.json", "v2")
    assert [dict(s.tags)["split"] for s in dataset.samples] == [("web",), ("web",)]
    assert find_images(tmp_path / "screenspot_web_v2.json", "v2") == tmp_path / "screenspotv2_image"


def test_images_folder_is_the_first_that_exists_or_the_one_given(tmp_path):
    assert find_images(tmp_path, "v1") is None
    for name in ("screenspotv2_image", "screenspot_imgs", "images"):
        (tmp_path / name).mkdir()
        assert find_images(tmp_path, "v1") == tmp_path / name
    assert find_images(tmp_path, "v1", tmp_path / "screenspot_imgs") == tmp_path / "screenspot_imgs"
    with pytest.raises(FormatError, match=r"nowhere: no such images folder \(--images\)"):
        find_images(tmp_path, "v1", tmp_path / "nowhere")


def test_pro_boxes_instructions_and_tags(tmp_path):
    write_pro(tmp_path)
    dataset = load(tmp_path, "pro")
    first = dataset.samples[0]  # files in name order: photoshop_windows first
    assert first.id == first.key == "photoshop_windows_0" and first.image == "photoshop_win/b.png"
    assert first.target == Box(50, 50, 90, 60) and first.kind == "icon" and first.instruction == "the brush tool"
    assert dict(first.tags) == {"group": ("Creative",), "application": ("photoshop",), "platform": ("windows",)}
    assert dataset.tables == ("group", "application", "platform")
    cn = load(tmp_path / "annotations" / "vscode_macos.json", "pro", pro=ProOptions(language="cn"))
    assert [s.instruction for s in cn.samples] == [f"cn:{p[3]}" for p in PRO[:2]]
    negative = load(tmp_path, "pro", pro=ProOptions(gt_type="negative"))
    assert all(isinstance(s.target, Absent) for s in negative.samples)
    assert "every sample is scored as negative: only a decline is correct" in negative.notes


def test_pro_options_follow_the_official_script():
    with pytest.raises(ValueError, match="--language cn takes only --inst-style instruction and --gt-type positive"):
        ProOptions(language="cn", gt_type="negative")
    with pytest.raises(ValueError, match="--inst-style must be one of instruction, action, description"):
        ProOptions(inst_style="shout")


def test_pro_style_without_its_field_names_the_file(tmp_path):
    write_pro(tmp_path)
    with pytest.raises(FormatError, match=r"photoshop_windows.json: item 0 has no 'action'"):
        load(tmp_path, "pro", pro=ProOptions(inst_style="action"))


def test_screenspot_boxes_read_as_pro_are_refused(tmp_path):
    # [x, y, w, h] with w < x is not a corner box: reading v1 data as Pro fails loudly
    write_screenspot(tmp_path, "v1")
    (tmp_path / "annotations").mkdir()
    items = [{"img_filename": "m1.png", "bbox": [120, 40, 30, 20], "instruction": "x", "ui_type": "text"}]
    (tmp_path / "annotations" / "app_linux.json").write_text(json.dumps(items))
    with pytest.raises(FormatError, match=r"app_linux.json: item 0: bbox is not \[x1, y1, x2, y2\]"):
        load(tmp_path, "pro")


def test_osworld_g_targets(tmp_path):
    write_osworld_g(tmp_path)
    dataset = load(tmp_path, "osworld-g")
    targets = [s.target for s in dataset.samples]
    assert targets == [Box(60, 30, 140, 70), Polygon(((10, 10), (90, 10), (10, 90))), Absent(), Box(10, 60, 50, 90)]
    assert dict(dataset.samples[0].tags) == {"box type": ("bbox",), "group": ("text_matching", "element_recognition")}
    assert all(s.kind is None for s in dataset.samples)


def test_osworld_g_refined_file_is_read_when_it_is_the_one_there(tmp_path):
    write_osworld_g(tmp_path)
    (tmp_path / "OSWorld-G.json").rename(tmp_path / "OSWorld-G_refined.json")
    assert load(tmp_path, "osworld-g").notes[0].startswith("OSWorld-G_refined.json: ")


@pytest.mark.parametrize("text, message", [
    ("{nope", r"data.json: not JSON"),
    ('{"a": 1}', r"data.json: expected a JSON list of annotation objects"),
    ('[{"img_filename": "a.png", "instruction": "x", "box_type": "bbox", "id": "1", "image_path": "a.png"}]',
     r"data.json: item 0: box_coordinates must be 4 numbers, got None"),
    ('[{"id": "1", "image_path": "a.png", "instruction": "x", "box_type": "polygon", "box_coordinates": [1, 2, 3]}]',
     r"data.json: item 0: a polygon needs an even number \(>= 6\) of coordinates, got 3"),
    ('[{"id": "1", "image_path": "a.png", "instruction": "x", "box_type": "circle", "box_coordinates": []}]',
     r"data.json: item 0: box_type must be bbox, polygon or refusal, got 'circle'"),
    ('[{"id": "1", "image_path": "a.png", "instruction": "", "box_type": "refusal", "box_coordinates": []}]',
     r"data.json: item 0: instruction must be a non-empty string"),
    ("[]", r"data.json: no samples"),
])
def test_bad_osworld_g_files_are_one_line_naming_the_file(tmp_path, text, message):
    (tmp_path / "data.json").write_text(text)
    with pytest.raises(FormatError, match=message) as err:
        load(tmp_path / "data.json", "osworld-g")
    assert "\n" not in str(err.value)


def test_bad_screenspot_box_and_kind(tmp_path):
    png(tmp_path / "images" / "a.png")
    bad = [{"img_filename": "a.png", "bbox": [1, 2, 3, True], "instruction": "x", "data_type": "text"}]
    (tmp_path / "screenspot_web.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match=r"screenspot_web.json: item 0: bbox must be 4 numbers"):
        load(tmp_path, "v1")
    bad[0].update(bbox=[1, 2, 3, 4], data_type="button")
    (tmp_path / "screenspot_web.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match=r"item 0: data_type must be text or icon, got 'button'"):
        load(tmp_path, "v1")


def test_missing_data_and_unknown_format(tmp_path):
    with pytest.raises(FormatError, match=r"nothing: no such file or folder \(--data\)"):
        load(tmp_path / "nothing", "v2")
    with pytest.raises(ValueError, match="unknown format 'v3'"):
        load(tmp_path, "v3")


def test_repeated_keys_are_noted(tmp_path):
    png(tmp_path / "images" / "a.png")
    item = {"img_filename": "a.png", "bbox": [1, 2, 3, 4], "instruction": "x", "data_type": "text"}
    (tmp_path / "screenspot_web.json").write_text(json.dumps([item, item]))
    dataset = load(tmp_path, "v1")
    assert "1 sample(s) repeat another's key (id, or image and instruction): they share one prediction" in dataset.notes


def test_image_size_reads_the_header(tmp_path):
    png(tmp_path / "x.png", 37, 21)
    assert (image_size(tmp_path, "x.png").width, image_size(tmp_path, "x.png").height) == (37, 21)
    with pytest.raises(FormatError, match="y.png: no such image"):
        image_size(tmp_path, "y.png")
    assert (W, H) == (200, 100)
