"""The audio features OSWorld's compare_audios uses, in numpy/scipy: librosa's defaults
(mono at 22050 Hz, MFCC from a 128-band Slaney mel power spectrogram in dB) and the
FastDTW approximation (radius 1) of the dynamic time warping distance.

Decoding goes through soundfile (WAV, FLAC, OGG, MP3). Where librosa resamples with soxr
this uses a polyphase filter, so scores can differ from OSWorld's in the third decimal.
"""

from __future__ import annotations

from math import gcd

import numpy as np

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 512
N_MELS = 128
N_MFCC = 20
TOP_DB = 80.0
AMIN = 1e-10


def load_mono(path: str, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The file's samples as float32 mono at ``sr`` Hz (channels averaged)."""
    import soundfile
    from scipy.signal import resample_poly

    data, native = soundfile.read(path, dtype="float32", always_2d=True)
    y = data.mean(axis=1)
    if native != sr and y.size:
        g = gcd(native, sr)
        y = resample_poly(y, sr // g, native // g)
    return y.astype(np.float32)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    # Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_part = f >= 1000.0
    return np.where(log_part, 15.0 + np.log(np.maximum(f, 1e-12) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def mel_filters(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular Slaney-normalised mel filters, [n_mels, 1 + n_fft // 2]."""
    fft_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]


def mfcc(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """MFCCs [20, frames] of a mono signal (centred frames, zero padding, Hann window)."""
    from scipy.fft import dct, rfft
    from scipy.signal import get_window

    padded = np.pad(y.astype(np.float64), N_FFT // 2)
    n_frames = 1 + (padded.size - N_FFT) // HOP
    if n_frames < 1:
        raise ValueError(f"audio too short for a {N_FFT}-sample frame ({y.size} samples)")
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]  # [frames, N_FFT]
    power = np.abs(rfft(padded[index] * get_window("hann", N_FFT), axis=1)) ** 2  # [frames, bins]
    mel = mel_filters(sr) @ power.T  # [n_mels, frames]
    db = 10.0 * np.log10(np.maximum(AMIN, mel))
    db = np.maximum(db, db.max() - TOP_DB)
    return dct(db, type=2, axis=0, norm="ortho")[:N_MFCC]


def normalise_rows(m: np.ndarray) -> np.ndarray:
    """Each row divided by its largest magnitude (rows of zeros left as they are)."""
    peak = np.abs(m).max(axis=1, keepdims=True)
    peak[peak < np.finfo(m.dtype).tiny] = 1.0
    return m / peak


def _cosine(x: np.ndarray, y: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Cosine distance between x[i] and y[j] for each (i, j) row of ``cells``."""
    a, b = x[cells[:, 0]], y[cells[:, 1]]
    dot = np.einsum("ij,ij->i", a, b)
    with np.errstate(invalid="ignore", divide="ignore"):  # a zero vector gives NaN, as scipy's does
        return np.clip(1.0 - dot / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)), 0.0, 2.0)


def _dtw(x: np.ndarray, y: np.ndarray, cells: list[tuple[int, int]]) -> tuple[float, list[tuple[int, int]]]:
    """DTW restricted to ``cells`` (row-major). Ties prefer a step from above, then from
    the left, then the diagonal, as fastdtw does; returns (distance, path)."""
    cost = _cosine(x, y, np.asarray(cells, dtype=np.int64))
    best: dict[tuple[int, int], tuple[float, int, int]] = {(-1, -1): (0.0, -1, -1)}
    inf = (float("inf"), 0, 0)
    for (i, j), c in zip(cells, cost.tolist()):
        up, left, diag = best.get((i - 1, j), inf), best.get((i, j - 1), inf), best.get((i - 1, j - 1), inf)
        step = min(((up[0], i - 1, j), (left[0], i, j - 1), (diag[0], i - 1, j - 1)), key=lambda t: t[0])
        best[i, j] = (step[0] + c, step[1], step[2])
    path = []
    i, j = len(x) - 1, len(y) - 1
    while (i, j) != (-1, -1):
        path.append((i, j))
        _, i, j = best[i, j]
    path.reverse()
    return best[len(x) - 1, len(y) - 1][0], path


def _halve(x: np.ndarray) -> np.ndarray:
    even = len(x) - len(x) % 2
    return (x[0:even:2] + x[1:even:2]) / 2


def _window(path: list[tuple[int, int]], n: int, m: int, radius: int) -> list[tuple[int, int]]:
    """The cells of the finer grid around a coarse path, one contiguous run per row."""
    near = {(i + a, j + b) for i, j in path for a in range(-radius, radius + 1) for b in range(-radius, radius + 1)}
    fine = {(2 * i + a, 2 * j + b) for i, j in near for a in (0, 1) for b in (0, 1)}
    cols: dict[int, list[int]] = {}
    for i, j in fine:
        if 0 <= i < n and 0 <= j < m:
            cols.setdefault(i, []).append(j)
    cells: list[tuple[int, int]] = []
    start = 0
    for i in range(n):
        run = [j for j in sorted(cols.get(i, [])) if j >= start]
        if not run:
            raise ValueError(f"fastdtw window has no cell in row {i}")
        first = last = run[0]
        for j in run[1:]:
            if j != last + 1:
                break
            last = j
        cells.extend((i, j) for j in range(first, last + 1))
        start = first
    return cells


def fastdtw(x: np.ndarray, y: np.ndarray, radius: int = 1) -> tuple[float, list[tuple[int, int]]]:
    """FastDTW (Salvador and Chan) with cosine distance: DTW on halved series, refined
    within ``radius`` of the coarse path; plain DTW below radius + 2 frames."""
    n, m = len(x), len(y)
    if n < radius + 2 or m < radius + 2:
        return _dtw(x, y, [(i, j) for i in range(n) for j in range(m)])
    _, coarse = fastdtw(_halve(x), _halve(y), radius)
    return _dtw(x, y, _window(coarse, n, m, radius))
