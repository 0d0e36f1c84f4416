"""The grounding benchmarks' annotation files, read into one Sample type.

Layouts, as published (../shared formats.md section 4):

- ScreenSpot v1: ``screenspot_{mobile,desktop,web}.json``; v2:
  ``screenspot_{mobile,desktop,web}_v2.json``. Items: img_filename, bbox ``[x, y, w, h]``
  in pixels, instruction, data_type (text/icon), data_source. The split is the file's.
  One public mirror of v2 stores ``bbox`` as normalised ``[x1, y1, x2, y2]``: a file whose
  every bbox value is <= 1 is read that way (scaled by each image's size), and a note
  says which convention each file was read with.
- ScreenSpot-Pro: ``annotations/<app>_<os>.json``. Items: id, img_filename, bbox
  ``[x1, y1, x2, y2]`` in pixels, img_size, instruction, instruction_cn, application,
  platform, group, ui_type.
- OSWorld-G: ``OSWorld-G.json`` (or ``OSWorld-G_refined.json``). Items: id, image_path,
  image_size, instruction, box_type with box_coordinates: bbox ``[x, y, w, h]``, polygon
  ``[x1, y1, x2, y2, ...]`` or refusal (nothing matches). ``classification_result.json``
  beside it, when present, puts items in groups.

Every box becomes a Box in ``[x1, y1, x2, y2]`` image pixels, so nothing downstream knows
which convention a file used.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kimicua.env.geometry import Size

FORMATS = ("v1", "v2", "pro", "osworld-g")
INST_STYLES = ("instruction", "action", "description")
LANGUAGES = ("en", "cn")
GT_TYPES = ("positive", "negative")
IMAGE_DIRS = ("images", "screenspot_imgs", "screenspotv2_image")
_SPLIT_ORDER = ("mobile", "desktop", "web")


class FormatError(ValueError):
    """Annotation data that is not the format asked for; the message is one line naming the file."""


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in image pixels, edges included."""

    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True, slots=True)
class Polygon:
    """A polygon in image pixels, its vertices in order."""

    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Absent:
    """No element matches the instruction: only a decline is correct."""


Target = Box | Polygon | Absent


@dataclass(frozen=True, slots=True)
class Sample:
    """One instruction on one screenshot.

    ``key`` matches predictions to samples: the annotation's ``id``, else image and
    instruction. ``image`` is the file's path under the images folder; ``kind`` is
    text/icon where the format has it; ``tags`` give the rows of the per-split tables,
    ``(table, (row, ...))`` (an OSWorld-G item may sit in several groups).
    """

    key: str
    image: str
    instruction: str
    target: Target
    id: str | None = None
    kind: str | None = None
    tags: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class Dataset:
    """The samples of one benchmark, the notes on how its files were read, and the
    per-split tables its report has (in order)."""

    format: str
    root: Path
    samples: list[Sample]
    notes: list[str] = field(default_factory=list)
    tables: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProOptions:
    """ScreenSpot-Pro's evaluation settings (its official script's flags). The official
    script takes Chinese instructions only for the instruction style and positive samples."""

    inst_style: str = "instruction"
    language: str = "en"
    gt_type: str = "positive"

    def __post_init__(self):
        for name, value, allowed in (("--inst-style", self.inst_style, INST_STYLES),
                                     ("--language", self.language, LANGUAGES),
                                     ("--gt-type", self.gt_type, GT_TYPES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.language == "cn" and (self.inst_style != "instruction" or self.gt_type != "positive"):
            raise ValueError("--language cn takes only --inst-style instruction and --gt-type positive "
                             "(as ScreenSpot-Pro's own script)")


ImageSizes = Callable[[str], Size]  # image path under the images folder -> its size


def data_root(data: Path, fmt: str) -> Path:
    """The folder the images are looked for in: ``data`` itself, or the folder of an
    annotation file (a Pro file's ``annotations/`` parent)."""
    if data.is_dir():
        return data
    parent = data.parent
    return parent.parent if fmt == "pro" and parent.name == "annotations" else parent


def find_images(data: Path, fmt: str, images: Path | None = None) -> Path | None:
    """``images`` when given (it must be a folder), else the first of IMAGE_DIRS in the data root."""
    if images is not None:
        if not images.is_dir():
            raise FormatError(f"{images}: no such images folder (--images)")
        return images
    root = data_root(data, fmt)
    return next((root / name for name in IMAGE_DIRS if (root / name).is_dir()), None)


def load(data: Path, fmt: str, *, pro: ProOptions = ProOptions(), sizes: ImageSizes | None = None) -> Dataset:
    """Read the ``fmt`` benchmark at ``data`` (its folder, or one annotation file).
    ``sizes`` gives an image's size: only the normalised v2 mirror needs it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not data.exists():
        raise FormatError(f"{data}: no such file or folder (--data)")
    if fmt in ("v1", "v2"):
        dataset = _load_screenspot(data, fmt, sizes)
    elif fmt == "pro":
        dataset = _load_pro(data, pro)
    else:
        dataset = _load_osworld_g(data)
    if not dataset.samples:
        raise FormatError(f"{data}: no samples in the {fmt} annotations")
    shared = sum(n - 1 for n in Counter(s.key for s in dataset.samples).values() if n > 1)
    if shared:
        dataset.notes.append(f"{shared} sample(s) repeat another's key (id, or image and instruction): "
                             "they share one prediction")
    return dataset


# --- ScreenSpot v1 / v2 -------------------------------------------------------------------

_SPLIT_FILE = {"v1": re.compile(r"screenspot_([a-z]+)\.json"), "v2": re.compile(r"screenspot_([a-z]+)_v2\.json")}


def _split_order(item: tuple[str, Path]) -> tuple[int, str]:
    split = item[0]
    return (_SPLIT_ORDER.index(split) if split in _SPLIT_ORDER else len(_SPLIT_ORDER), split)


def _load_screenspot(data: Path, fmt: str, sizes: ImageSizes | None) -> Dataset:
    pattern = _SPLIT_FILE[fmt]
    if data.is_dir():
        files = [(m.group(1), p) for p in data.iterdir() if (m := pattern.fullmatch(p.name))]
        if not files:
            example = "screenspot_mobile.json" if fmt == "v1" else "screenspot_mobile_v2.json"
            raise FormatError(f"{data}: no ScreenSpot {fmt} annotation files (like {example})")
    else:
        m = pattern.fullmatch(data.name)
        files = [(m.group(1) if m else data.stem, data)]
    samples: list[Sample] = []
    notes: list[str] = []
    for split, path in sorted(files, key=_split_order):
        items = _read_items(path)
        boxes = [_numbers(item, "bbox", path, i, count=4) for i, item in enumerate(items)]
        normalised = all(0 <= v <= 1 for box in boxes for v in box)
        if normalised:
            if sizes is None:
                raise FormatError(f"{path}: boxes are normalised [x1, y1, x2, y2]; scaling them needs the images")
            notes.append(f"{path.name}: bbox read as normalised [x1, y1, x2, y2] (every value <= 1), "
                         "scaled by each image's size")
        else:
            notes.append(f"{path.name}: bbox read as [x, y, w, h] in pixels")
        for i, (item, b) in enumerate(zip(items, boxes)):
            image = _text(item, "img_filename", path, i)
            if normalised:
                size = sizes(image)
                box = Box(b[0] * size.width, b[1] * size.height, b[2] * size.width, b[3] * size.height)
            else:
                box = Box(b[0], b[1], b[0] + b[2], b[1] + b[3])
            _check_box(box, path, i)
            instruction = _text(item, "instruction", path, i)
            samples.append(Sample(
                key=_key(None, image, instruction), image=image, instruction=instruction, target=box,
                kind=_kind(item, "data_type", path, i), tags=(("split", (split,)),),
            ))
    return Dataset(fmt, data, samples, notes, tables=("split",))


# --- ScreenSpot-Pro ---------------------------------------------------------------------------


def _load_pro(data: Path, options: ProOptions) -> Dataset:
    if data.is_dir():
        folder = data / "annotations" if (data / "annotations").is_dir() else data
        files = sorted(folder.glob("*.json"))
        if not files:
            raise FormatError(f"{folder}: no ScreenSpot-Pro annotation files (annotations/<app>_<os>.json)")
    else:
        files = [data]
    samples: list[Sample] = []
    field_name = "instruction_cn" if options.language == "cn" else options.inst_style
    for path in files:
        for i, item in enumerate(_read_items(path)):
            x1, y1, x2, y2 = _numbers(item, "bbox", path, i, count=4)
            box = Box(x1, y1, x2, y2)
            _check_box(box, path, i, hint="[x1, y1, x2, y2]")
            image = _text(item, "img_filename", path, i)
            if field_name not in item:
                raise FormatError(f"{path}: item {i} has no {field_name!r} (asked for by "
                                  f"--inst-style {options.inst_style} --language {options.language})")
            instruction = _text(item, field_name, path, i)
            sample_id = _text(item, "id", path, i) if "id" in item else None
            tags = tuple((name, (_text(item, name, path, i) if name in item else "unknown",))
                         for name in ("group", "application", "platform"))
            target = Absent() if options.gt_type == "negative" else box
            samples.append(Sample(
                key=_key(sample_id, image, instruction), image=image, instruction=instruction,
                target=target, id=sample_id, kind=_kind(item, "ui_type", path, i), tags=tags,
            ))
    notes = ["bbox read as [x1, y1, x2, y2] in pixels (ScreenSpot-Pro)",
             f"--inst-style {options.inst_style} --language {options.language} --gt-type {options.gt_type}"]
    if options.gt_type == "negative":
        notes.append("every sample is scored as negative: only a decline is correct")
    return Dataset("pro", data, samples, notes, tables=("group", "application", "platform"))


# --- OSWorld-G --------------------------------------------------------------------------------

OSWORLD_G_FILES = ("OSWorld-G.json", "OSWorld-G_refined.json")
CLASSIFICATION_FILE = "classification_result.json"


def _load_osworld_g(data: Path) -> Dataset:
    if data.is_dir():
        path = next((data / n for n in OSWORLD_G_FILES if (data / n).is_file()), None)
        if path is None:
            raise FormatError(f"{data}: no OSWorld-G annotation file ({' or '.join(OSWORLD_G_FILES)})")
    else:
        path = data
    notes = [f"{path.name}: bbox read as [x, y, w, h] in pixels, polygon as [x1, y1, x2, y2, ...]; "
             "refusal items are correct only when the model declines"]
    groups = _classification(path.parent / CLASSIFICATION_FILE)
    if groups is None:
        notes.append(f"no {CLASSIFICATION_FILE} beside {path.name}: no per-group table")
    samples: list[Sample] = []
    for i, item in enumerate(_read_items(path)):
        box_type = _text(item, "box_type", path, i)
        if box_type == "bbox":
            x, y, w, h = _numbers(item, "box_coordinates", path, i, count=4)
            target: Target = Box(x, y, x + w, y + h)
            _check_box(target, path, i)
        elif box_type == "polygon":
            flat = _numbers(item, "box_coordinates", path, i)
            if len(flat) < 6 or len(flat) % 2:
                raise FormatError(f"{path}: item {i}: a polygon needs an even number (>= 6) of coordinates, "
                                  f"got {len(flat)}")
            target = Polygon(tuple(zip(flat[0::2], flat[1::2])))
        elif box_type == "refusal":
            target = Absent()
        else:
            raise FormatError(f"{path}: item {i}: box_type must be bbox, polygon or refusal, got {box_type!r}")
        sample_id = _text(item, "id", path, i)
        image = _text(item, "image_path", path, i)
        instruction = _text(item, "instruction", path, i)
        tags: tuple[tuple[str, tuple[str, ...]], ...] = (("box type", (box_type,)),)
        if groups is not None:
            tags += (("group", tuple(groups.get(sample_id, ())) or ("unclassified",)),)
        samples.append(Sample(key=_key(sample_id, image, instruction), image=image, instruction=instruction,
                              target=target, id=sample_id, tags=tags))
    tables = ("box type",) + (("group",) if groups is not None else ())
    return Dataset("osworld-g", data, samples, notes, tables=tables)


def _classification(path: Path) -> dict[str, list[str]] | None:
    """OSWorld-G's ``{"classified": {group: [{"id": ...}, ...]}}`` as id -> groups."""
    if not path.is_file():
        return None
    data = _read_json(path)
    classified = data.get("classified") if isinstance(data, dict) else None
    if not isinstance(classified, dict):
        raise FormatError(f"{path}: expected {{\"classified\": {{group: [{{\"id\": ...}}, ...]}}}}")
    groups: dict[str, list[str]] = {}
    for group, members in classified.items():
        if not isinstance(members, list):
            raise FormatError(f"{path}: group {group!r} is not a list")
        for member in members:
            if isinstance(member, dict) and isinstance(member.get("id"), str):
                ids = groups.setdefault(member["id"], [])
                if group not in ids:
                    ids.append(group)
    return groups


# --- reading and checking ---------------------------------------------------------------------


def _key(sample_id: str | None, image: str, instruction: str) -> str:
    return sample_id if sample_id is not None else f"{image}\n{instruction}"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None
    except ValueError as err:
        raise FormatError(f"{path}: not JSON ({str(err).splitlines()[0]})") from None
    except OSError as err:
        raise FormatError(f"{path}: cannot read ({err.strerror or err})") from None


def _read_items(path: Path) -> list[dict]:
    items = _read_json(path)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FormatError(f"{path}: expected a JSON list of annotation objects")
    return items


def _text(item: dict, key: str, path: Path, i: int) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise FormatError(f"{path}: item {i}: {key} must be a non-empty string, got {value!r}"[:300])
    return value


def _numbers(item: dict, key: str, path: Path, i: int, count: int | None = None) -> list[float]:
    value = item.get(key)
    ok = isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    if not ok or (count is not None and len(value) != count):
        want = f"{count} numbers" if count else "a list of numbers"
        raise FormatError(f"{path}: item {i}: {key} must be {want}, got {value!r}"[:300])
    return [float(v) for v in value]


def _check_box(box: Box, path: Path, i: int, hint: str = "[x, y, w, h]") -> None:
    if box.x2 < box.x1 or box.y2 < box.y1:
        raise FormatError(f"{path}: item {i}: bbox is not {hint} (it ends before it starts)")


def _kind(item: dict, key: str, path: Path, i: int) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if value not in ("text", "icon"):
        raise FormatError(f"{path}: item {i}: {key} must be text or icon, got {value!r}"[:300])
    return value
