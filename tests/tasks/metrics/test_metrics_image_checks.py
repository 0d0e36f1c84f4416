import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from kimicua.tasks.metrics import image_checks as m


def test_check_image_size(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (128, 64)).save(path)
    assert m.check_image_size(str(path), {"height": 64, "width": 128}) == 1.0
    assert m.check_image_size(str(path), {"height": 64}) == 1.0
    assert m.check_image_size(str(path), {"height": 128, "width": 128}) == 0.0
    assert m.check_image_size(None, {"height": 64}) == 0.0


def test_check_image_size_ignores_transparent_margins_when_asked(tmp_path):
    img = Image.new("RGBA", (300, 700), (0, 0, 0, 0))
    img.paste(Image.new("RGBA", (100, 512), (200, 10, 10, 255)), (50, 90))
    path = tmp_path / "dog.png"
    img.save(path)
    assert m.check_image_size(str(path), {"height": 512, "ignore_transparent": True}) == 1.0
    assert m.check_image_size(str(path), {"height": 512}) == 0.0  # the canvas is 700 tall
    assert m.check_image_size(str(path), {"height": 700}) == 1.0


def test_check_image_file_size(tmp_path):
    path = tmp_path / "c.jpeg"
    path.write_bytes(b"x" * 1000)
    assert m.check_image_file_size(str(path), {"max_size": 1001}) == 1.0
    assert m.check_image_file_size(str(path), {"max_size": 1000}) == 0.0
    assert m.check_image_file_size(None, {"max_size": 10}) == 0.0


def test_check_green_background(tmp_path):
    ref = np.zeros((40, 40, 3), np.uint8)
    ref[:, :20] = 255  # background on the left, black object on the right
    green = np.zeros((40, 40, 3), np.uint8)
    green[:, :20] = (10, 200, 30)
    green[:, 20:] = (200, 0, 0)  # the object may have any colour
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(green).save(tmp_path / "green.png")
    assert m.check_green_background(str(tmp_path / "green.png"), str(tmp_path / "ref.png")) == 1.0
    green[5, 5] = (200, 200, 30)  # one background pixel not green
    Image.fromarray(green).save(tmp_path / "almost.png")
    assert m.check_green_background(str(tmp_path / "almost.png"), str(tmp_path / "ref.png")) == 0.0
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "wide.png")
    with pytest.raises(ValueError, match="non-square"):
        m.check_green_background(str(tmp_path / "green.png"), str(tmp_path / "wide.png"))
    assert m.check_green_background(None, str(tmp_path / "ref.png")) == 0.0


def test_compare_image_text_matches_the_read_text(tmp_path, monkeypatch):
    monkeypatch.setattr(m, "_ocr_text", lambda path: "user@host:~$ 1s -l")
    assert m.compare_image_text("shot.png", {"type": "text", "text": "1s"}) == 1.0
    assert m.compare_image_text("shot.png", {"type": "text", "text": "ls"}) == 0.0
    assert m.compare_image_text(None, {"type": "text", "text": "ls"}) == 0.0
    with pytest.raises(ValueError, match="rule type"):
        m.compare_image_text("shot.png", {"type": "regex", "text": "ls"})


@pytest.mark.skipif(shutil.which("tesseract") is not None, reason="tesseract is installed")
def test_compare_image_text_names_the_missing_ocr_binary(tmp_path):
    Image.new("RGB", (20, 20), "white").save(tmp_path / "t.png")
    with pytest.raises(RuntimeError, match="tesseract-ocr"):
        m.compare_image_text(str(tmp_path / "t.png"), {"type": "text", "text": "ls"})


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs the tesseract binary (tesseract-ocr)")
def test_compare_image_text_reads_a_rendered_word(tmp_path):
    img = Image.new("RGB", (400, 120), "white")
    ImageDraw.Draw(img).text((20, 20), "HELLO WORLD", fill="black", font=ImageFont.load_default(size=48))
    img.save(tmp_path / "t.png")
    assert m.compare_image_text(str(tmp_path / "t.png"), {"type": "text", "text": "HELLO"}) == 1.0
    assert m.compare_image_text(str(tmp_path / "t.png"), {"type": "text", "text": "GOODBYE"}) == 0.0
