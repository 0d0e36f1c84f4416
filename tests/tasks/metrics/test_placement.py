"""Where a drawn thing sits: GIMP's text box and triangle checks on images drawn here."""

import pytest
from PIL import Image, ImageDraw

from kimicua.tasks.metrics.placement import check_textbox_on_leftside, check_triangle_position


def _save(tmp_path, name, image):
    path = tmp_path / name
    image.save(path)
    return str(path)


def test_check_textbox_on_leftside(tmp_path):
    def text_at(x):
        image = Image.new("RGB", (200, 100), "white")
        ImageDraw.Draw(image).rectangle([x, 40, x + 30, 50], fill="black")
        return image

    assert check_textbox_on_leftside(_save(tmp_path, "left.png", text_at(3))) == 1.0
    assert check_textbox_on_leftside(_save(tmp_path, "mid.png", text_at(80))) == 0.0
    assert check_textbox_on_leftside(_save(tmp_path, "blank.png", Image.new("RGB", (200, 100), "white"))) == 0.0
    assert check_textbox_on_leftside(None) == 0.0


def _triangle(tmp_path, name, points):
    image = Image.new("RGB", (100, 100), "white")
    ImageDraw.Draw(image).polygon(points, fill="red")
    return _save(tmp_path, name, image)


def test_check_triangle_position(tmp_path):
    # Two colours: index 1 (least frequent first) is the white background, whose
    # centroid is central exactly when the triangle is, as in OSWorld.
    assert check_triangle_position(_triangle(tmp_path, "mid.png", [(40, 60), (60, 60), (50, 40)])) == 1.0
    assert check_triangle_position(_triangle(tmp_path, "half.png", [(0, 0), (99, 0), (0, 99)])) == 0.0
    # A small triangle in a corner barely moves the background's centroid: it passes.
    assert check_triangle_position(_triangle(tmp_path, "corner.png", [(0, 30), (30, 30), (15, 0)])) == 1.0
    three = Image.new("RGB", (100, 100), "white")  # with a third, rarest colour the triangle is index 1
    ImageDraw.Draw(three).polygon([(0, 30), (30, 30), (15, 0)], fill="red")
    three.putpixel((99, 99), (0, 0, 255))
    assert check_triangle_position(_save(tmp_path, "three.png", three)) == 0.0
    assert check_triangle_position(None) == 0.0
    with pytest.raises(ValueError, match="colour image"):
        check_triangle_position(_save(tmp_path, "grey.png", Image.new("L", (10, 10))))
