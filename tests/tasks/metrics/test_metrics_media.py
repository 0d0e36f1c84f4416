import numpy as np
import pytest
from PIL import Image

from kimicua.tasks.metrics import audio, media

soundfile = pytest.importorskip("soundfile")
cv2 = pytest.importorskip("cv2")

SR = audio.SAMPLE_RATE
MELODY = [440, 660, 550, 880, 330, 440, 990, 220]


def tones(freqs, seconds=0.25, sr=SR) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return np.concatenate([0.5 * np.sin(2 * np.pi * f * t) for f in freqs]).astype(np.float32)


@pytest.fixture
def sounds(tmp_path):
    paths = {}
    for name, samples, sr in [("melody", tones(MELODY), SR), ("slower", tones(MELODY, 0.3), SR),
                              ("melody44k", tones(MELODY, sr=44100), 44100),
                              ("other", tones([300, 1200, 200, 700, 1500, 250, 600, 100]), SR),
                              ("empty", np.zeros(0, np.float32), SR)]:
        paths[name] = str(tmp_path / f"{name}.wav")
        soundfile.write(paths[name], samples, sr)
    paths["mp3"] = str(tmp_path / "melody.mp3")
    soundfile.write(paths["mp3"], tones(MELODY), SR, format="MP3")
    paths["corrupt"] = str(tmp_path / "corrupt.mp3")
    (tmp_path / "corrupt.mp3").write_bytes(b"not audio at all")
    return paths


def test_compare_audios_scores_the_same_tune_high_and_another_low(sounds):
    assert media.compare_audios(sounds["melody"], sounds["melody"]) == pytest.approx(1.0)
    assert media.compare_audios(sounds["melody"], sounds["slower"]) > 0.95  # warping absorbs the tempo
    assert media.compare_audios(sounds["melody"], sounds["melody44k"]) > 0.99  # resampled to 22050 Hz
    assert media.compare_audios(sounds["melody"], sounds["mp3"]) > 0.9  # decoded, encoder delay warped away
    assert media.compare_audios(sounds["melody"], sounds["other"]) < 0.6


def test_compare_audios_empty_or_unreadable_files(sounds):
    assert media.compare_audios(sounds["melody"], sounds["empty"]) == 0.0
    assert media.compare_audios(sounds["corrupt"], sounds["melody"]) == 0.0
    assert media.compare_audios(sounds["empty"], sounds["corrupt"]) == 1.0  # both bad: "perfectly similar"
    assert media.compare_audios(None, sounds["melody"]) == 0.0


def test_load_mono_averages_channels_and_resamples(tmp_path):
    left, right = tones([440], 0.5, 44100), np.zeros(22050, np.float32)
    soundfile.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 44100)
    y = audio.load_mono(str(tmp_path / "s.wav"))
    assert y.dtype == np.float32 and y.size == SR // 2
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) * SR / y.size == pytest.approx(440, abs=2)
    assert np.abs(y).max() == pytest.approx(0.25, abs=0.02)  # half of the left channel's 0.5


def test_mel_scale_and_filters():
    assert audio._hz_to_mel(np.array(1000.0)) == pytest.approx(15.0)  # Slaney: linear up to 1 kHz
    assert audio._hz_to_mel(np.array(6400.0)) == pytest.approx(42.0)  # then 27 mels per factor 6.4
    hz = np.array([0.0, 500.0, 1000.0, 4000.0, 11025.0])
    assert audio._mel_to_hz(audio._hz_to_mel(hz)) == pytest.approx(hz)
    filters = audio.mel_filters()
    assert filters.shape == (128, 1025)
    # Slaney normalisation: each triangle has unit area in Hz (wide upper filters sample it well).
    bin_hz = SR / audio.N_FFT
    assert (filters[64:] * bin_hz).sum(axis=1) == pytest.approx(np.ones(64), rel=0.02)


def test_mfcc_shape_and_frame_count():
    y = tones([440], 1.0)
    m = audio.mfcc(y)
    assert m.shape == (20, 1 + y.size // audio.HOP)


def brute_dtw(x, y):
    cost = np.array([[1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b) for b in y] for a in x])
    acc = np.full((len(x) + 1, len(y) + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return acc[-1, -1]


def test_fastdtw_matches_dtw_on_short_series_and_bounds_it_on_long_ones():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(3, 3))
    distance, path = audio.fastdtw(x, y)
    assert distance == pytest.approx(brute_dtw(x, y))  # below radius + 2 frames it is plain DTW
    x, y = rng.normal(size=(40, 4)), rng.normal(size=(33, 4))
    distance, path = audio.fastdtw(x, y)
    assert distance >= brute_dtw(x, y) - 1e-9  # a constrained path never beats the optimum
    assert path[0] == (0, 0) and path[-1] == (39, 32)
    steps = {(i2 - i1, j2 - j1) for (i1, j1), (i2, j2) in zip(path, path[1:])}
    assert steps <= {(1, 0), (0, 1), (1, 1)}
    same, diagonal = audio.fastdtw(x, x)
    assert same == pytest.approx(0.0, abs=1e-12) and diagonal == [(i, i) for i in range(40)]


def frames(count, seed=0, size=(64, 48)):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        x, y = rng.integers(0, size[0] - 16), rng.integers(0, size[1] - 16)
        img[y:y + 16, x:x + 16] = (255, 200, 50)
        img[:, : 4 + k % 8] = 90
        out.append(img)
    return out


def write_video(path, images):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (images[0].shape[1], images[0].shape[0]))
    for img in images:
        writer.write(img)
    writer.release()
    return str(path)


def test_compare_videos(tmp_path):
    a = write_video(tmp_path / "a.avi", frames(12))
    same = write_video(tmp_path / "same.avi", frames(12))
    shorter = write_video(tmp_path / "short.avi", frames(11))
    other = write_video(tmp_path / "other.avi", frames(12, seed=1))
    assert media.compare_videos(a, same) == 1.0
    assert media.compare_videos(a, shorter) == 0.0
    assert media.compare_videos(a, other) == 0.0
    # Only the first frames are looked at when asked.
    assert media.compare_videos(a, shorter, max_frames_to_check=5) == 1.0


def test_phash():
    img = Image.fromarray(frames(1)[0])
    assert not np.any(media.phash(img) != media.phash(img.resize((128, 96))))
    assert media.phash(img).shape == (8, 8)
    assert np.count_nonzero(media.phash(img) != media.phash(Image.fromarray(frames(1, seed=3)[0]))) > 5


def test_check_mp3_meta(tmp_path):
    from mutagen.easyid3 import EasyID3

    path = tmp_path / "song.mp3"
    soundfile.write(path, tones([440], 0.2), SR, format="MP3")
    tags = EasyID3()
    tags["title"], tags["artist"] = "Missing You", ["Cheng", "Xiang"]
    tags.save(path)
    rules = {"title": {"method": "eq", "ref": "Missing You"}, "artist": {"method": "eq", "ref": "Cheng,Xiang"}}
    assert media.check_mp3_meta(str(path), rules) == 1.0
    assert media.check_mp3_meta(str(path), {"title": {"method": "eq", "ref": "Missing Me"}}) == 0.0
    assert media.check_mp3_meta(str(path), {"album": {"method": "eq", "ref": ""}}) == 1.0  # absent tag is ""
    assert media.check_mp3_meta(str(path), {"title": {"method": "re", "ref": "^Missing"}}) == 1.0
    assert media.check_mp3_meta(None, rules) == 0.0
