"""PDF metrics: compare_pdfs (text similarity), check_pdf_pages (page count),
compare_pdf_images (embedded images by perceptual hash).

OSWorld reads PDFs with PyMuPDF; here pypdf does (PyMuPDF is AGPL). Both extract the
text in content-stream order, but their spacing and line breaks can differ, so a
compare_pdfs similarity below 1 may differ slightly from OSWorld's; identical texts
score 1 with either.
"""

from __future__ import annotations

import io
import operator
from pathlib import Path
from typing import Any

from kimicua.tasks.metrics.registry import metric

_RELATIONS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
              "gt": operator.gt, "ge": operator.ge}
_HASH_THRESHOLD = 5  # differing bits of two 64-bit perceptual hashes still "the same image"


def _text(path: Any) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() or "" for page in PdfReader(path).pages).strip()


@metric
def compare_pdfs(pdf1_path: Any, pdf2_path: Any) -> float:
    """Mean text similarity (rapidfuzz ratio) of paired PDFs (two paths or two lists);
    a pair that cannot be read counts 0."""
    from rapidfuzz import fuzz

    if not isinstance(pdf2_path, list):
        pdf1_path, pdf2_path = [pdf1_path], [pdf2_path]
    if not pdf2_path:
        return 0.0
    total = 0.0
    for a, b in zip(pdf1_path or [], pdf2_path):
        try:
            total += fuzz.ratio(_text(a), _text(b)) / 100
        except Exception:  # noqa: BLE001 - OSWorld scores an unreadable pair 0 and goes on
            continue
    return total / len(pdf2_path)


@metric
def check_pdf_pages(pdf_file: Any, rules: dict[str, Any]) -> float:
    """1 when the page count stands in ``rules["relation"]`` (eq, lt, ...) to
    ``rules["ref_value"]``."""
    from pypdf import PdfReader

    if pdf_file is None:
        return 0.0
    relation = _RELATIONS.get(rules["relation"])
    if relation is None:
        raise ValueError(f"unknown relation {rules['relation']!r} (one of {sorted(_RELATIONS)})")
    return float(relation(len(PdfReader(pdf_file).pages), rules["ref_value"]))


def phash(image) -> "Any":
    """The 64-bit perceptual hash (as imagehash.phash): the signs of the 8x8 lowest DCT
    frequencies of the 32x32 grey image against their median, as a bool array."""
    import numpy as np
    from PIL import Image
    from scipy.fft import dct

    pixels = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=float)
    low = dct(dct(pixels, axis=0), axis=1)[:8, :8]
    return low > np.median(low)


def _images(path: Any) -> list:
    from PIL import Image
    from pypdf import PdfReader

    found = []
    for page in PdfReader(path).pages:
        for item in page.images:
            try:
                found.append(Image.open(io.BytesIO(item.data)))
            except Exception:  # noqa: BLE001 - OSWorld skips an image it cannot open
                continue
    return found


@metric
def compare_pdf_images(pdf1_path: Any, pdf2_path: Any, **options: Any) -> float:
    """The share of paired embedded images (page order) whose perceptual hashes differ
    in at most 5 bits; 0 when the counts differ, 1 when neither has images."""
    if not pdf1_path or not pdf2_path or not (Path(pdf1_path).exists() and Path(pdf2_path).exists()):
        return 0.0
    images1, images2 = _images(pdf1_path), _images(pdf2_path)
    if len(images1) != len(images2):
        return 0.0
    if not images1:
        return 1.0
    same = sum(int((phash(a) != phash(b)).sum()) <= _HASH_THRESHOLD for a, b in zip(images1, images2))
    return same / len(images1)
