"""Hand-made grounding sets in each benchmark's official layout (tiny PNGs + JSON).

The boxes are placed so that reading a file's convention wrongly changes answers:
ScreenSpot's [x, y, w, h] read as [x1, y1, x2, y2] ends before it starts or leaves the
centre out; Pro's [x1, y1, x2, y2] read as [x, y, w, h] takes in the "outside" points
below; OSWorld-G's triangle is not its bounding box. Each sample comes with the points
the tests use: its box's centre and a point outside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

W, H = 200, 100  # every screenshot


def png(path: Path, w: int = W, h: int = H, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


# --- ScreenSpot v1 / v2: bbox [x, y, w, h] ---------------------------------------------------
# (split, image, instruction, bbox xywh, data_type, centre, outside)
SCREENSPOT = [
    ("mobile", "m1.png", "open settings", [120, 40, 30, 20], "text", (135, 50), (155, 50)),
    ("mobile", "m1.png", "the back arrow", [60, 30, 40, 50], "icon", (80, 55), (30, 55)),
    ("desktop", "d1.png", "save the file", [100, 60, 40, 20], "text", (120, 70), (120, 90)),
    ("desktop", "d1.png", "the gear icon", [150, 10, 20, 20], "icon", (160, 20), (140, 20)),
    ("web", "w1.png", "search box", [70, 50, 60, 30], "text", (100, 65), (100, 45)),
    ("web", "w1.png", "the logo", [110, 70, 30, 20], "icon", (125, 80), (125, 60)),
]


def write_screenspot(root: Path, version: str = "v2", *, normalised: bool = False,
                     image_dir: str | None = None) -> Path:
    """screenspot_<split>[_v2].json and the images; ``normalised`` writes the public
    mirror's [x1, y1, x2, y2] in 0..1 instead."""
    image_dir = image_dir or ("screenspot_imgs" if version == "v1" else "screenspotv2_image")
    suffix = "" if version == "v1" else "_v2"
    by_split: dict[str, list[dict]] = {}
    for split, image, instruction, (x, y, w, h), kind, _, _ in SCREENSPOT:
        bbox = [x / W, y / H, (x + w) / W, (y + h) / H] if normalised else [x, y, w, h]
        by_split.setdefault(split, []).append(
            {"img_filename": image, "bbox": bbox, "instruction": instruction, "data_type": kind,
             "data_source": "test"})
        png(root / image_dir / image, seed=len(image))
    for split, items in by_split.items():
        (root / f"screenspot_{split}{suffix}.json").write_text(json.dumps(items))
    return root


# --- ScreenSpot-Pro: bbox [x1, y1, x2, y2], annotations/<app>_<os>.json ------------------------
# (file, id, image, instruction, bbox xyxy, ui_type, group, application, platform, centre, outside)
# Each "outside" point lies in the box that reading [x1, y1, x2, y2] as [x, y, w, h] gives.
PRO = [
    ("vscode_macos", "vscode_macos_0", "vscode_mac/a.png", "refresh the explorer", [20, 10, 60, 30],
     "icon", "Dev", "vscode", "macos", (40, 20), (70, 35)),
    ("vscode_macos", "vscode_macos_1", "vscode_mac/a.png", "open the terminal", [100, 40, 140, 70],
     "text", "Dev", "vscode", "macos", (120, 55), (180, 90)),
    ("photoshop_windows", "photoshop_windows_0", "photoshop_win/b.png", "the brush tool", [50, 50, 90, 60],
     "icon", "Creative", "photoshop", "windows", (70, 55), (120, 80)),
    ("photoshop_windows", "photoshop_windows_1", "photoshop_win/b.png", "layer menu", [150, 20, 190, 40],
     "text", "Creative", "photoshop", "windows", (170, 30), (195, 50)),
]


def write_pro(root: Path) -> Path:
    files: dict[str, list[dict]] = {}
    for (name, sid, image, instruction, bbox, kind, group, app, platform, _, _) in PRO:
        files.setdefault(name, []).append(
            {"img_filename": image, "bbox": bbox, "instruction": instruction,
             "instruction_cn": f"cn:{instruction}", "id": sid, "application": app, "platform": platform,
             "img_size": [W, H], "ui_type": kind, "group": group})
        png(root / "images" / image, seed=len(image))
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for name, items in files.items():
        (root / "annotations" / f"{name}.json").write_text(json.dumps(items))
    return root


# --- OSWorld-G: bbox [x, y, w, h], polygon, refusal ---------------------------------------------
TRIANGLE = [10, 10, 90, 10, 10, 90]  # right angle at (10, 10); the hypotenuse runs (90,10)-(10,90)
# (id, instruction, box_type, coordinates, centre-or-None, outside-or-None)
OSWORLD_G = [
    ("g-bbox", "click the funnel button", "bbox", [60, 30, 80, 40], (100, 50), (150, 50)),
    ("g-poly", "the triangle", "polygon", TRIANGLE, (30, 30), (80, 80)),
    ("g-refuse", "the pink unicorn", "refusal", [-1, -1, -1, -1], None, (50, 50)),
    ("g-bbox2", "the search field", "bbox", [10, 60, 40, 30], (30, 75), (60, 75)),
]
GROUPS = {"text_matching": ["g-bbox", "g-bbox2"], "element_recognition": ["g-bbox", "g-poly"],
          "refusal": ["g-refuse"]}  # g-bbox sits in two groups


def write_osworld_g(root: Path, *, classification: bool = True) -> Path:
    items = []
    for sid, instruction, box_type, coords, _, _ in OSWORLD_G:
        items.append({"id": sid, "image_path": f"{sid}.png", "image_size": [W, H], "instruction": instruction,
                      "box_type": box_type, "box_coordinates": coords, "GUI_types": ["Button"]})
        png(root / "images" / f"{sid}.png", seed=len(sid))
    root.mkdir(parents=True, exist_ok=True)
    (root / "OSWorld-G.json").write_text(json.dumps(items))
    if classification:
        classified = {g: [{"id": i} for i in ids] for g, ids in GROUPS.items()}
        (root / "classification_result.json").write_text(json.dumps({"classified": classified}))
    return root


def write_lines(path: Path, lines: list) -> Path:
    """A predictions file: dicts as JSON lines, strings as they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path
