"""Audio, video and MP3-tag metrics (OSWorld's vlc.py and others.py)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image

from kimicua.tasks.metrics import audio
from kimicua.tasks.metrics.registry import metric
from kimicua.tasks.metrics.value_rules import match_rule


def _samples_or_none(path: Any) -> np.ndarray | None:
    if not path:
        return None
    try:
        y = audio.load_mono(path)
    except Exception:  # noqa: BLE001 - OSWorld treats an unreadable file as empty
        return None
    return y if y.size else None


@metric
def compare_audios(audio1: Any, audio2: Any) -> float:
    """exp(-d) where d is the FastDTW cosine distance between the row-normalised MFCCs of
    the two files per step of the warping path. Two unreadable or empty files score 1,
    one scores 0."""
    if not audio1 or not audio2:
        return 0.0
    y1, y2 = _samples_or_none(audio1), _samples_or_none(audio2)
    if y1 is None or y2 is None:
        return float(y1 is None and y2 is None)
    m1 = audio.normalise_rows(audio.mfcc(y1))
    m2 = audio.normalise_rows(audio.mfcc(y2))
    distance, path = audio.fastdtw(m1.T, m2.T)
    return float(np.exp(-distance / len(path)))


def phash(image: Image.Image) -> np.ndarray:
    """imagehash's perceptual hash: the 8x8 lowest frequencies of the 2-D DCT of the 32x32
    grey image, each above or below their median. [8, 8] bool."""
    from scipy.fft import dct

    pixels = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    low = dct(dct(pixels, axis=0), axis=1)[:8, :8]
    return low > np.median(low)


@metric
def compare_videos(video1: Any, video2: Any, max_frames_to_check: int = 100, threshold: int = 5) -> float:
    """1 when both videos have the same length (within the first ``max_frames_to_check``
    frames) and at most ``threshold`` of those frames differ by more than ``threshold``
    bits of perceptual hash."""
    import cv2

    if not video1 or not video2:
        return 0.0
    caps = cv2.VideoCapture(str(video1)), cv2.VideoCapture(str(video2))
    try:
        mismatches = 0
        for _ in range(max_frames_to_check):
            (ok1, f1), (ok2, f2) = caps[0].read(), caps[1].read()
            if not ok1 or not ok2:
                return float(ok1 == ok2)
            h1 = phash(Image.fromarray(cv2.cvtColor(f1, cv2.COLOR_BGR2RGB)))
            h2 = phash(Image.fromarray(cv2.cvtColor(f2, cv2.COLOR_BGR2RGB)))
            if int(np.count_nonzero(h1 != h2)) > threshold:
                mismatches += 1
                if mismatches > threshold:
                    return 0.0
        return 1.0
    finally:
        for cap in caps:
            cap.release()


@metric
def check_mp3_meta(result: Any, rules: dict[str, dict[str, Any]]) -> float:
    """1 when each ID3 tag named in ``rules`` (EasyID3 names: title, artist, ...; several
    values joined by ",", a missing tag is "") satisfies its value rule."""
    if result is None:
        return 0.0
    from mutagen.easyid3 import EasyID3

    if not os.path.isfile(result):
        raise FileNotFoundError(f"check_mp3_meta: no file {result}")
    tags = EasyID3(result)
    for key, rule in rules.items():
        value = tags.get(key, "")
        if isinstance(value, list):
            value = ",".join(value)
        if not match_rule(value, rule):
            return 0.0
    return 1.0
