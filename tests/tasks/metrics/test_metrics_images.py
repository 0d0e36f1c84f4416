import numpy as np
import pytest
from PIL import Image, ImageDraw

from kimicua.tasks.metrics import images as m


def scene(size=(64, 48), seed=0) -> Image.Image:
    """A picture with structure: a colour gradient, a dark box and a light disc."""
    w, h = size
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    rgb = np.concatenate([x * 200 + 30 + 0 * y, y * 180 + 40 + 0 * x, (x + y) * 90 + 20], axis=2)
    img = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(seed)
    fx, fy = rng.uniform(0.05, 0.5, size=2)  # where the box sits, as a fraction of the size
    x0, y0 = int(fx * w), int(fy * h)
    draw.rectangle([x0, y0, x0 + w // 3, y0 + h // 3], fill=(20, 30, 40))
    draw.ellipse([w // 2, h // 2, w - 3, h - 3], fill=(240, 230, 200))
    return img


def save(img: Image.Image, tmp_path, name: str) -> str:
    path = tmp_path / name
    img.save(path)
    return str(path)


def test_check_structure_sim(tmp_path):
    ref = save(scene(), tmp_path, "ref.png")
    assert m.check_structure_sim(save(scene(), tmp_path, "same.png"), ref) == 1.0
    assert m.check_structure_sim(save(scene(seed=5), tmp_path, "moved.png"), ref) == 0.0
    assert m.check_structure_sim(save(scene((48, 64)), tmp_path, "other_size.png"), ref) == 0.0
    assert m.check_structure_sim(str(tmp_path / "missing.png"), ref) == 0.0
    assert m.check_structure_sim(None, ref) == 0.0


def test_check_structure_sim_resized_crops_transparent_margins(tmp_path):
    ref = save(scene(), tmp_path, "ref.png")
    canvas = Image.new("RGBA", (90, 70), (0, 0, 0, 0))
    canvas.paste(scene(), (9, 7))
    assert m.check_structure_sim_resized(save(canvas, tmp_path, "framed.png"), ref) == 1.0
    # Without the crop the transparent frame would be resized in and break the structure.
    assert m.check_structure_sim(save(canvas.resize((64, 48)), tmp_path, "uncropped.png"), ref) == 0.0
    assert m.check_structure_sim_resized(save(scene((32, 24), seed=7), tmp_path, "small.png"), ref) == 0.0
    assert m.check_structure_sim_resized(save(scene((128, 96)), tmp_path, "big.png"), ref) == 1.0
    empty = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    assert m.check_structure_sim_resized(save(empty, tmp_path, "empty.png"), ref) == 0.0


def test_check_structure_sim_with_threshold(tmp_path):
    ref = save(scene(), tmp_path, "ref.png")
    assert m.check_structure_sim_with_threshold(save(scene((128, 96)), tmp_path, "big.png"), ref) == 1.0
    noisy = np.asarray(scene(), dtype=np.int16) + np.random.default_rng(1).integers(-40, 40, (48, 64, 3))
    noisy_path = save(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), tmp_path, "noisy.png")
    assert m.check_structure_sim_with_threshold(noisy_path, ref, ssim_threshold=0.1) == 1.0
    assert m.check_structure_sim_with_threshold(noisy_path, ref, ssim_threshold=0.99) == 0.0
    assert m.check_structure_sim_with_threshold(str(tmp_path / "nope.png"), ref) == 0.0


def test_check_file_exists_and_structure_sim(tmp_path):
    ref = save(scene(), tmp_path, "ref.jpg")
    assert m.check_file_exists_and_structure_sim(save(scene(), tmp_path, "export.jpg"), ref) == 1.0
    assert m.check_file_exists_and_structure_sim(str(tmp_path / "none.jpg"), ref) == 0.0
    assert m.check_file_exists_and_structure_sim(save(scene(seed=9), tmp_path, "x.jpg"), ref) == 0.0


def scaled(img: Image.Image, factor: float) -> Image.Image:
    return Image.fromarray(np.clip(np.asarray(img, dtype=np.float32) * factor, 0, 255).astype(np.uint8))


def test_check_brightness_decrease_and_structure_sim(tmp_path):
    ref = save(scene(), tmp_path, "ref.png")
    assert m.check_brightness_decrease_and_structure_sim(save(scaled(scene(), 0.6), tmp_path, "dark.png"), ref) == 1.0
    assert m.check_brightness_decrease_and_structure_sim(save(scaled(scene(), 1.1), tmp_path, "light.png"), ref) == 0.0
    # Darker but a different picture: the normalised MSE is above 0.03 ...
    other = save(scaled(Image.fromarray(255 - np.asarray(scene())), 0.5), tmp_path, "other.png")
    assert m.check_brightness_decrease_and_structure_sim(other, ref) == 0.0
    # ... and under the task's looser threshold option it passes.
    assert m.check_brightness_decrease_and_structure_sim(other, ref, threshold=0.5) == 1.0


def test_check_contrast_increase_and_structure_sim(tmp_path):
    base = scene()
    ref = save(base, tmp_path, "ref.png")
    mean = np.asarray(base, dtype=np.float32).mean()
    stretched = np.clip((np.asarray(base, dtype=np.float32) - mean) * 1.4 + mean, 0, 255).astype(np.uint8)
    flat = np.clip((np.asarray(base, dtype=np.float32) - mean) * 0.7 + mean, 0, 255).astype(np.uint8)
    assert m.check_contrast_increase_and_structure_sim(save(Image.fromarray(stretched), tmp_path, "c.png"), ref) == 1.0
    assert m.check_contrast_increase_and_structure_sim(save(Image.fromarray(flat), tmp_path, "f.png"), ref) == 0.0


def test_check_saturation_increase_and_structure_sim(tmp_path):
    base = scene()
    ref = save(base, tmp_path, "ref.png")
    h, s, v = base.convert("HSV").split()
    more = Image.merge("HSV", (h, s.point(lambda x: min(255, int(x * 1.5))), v)).convert("RGB")
    less = Image.merge("HSV", (h, s.point(lambda x: int(x * 0.5)), v)).convert("RGB")
    assert m.check_saturation_increase_and_structure_sim(save(more, tmp_path, "more.png"), ref) == 1.0
    assert m.check_saturation_increase_and_structure_sim(save(less, tmp_path, "less.png"), ref) == 0.0
    assert m.check_saturation_increase_and_structure_sim(save(scene(seed=3), tmp_path, "o.png"), ref) == 0.0


def test_check_palette_and_structure_sim(tmp_path):
    ref = save(scene(), tmp_path, "ref.png")
    palette = scene().quantize(colors=256)
    assert palette.mode == "P"
    assert m.check_palette_and_structure_sim(save(palette, tmp_path, "p.png"), ref) == 1.0
    assert m.check_palette_and_structure_sim(save(scene(), tmp_path, "rgb.png"), ref) == 0.0


def test_check_image_mirror(tmp_path):
    ref = save(scene(), tmp_path, "ref.png")
    mirrored = scene().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert m.check_image_mirror(save(mirrored, tmp_path, "mirror.png"), ref) == 1.0
    flipped = scene().transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    assert m.check_image_mirror(save(flipped, tmp_path, "flip.png"), ref) == 0.0
    assert m.check_image_mirror(ref, ref) == 0.0


def test_compare_images_scores_ssim_and_rebases(tmp_path):
    ref = save(scene(), tmp_path, "ref.png")
    assert m.compare_images(save(scene(), tmp_path, "same.png"), ref) == pytest.approx(1.0)
    other = save(scene(seed=4), tmp_path, "other.png")
    raw = m.compare_images(other, ref)
    assert 0.0 < raw < 0.99
    assert m.compare_images(other, ref, reference_base_result=raw - 0.2) == pytest.approx(0.2 / (1 - raw + 0.2))
    assert m.compare_images(other, ref, reference_base_result=raw) == 0.0  # within 0.01 of the base
    # The larger image is resized to the smaller one before comparing.
    assert m.compare_images(save(scene((128, 96)), tmp_path, "big.png"), ref) > 0.9
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert m.compare_images(str(empty), ref) == 0.0
    assert m.compare_images(None, ref) == 0.0


def test_compare_image_list(tmp_path):
    a, b = save(scene(), tmp_path, "a.png"), save(scene(), tmp_path, "b.png")
    changed = scene()
    changed.putpixel((3, 3), (0, 255, 0))
    c = save(changed, tmp_path, "c.png")
    assert m.compare_image_list([a, a], [b, b]) == 1.0
    assert m.compare_image_list(a, b) == 1.0
    assert m.compare_image_list([a, c], [b, b]) == 0.0
    assert m.compare_image_list([a, None], [b, b]) == 0.0
