"""Metrics over files and archives (OSWorld's general.py, vscode.py and chrome.py's
compare_archive): regex line checks, SQL over a database, Python sources, zip contents."""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from kimicua.tasks.metrics.registry import METRICS, metric

SUITE_TIMEOUT_S = 120
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)")
# compare_archive's file_type -> the metric that compares two extracted files.
_ARCHIVE_METRICS = {"text": "compare_text_file", "pdf": "compare_pdfs", "docx": "compare_docx_files",
                    "ppt": "compare_pptx_files", "image": "compare_images", "csv": "compare_csv",
                    "table": "compare_table", "audio": "compare_audios", "video": "compare_videos"}


@metric
def check_list(result: Any, rules: dict[str, list[str]]) -> float:
    """1 when every ``expect`` regex matches some line of the file and no ``unexpect``
    regex matches any line (lines keep their newline, as OSWorld reads them)."""
    if result is None:
        return 0.0
    expect = [re.compile(p) for p in rules.get("expect", [])]
    unexpect = [re.compile(p) for p in rules.get("unexpect", [])]
    found = [False] * len(expect)
    with open(result, encoding="utf-8") as f:
        for line in f:
            found = [hit or p.search(line) is not None for hit, p in zip(found, expect)]
            if any(p.search(line) for p in unexpect):
                return 0.0
    return float(all(found))


@metric
def check_line_number(result: Any, rules: dict[str, Any]) -> float:
    """1 when the number of lines holding a clock time (HH:MM:SS) equals ``rules["expected"]``."""
    if result is None or not os.path.isfile(result):
        return 0.0
    with open(result, encoding="utf-8") as f:
        count = sum(1 for line in f if _TIME.search(line))
    return float(count == int(rules["expected"]))


def _pure_python(text: str) -> str:
    """Non-empty lines, tabs expanded to 4, trailing blanks cut; a shebang or coding line
    among the first three lines is skipped."""
    lines = text.splitlines()
    start = 0
    while start < min(3, len(lines)) and lines[start].strip().startswith(("#!", "# -*- coding:", "# coding:", "# coding=")):
        start += 1
    return "\n".join(line.expandtabs(4).rstrip() for line in lines[start:] if line.strip())


@metric
def compare_python_pure_text(result: Any, expected: Any) -> float:
    """1 when two Python files are equal up to blank lines, tabs and trailing blanks."""
    if not result or not expected:
        return 0.0
    try:
        ours = Path(result).read_text(encoding="utf-8")
        gold = Path(expected).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0.0
    return float(_pure_python(ours) == _pure_python(gold))


@metric
def run_sqlite3(result: Any, rules: dict[str, Any]) -> float:
    """The first column of the first row ``rules["sql"]`` returns from the database, as a
    float (NULL or 0 is 0); an error scores 0."""
    if not result or not os.path.isfile(result):
        return 0.0
    try:
        connection = sqlite3.connect(result)
        try:
            row = connection.execute(rules["sql"]).fetchone()
        finally:
            connection.close()
        return float(row[0] or 0)
    except (sqlite3.Error, TypeError, ValueError):
        return 0.0


@metric
def fuzzy_place_math(result: Any, rules: dict[str, Any]) -> float:
    """The mean, over the document's words (exactly 3 are required), of each word's best
    fuzzy ratio (0..1) against the ``expected`` answers."""
    if result is None:
        return 0.0
    from docx import Document
    from rapidfuzz import fuzz

    words = [w for para in Document(result).paragraphs for w in para.text.split()]
    if len(words) != 3:
        return 0.0
    return sum(max([fuzz.ratio(w, a) / 100 for a in rules["expected"]] + [0.0]) for w in words) / 3


@metric
def check_python_file_by_test_suite(actual_files: Any, test_file: Any, **options: Any) -> float:
    """Run the test file's ``test_function_name`` (default ``test``) in a fresh Python with
    the test's folder as working directory and first import path (the getters put the
    agent's files there); its result clipped to 0..1 is the score, a failure 0."""
    if not test_file or not Path(test_file).is_file():
        return 0.0
    # -P: the runner's own folder must not shadow the test's imports.
    command = [sys.executable, "-P", str(Path(__file__).with_name("suite_runner.py")),
               str(Path(test_file).resolve()), options.get("test_function_name", "test")]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 0.0
    scores = [line.split(":", 1)[1] for line in proc.stdout.splitlines() if line.startswith("__SCORE__:")]
    if proc.returncode != 0 or not scores:
        return 0.0
    return float(scores[-1])


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@metric
def compare_zip_files(actual: Any, expected: Any) -> float:
    """1 when both zips hold the same names with the same bytes; PDFs only need a text
    similarity of at least 0.95."""
    if not actual:
        return 0.0
    with zipfile.ZipFile(actual) as ours, zipfile.ZipFile(expected) as gold:
        names = set(ours.namelist())
        if names != set(gold.namelist()):
            return 0.0
        for name in names:
            a, b = ours.read(name), gold.read(name)
            if name.lower().endswith(".pdf"):
                if SequenceMatcher(None, _pdf_text(a), _pdf_text(b)).ratio() < 0.95:
                    return 0.0
            elif a != b:
                return 0.0
    return 1.0


def _unpack(archive: str, folder: str) -> None:
    """Extract a zip or (compressed) tar archive, whatever its file name says."""
    if zipfile.is_zipfile(archive):
        shutil.unpack_archive(archive, folder, format="zip")
    elif tarfile.is_tarfile(archive):
        shutil.unpack_archive(archive, folder, format="tar", filter="data")
    else:
        raise ValueError(f"compare_archive: {archive} is neither a zip nor a tar archive")


@metric
def compare_archive(pred: Any, gold: Any, **options: Any) -> float:
    """Extract both archives and compare the files under ``file_path`` (default the top
    folder): the same names, then the mean score of each pair by the metric for
    ``file_type`` (text, pdf, docx, ppt, image, csv, table, audio, video; default text),
    which receives the other options."""
    if not pred:
        return 0.0
    sub = options.pop("file_path", "")
    kind = options.pop("file_type", "text")
    if kind not in _ARCHIVE_METRICS:
        raise ValueError(f"compare_archive: unknown file_type {kind!r}")
    compare = METRICS.get(_ARCHIVE_METRICS[kind])
    if compare is None:
        raise ValueError(f"compare_archive: metric {_ARCHIVE_METRICS[kind]!r} for file_type {kind!r} is not available")
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        _unpack(pred, ours)
        _unpack(gold, theirs)
        names = sorted(os.listdir(os.path.join(ours, sub)))
        if names != sorted(os.listdir(os.path.join(theirs, sub))):
            return 0.0
        if not names:
            raise ValueError(f"compare_archive: no files under {sub or 'the top folder'!r}")
        scores = [compare(os.path.join(ours, sub, n), os.path.join(theirs, sub, n), **options) for n in names]
    return float(sum(scores) / len(scores))
