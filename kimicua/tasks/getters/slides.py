"""Getters of media inside a presentation (OSWorld names): the audio of a slide and the
picture a slide uses as its background.

The .pptx is snapshotted like ``vm_file``; an embedded file is extracted next to it in
the cache, a linked one (``file://``) is copied from the env's files as ``dest``.
Either returns None when the deck, the slide or the media is missing.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.local import vm_file
from kimicua.tasks.getters.registry import getter

_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_BG_PR = "{http://schemas.openxmlformats.org/presentationml/2006/main}bgPr"
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"


def _deck(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    path = spec["ppt_file_path"]
    return vm_file(env, ctx, {"path": path, "dest": PurePosixPath(path).name})


def _media(env, ctx: RunContext, spec: dict[str, Any], deck: str, zf: zipfile.ZipFile,
           kind: str, rel_id: str | None) -> str | None:
    """The first relationship of slide ``slide_index`` whose type mentions ``kind`` (and
    whose id is ``rel_id`` when given), as a local file."""
    rels = f"ppt/slides/_rels/slide{int(spec['slide_index']) + 1}.xml.rels"
    if rels not in zf.namelist():
        return None
    for rel in ET.fromstring(zf.read(rels)).iter(_RELS):
        if kind not in rel.get("Type", "") or (rel_id is not None and rel.get("Id") != rel_id):
            continue
        target = rel.get("Target", "")
        if target.startswith(".."):
            member = posixpath.normpath(posixpath.join("ppt/slides", target))
            if member.startswith("../") or member not in zf.namelist():
                return None
            # Extracted beside the deck, under the part's own path, as OSWorld does.
            return zf.extract(member, Path(deck).parent)
        if not target.startswith("file://"):
            raise ValueError(f"{kind} of slide {spec['slide_index']}: unexpected target {target!r}")
        return vm_file(env, ctx, {"path": unquote(urlsplit(target).path), "dest": spec["dest"]})
    return None


@getter
def audio_in_slide(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """The audio a slide plays (``ppt_file_path``, ``slide_index`` from 0, ``dest``)."""
    deck = _deck(env, ctx, spec)
    if deck is None:
        return None
    with zipfile.ZipFile(deck) as zf:
        return _media(env, ctx, spec, deck, zf, "audio", None)


@getter
def background_image_in_slide(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """The picture a slide's background is filled with (``ppt_file_path``,
    ``slide_index`` from 0, ``dest``); None when its background is not a picture."""
    deck = _deck(env, ctx, spec)
    if deck is None:
        return None
    with zipfile.ZipFile(deck) as zf:
        slide = f"ppt/slides/slide{int(spec['slide_index']) + 1}.xml"
        if slide not in zf.namelist():
            return None
        image_id = None
        for background in ET.fromstring(zf.read(slide)).iter(_BG_PR):
            blip = next(background.iter(_BLIP), None)
            if blip is not None and blip.get(_EMBED):
                image_id = blip.get(_EMBED)
                break
        if image_id is None:
            return None
        return _media(env, ctx, spec, deck, zf, "image", image_id)
