"""Scoring the hand-made sets: every cell of every table against counts done by hand,
for centre points, points outside (inside the box a misread convention would give),
missing and null points, declines and unparseable points."""

from __future__ import annotations

import pytest
from screenspot_sets import OSWORLD_G, PRO, SCREENSPOT, write_lines, write_osworld_g, write_pro, write_screenspot

from kimicua.tasks.screenspot import (
    Absent, Answer, Box, Polygon, ProOptions, judge, load, read_predictions, tally, verdicts,
)
from kimicua.tasks.screenspot.images import image_size
from kimicua.tasks.screenspot.scoring import CORRECT, WRONG, WRONG_FORMAT, hit


def cell(n: int, correct: int = 0, wrong: int = 0, wf: int = 0) -> dict:
    assert correct + wrong + wf == n
    return {"n": n, "correct": correct, "wrong": wrong, "wrong_format": wf,
            "accuracy": correct / n if n else None}


def row(all_, text=None, icon=None) -> dict:
    return {"all": all_, "text": text or cell(0), "icon": icon or cell(0)}


def score(dataset, lines, tmp_path):
    predictions = read_predictions(write_lines(tmp_path / "predictions.jsonl", lines))
    return tally(dataset, verdicts(dataset.samples, predictions)).to_json()


def screenspot_line(i: int, point) -> dict:
    _, image, instruction, *_ = SCREENSPOT[i]
    return {"img_filename": image, "instruction": instruction, "point": point}


@pytest.mark.parametrize("normalised", [False, True])
def test_screenspot_v2_every_cell(tmp_path, normalised):
    write_screenspot(tmp_path, "v2", normalised=normalised)
    dataset = load(tmp_path, "v2", sizes=lambda name: image_size(tmp_path / "screenspotv2_image", name))
    lines = [
        screenspot_line(0, list(SCREENSPOT[0][5])),  # mobile text, centre: correct
        screenspot_line(1, list(SCREENSPOT[1][6])),  # mobile icon, outside: wrong
        # desktop text ("save the file"): no line at all -> wrong_format
        screenspot_line(3, None),  # desktop icon, null point: wrong_format
        {**screenspot_line(4, None), "declined": True},  # web text, a decline where the element is: wrong
        screenspot_line(5, "abc"),  # web icon, unparseable point: wrong_format
    ]
    got = score(dataset, lines, tmp_path)
    assert got["overall"] == row(cell(6, 1, 2, 3), text=cell(3, 1, 1, 1), icon=cell(3, 0, 1, 2))
    assert got["tables"] == {"split": {
        "mobile": row(cell(2, 1, 1, 0), text=cell(1, 1), icon=cell(1, wrong=1)),
        "desktop": row(cell(2, wf=2), text=cell(1, wf=1), icon=cell(1, wf=1)),
        "web": row(cell(2, wrong=1, wf=1), text=cell(1, wrong=1), icon=cell(1, wf=1)),
    }}
    assert list(got["tables"]["split"]) == ["mobile", "desktop", "web"]  # SeeClick's order


def test_screenspot_centres_all_correct_and_outsides_all_wrong(tmp_path):
    # Read as [x1, y1, x2, y2], every box here would miss its own centre.
    write_screenspot(tmp_path, "v1")
    dataset = load(tmp_path, "v1")
    centres = score(dataset, [screenspot_line(i, list(s[5])) for i, s in enumerate(SCREENSPOT)], tmp_path)
    assert centres["overall"] == row(cell(6, 6), text=cell(3, 3), icon=cell(3, 3))
    outsides = score(dataset, [screenspot_line(i, list(s[6])) for i, s in enumerate(SCREENSPOT)], tmp_path)
    assert outsides["overall"] == row(cell(6, wrong=6), text=cell(3, wrong=3), icon=cell(3, wrong=3))


def pro_line(i: int, **fields) -> dict:
    return {"id": PRO[i][1], **fields}


def test_pro_positive_every_view(tmp_path):
    write_pro(tmp_path)
    dataset = load(tmp_path, "pro")
    lines = [
        pro_line(0, point=list(PRO[0][9])),  # Dev/vscode/macos icon: centre -> correct
        pro_line(1, point=list(PRO[1][10])),  # Dev text: outside (inside the [x, y, w, h] misreading) -> wrong
        pro_line(2, point=[90, 60]),  # Creative icon: the box's bottom-right corner -> correct
        # photoshop_windows_1 (Creative text): no line -> wrong_format
    ]
    got = score(dataset, lines, tmp_path)
    assert got["overall"] == row(cell(4, 2, 1, 1), text=cell(2, 0, 1, 1), icon=cell(2, 2))
    dev = row(cell(2, 1, 1), text=cell(1, wrong=1), icon=cell(1, 1))
    creative = row(cell(2, 1, 0, 1), text=cell(1, wf=1), icon=cell(1, 1))
    assert got["tables"] == {"group": {"Dev": dev, "Creative": creative},
                             "application": {"photoshop": creative, "vscode": dev},
                             "platform": {"macos": dev, "windows": creative}}
    assert list(got["tables"]["group"]) == ["Dev", "Creative"]  # the leaderboard's order


def test_pro_negative_only_declines_are_correct(tmp_path):
    write_pro(tmp_path)
    dataset = load(tmp_path, "pro", pro=ProOptions(gt_type="negative"))
    lines = [
        pro_line(0, point=None, declined=True),  # decline -> correct
        pro_line(1, point=list(PRO[1][9])),  # a point, even the centre -> wrong
        pro_line(2, point=None),  # neither -> wrong_format
        pro_line(3, declined=True),  # decline, no point key -> correct
    ]
    got = score(dataset, lines, tmp_path)
    # 0 icon declined, 1 text point, 2 icon nothing, 3 text declined
    assert got["overall"] == row(cell(4, 2, 1, 1), text=cell(2, 1, 1), icon=cell(2, 1, 0, 1))


def osworld_line(i: int, **fields) -> dict:
    return {"id": OSWORLD_G[i][0], **fields}


def test_osworld_g_bbox_polygon_refusal_and_groups(tmp_path):
    write_osworld_g(tmp_path)
    dataset = load(tmp_path, "osworld-g")
    lines = [
        osworld_line(0, point=list(OSWORLD_G[0][4])),  # bbox centre (outside the xyxy misreading) -> correct
        osworld_line(1, point=list(OSWORLD_G[1][5])),  # in the triangle's bounding box, not in it -> wrong
        osworld_line(2, declined=True),  # refusal, declined -> correct
        # g-bbox2: no line -> wrong_format
    ]
    got = score(dataset, lines, tmp_path)
    assert got["overall"] == row(cell(4, 2, 1, 1))  # OSWorld-G has no text/icon labels
    assert got["tables"]["box type"] == {"bbox": row(cell(2, 1, 0, 1)), "polygon": row(cell(1, wrong=1)),
                                         "refusal": row(cell(1, 1))}
    assert list(got["tables"]["group"]) == ["text_matching", "element_recognition", "refusal"]  # its paper's order
    assert got["tables"]["group"] == {"element_recognition": row(cell(2, 1, 1)),
                                      "refusal": row(cell(1, 1)),
                                      "text_matching": row(cell(2, 1, 0, 1))}


def test_osworld_g_polygon_edge_refusal_point_and_no_groups(tmp_path):
    write_osworld_g(tmp_path, classification=False)
    dataset = load(tmp_path, "osworld-g")
    assert dataset.tables == ("box type",) and any("no classification_result.json" in n for n in dataset.notes)
    lines = [
        osworld_line(0, point=list(OSWORLD_G[0][5])),  # outside -> wrong
        osworld_line(1, point=[50, 50]),  # on the hypotenuse: edges count -> correct
        osworld_line(2, point=[50, 50]),  # a point on a refusal -> wrong
        osworld_line(3, point=None),  # -> wrong_format
    ]
    got = score(dataset, lines, tmp_path)
    assert got["overall"] == row(cell(4, 1, 2, 1))
    assert set(got["tables"]) == {"box type"}


def test_unclassified_items_get_their_own_group(tmp_path):
    write_osworld_g(tmp_path)
    (tmp_path / "classification_result.json").write_text('{"classified": {"refusal": [{"id": "g-refuse"}]}}')
    dataset = load(tmp_path, "osworld-g")
    got = score(dataset, [osworld_line(i, point=None, declined=True) for i in range(4)], tmp_path)
    assert got["tables"]["group"] == {"refusal": row(cell(1, 1)), "unclassified": row(cell(3, wrong=3))}


def test_hit_tests_include_edges_and_exclude_just_outside():
    box = Box(10, 20, 30, 40)
    assert all(hit(box, x, y) for x, y in [(10, 20), (30, 40), (10, 40), (20, 30)])
    assert not any(hit(box, x, y) for x, y in [(9.99, 30), (30.01, 30), (20, 19.99), (20, 40.01)])
    tri = Polygon(((10, 10), (90, 10), (10, 90)))
    assert hit(tri, 10, 10) and hit(tri, 50, 10) and hit(tri, 50, 50) and hit(tri, 11, 11)
    assert not hit(tri, 50.1, 50.1) and not hit(tri, 9.9, 50) and not hit(tri, 80, 80)
    # a concave polygon: the notch is outside
    notch = Polygon(((0, 0), (40, 0), (40, 40), (20, 20), (0, 40)))
    assert hit(notch, 5, 30) and hit(notch, 35, 30) and not hit(notch, 20, 30)


def test_judge_covers_each_case():
    box, absent = Box(0, 0, 10, 10), Absent()
    assert judge(box, Answer(point=(5, 5))) == CORRECT
    assert judge(box, Answer(point=(11, 5))) == WRONG
    assert judge(box, Answer(declined=True)) == WRONG
    assert judge(box, Answer()) == WRONG_FORMAT and judge(box, None) == WRONG_FORMAT
    assert judge(box, Answer(point=(float("nan"), 5))) == WRONG_FORMAT
    assert judge(absent, Answer(declined=True)) == CORRECT
    assert judge(absent, Answer(point=(5, 5))) == WRONG
    assert judge(absent, Answer()) == WRONG_FORMAT and judge(absent, None) == WRONG_FORMAT
