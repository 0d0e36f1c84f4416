"""The image rule of docs/kimi-vl.md section 6, checked against a plain PIL + numpy reference."""

import json
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from kimicua.model import image_processor as ip
from kimicua.model.files import CheckpointError
from kimicua.model.image_processor import (
    CLIP_MEAN,
    CLIP_STD,
    ImageProcessorConfig,
    KimiImageProcessor,
    resize_bicubic,
    write_preprocessor_config,
)


def screenshot(w: int = 1920, h: int = 1080, seed: int = 0) -> np.ndarray:
    """Something screenshot-like: flat panels, text, a little noise for hard edges everywhere."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (w, h), (236, 238, 242))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w, 40], fill=(40, 44, 52))
    for i in range(30):
        x, y = int(rng.integers(0, w - 200)), int(rng.integers(50, h - 60))
        d.rectangle([x, y, x + 180, y + 40], fill=tuple(int(c) for c in rng.integers(0, 256, 3)), outline=(0, 0, 0))
        d.text((x + 8, y + 12), f"Button {i} Settings", fill=(0, 0, 0))
    arr = np.asarray(im).copy()
    arr[::7, ::5] = rng.integers(0, 256, arr[::7, ::5].shape, dtype=np.uint8)
    return arr


def reference(img: np.ndarray, cfg: ImageProcessorConfig) -> np.ndarray:
    """The rule written out the obvious way: PIL resize/pad/crop, float normalise, reshape."""
    pil = Image.fromarray(img)
    w, h = pil.size
    p = cfg.patch_size
    if (w // p) * (h // p) > cfg.in_token_limit:
        s = math.sqrt(cfg.in_token_limit / ((w // p) * (h // p)))
        pil = pil.resize((int(w * s), int(h * s)), Image.BICUBIC)
    w, h = pil.size
    if cfg.pad_input:
        m = cfg.merge_kernel_size[0] * p
        canvas = Image.new("RGB", (math.ceil(w / m) * m, math.ceil(h / m) * m))
        canvas.paste(pil, (0, 0))
    else:
        cw, ch = w - w % p, h - h % p
        left, top = int(round((w - cw) / 2)), int(round((h - ch) / 2))
        canvas = pil.crop((left, top, left + cw, top + ch))
    x = np.asarray(canvas).astype(np.float32) / 255.0
    x = (x - np.array(cfg.image_mean, np.float32)) / np.array(cfg.image_std, np.float32)
    H, W = x.shape[:2]
    x = x.transpose(2, 0, 1).reshape(3, H // p, p, W // p, p).transpose(1, 3, 0, 2, 4)
    return x.reshape(-1, 3, p, p)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The processor built from a file with the published Kimi-VL-A3B-Instruct values."""
    path = write_preprocessor_config(tmp_path_factory.mktemp("pp"))
    return KimiImageProcessor.from_pretrained(path.parent)


def test_screenshot_1920x1080_worked_example(published):
    img = screenshot()
    out = published(img)
    g = out.geometry
    assert g.original == (1920, 1080)
    assert g.resized == (1196, 672)
    assert g.padded == (1204, 672)
    assert g.grid_hw == (48, 86) and g.n_tokens == 1032
    assert out.pixel_values.shape == (48 * 86, 3, 14, 14)
    assert out.pixel_values.dtype.is_floating_point and out.pixel_values.element_size() == 4
    np.testing.assert_allclose(out.pixel_values.numpy(), reference(img, published.config), rtol=0, atol=1e-5)


def test_896_square_is_not_resized(published):
    img = screenshot(896, 896, seed=1)
    out = published(img)
    assert out.geometry.resized == out.geometry.padded == (896, 896)
    assert out.geometry.n_tokens == 1024 and out.grid_hw == (64, 64)
    np.testing.assert_allclose(out.pixel_values.numpy(), reference(img, published.config), rtol=0, atol=1e-5)


def test_side_of_512_patches_is_rejected(published):
    with pytest.raises(ValueError, match=r"7168x14 .*512 patches"):
        published(np.zeros((14, 7168, 3), np.uint8))  # 512 x 1 patches: under the token limit
    with pytest.raises(ValueError, match="512 patches"):
        published.plan(20, 7160)  # 511 rows pad up to 512
    assert published.plan(7140, 28).grid_hw == (2, 510)


def test_padding_is_right_bottom_so_relative_points_map_back(published):
    """A marker at relative (0.3, 0.7) of the screenshot is found there through the geometry."""
    img = np.zeros((1080, 1920, 3), np.uint8)
    img[756 - 15 : 756 + 15, 576 - 15 : 576 + 15] = 255  # centred on (0.3 * 1920, 0.7 * 1080)
    out = published(img)
    g = out.geometry
    (gh, gw), p = g.grid_hw, 14
    view = out.pixel_values.numpy().reshape(gh, gw, 3, p, p).transpose(2, 0, 3, 1, 4).reshape(3, gh * p, gw * p)
    ys, xs = np.nonzero(view[0] > 0.0)  # normalised black is -1, the marker +1
    cx, cy = xs.mean() + 0.5, ys.mean() + 0.5  # pixel centres
    ox, oy = g.to_original(cx, cy)
    assert abs(ox - 576) < 1.0 and abs(oy - 756) < 1.0
    assert abs(cx / g.resized[0] - 0.3) < 1e-3 and abs(cy / g.resized[1] - 0.7) < 1e-3
    assert abs(cx / g.padded[0] - 0.3) > 1.5e-3  # the padded width would shift the point
    # the geometry's own arithmetic: relative in resized == relative in original
    for rx, ry in [(0.0, 0.0), (0.3, 0.7), (1.0, 1.0)]:
        x, y = g.to_original(rx * g.resized[0], ry * g.resized[1])
        assert (x / 1920, y / 1080) == pytest.approx((rx, ry), abs=1e-12)
    # padding is black (0 before normalising) at the right edge only
    assert (view[:, :, g.resized[0] :] == -1.0).all() and (view[:, :, : g.resized[0]] != -1.0).any()


def test_mean_std_and_pad_input_are_read_from_the_file(tmp_path):
    write_preprocessor_config(tmp_path, in_token_limit=2000, pad_input=False,
                              image_mean=(0.1, 0.2, 0.3), image_std=(0.9, 0.8, 0.7))
    proc = KimiImageProcessor.from_pretrained(tmp_path)
    c = proc.config
    assert (c.in_token_limit, c.pad_input, c.image_mean, c.image_std) == (2000, False, (0.1, 0.2, 0.3), (0.9, 0.8, 0.7))
    img = screenshot(1000, 701, seed=2)  # 71*50 patches > 2000: resized to 750x526, then cropped
    out = proc(img)
    assert out.geometry.resized == (750, 526)
    assert out.geometry.padded == (742, 518) and out.geometry.crop_offset == (4, 4)
    np.testing.assert_allclose(out.pixel_values.numpy(), reference(img, c), rtol=0, atol=1e-5)

    # torchvision's centre crop rounds half offsets to even: 5 spare columns -> offset 2
    g = KimiImageProcessor(ImageProcessorConfig(pad_input=False)).plan(733, 701)
    assert (g.resized, g.padded, g.crop_offset) == ((733, 701), (728, 700), (2, 0))

    # keys absent -> the processor code's defaults: CLIP mean/std, no padding
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"patch_size": 14}))
    c = KimiImageProcessor.from_pretrained(tmp_path).config
    assert (c.image_mean, c.image_std, c.pad_input, c.in_token_limit) == (CLIP_MEAN, CLIP_STD, False, 4096)


def test_written_config_has_the_published_keys(tmp_path):
    data = json.loads(write_preprocessor_config(tmp_path).read_text())
    assert data == {
        "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "KimiVLImageProcessor",
        "image_std": [0.5, 0.5, 0.5], "in_token_limit": 4096, "merge_kernel_size": [2, 2],
        "num_pooled_tokens": 1024, "pad_input": True, "patch_size": 14,
        "processor_class": "KimiVLProcessor",
    }
    with pytest.raises(CheckpointError, match="missing/preprocessor_config.json: no such file"):
        KimiImageProcessor.from_pretrained(tmp_path / "missing")


@pytest.mark.parametrize("field, value, problem", [
    ("patch_size", "14", 'patch_size is "14", expected an integer'),
    ("pad_input", 1, "pad_input is 1, expected true or false"),
    ("merge_kernel_size", [2], "merge_kernel_size is list, expected a list of 2 numbers"),
    ("image_std", [0.5, 0, 0.5], "image_std[1] is 0.0, expected at least 1e-06"),
    ("in_token_limit", 0, "in_token_limit is 0, expected at least 1"),
])
def test_mistyped_config_fields_are_named(tmp_path, field, value, problem):
    file = write_preprocessor_config(tmp_path)
    data = json.loads(file.read_text())
    data[field] = value
    file.write_text(json.dumps(data))
    with pytest.raises(CheckpointError) as err:
        KimiImageProcessor.from_pretrained(tmp_path)
    assert str(err.value) == f"{file}: not a usable image processor config: {problem}"


@pytest.mark.parametrize("size", [(1920, 1080), (1013, 2411), (2400, 700), (3000, 1001), (640, 2600)])
def test_banded_resize_equals_one_pil_call(size):
    """Both pass orders PIL picks (tall images shrink vertically first in recent Pillow)."""
    w, h = size
    img = np.random.default_rng(w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    for ow, oh in [(int(w * 0.62), int(h * 0.62)), (w - 7, int(h * 0.3)), (int(w * 0.4), h - 3)]:
        out = np.empty((oh, ow, 3), np.uint8)
        resize_bicubic(img, out)
        np.testing.assert_array_equal(out, np.asarray(Image.fromarray(img).resize((ow, oh), Image.BICUBIC)))


def test_extreme_shapes_and_the_pass_order_probe():
    img = np.random.default_rng(9).integers(0, 256, (1000, 1000, 3), dtype=np.uint8)
    for ow, oh in [(1, 3), (700, 1), (1, 1)]:  # fewer rows/columns than threads
        out = np.empty((oh, ow, 3), np.uint8)
        resize_bicubic(img, out)
        np.testing.assert_array_equal(out, np.asarray(Image.fromarray(img).resize((ow, oh), Image.BICUBIC)))
    # the probe must tell the two pass orders apart for its answer to mean anything
    probe = Image.fromarray(np.random.default_rng(0).integers(0, 256, (96, 20, 3), dtype=np.uint8))
    hv = probe.resize((19, 96), Image.BICUBIC).resize((19, 31), Image.BICUBIC)
    vh = probe.resize((20, 31), Image.BICUBIC).resize((19, 31), Image.BICUBIC)
    assert not np.array_equal(np.asarray(hv), np.asarray(vh))
    assert ip._pillow_vertical_first_rule() == np.array_equal(
        np.asarray(probe.resize((19, 31), Image.BICUBIC)), np.asarray(vh)
    )


def test_pil_inputs_and_bad_arrays(published):
    img = screenshot(640, 480, seed=3)
    expected = published(img).pixel_values
    assert published(Image.fromarray(img)).pixel_values.equal(expected)
    rgba = Image.fromarray(np.dstack([img, np.full(img.shape[:2], 255, np.uint8)]))
    assert published(rgba).pixel_values.equal(expected)
    with pytest.raises(ValueError, match=r"RGB uint8 array of shape \(H, W, 3\)"):
        published(img.astype(np.float32))
    with pytest.raises(ValueError, match="RGB uint8"):
        published(img[..., :2])


def test_preprocess_concatenates_in_order(published):
    a, b = screenshot(1920, 1080, seed=4), screenshot(300, 200, seed=5)
    pv, grids, geos = published.preprocess([a, b])
    assert grids.tolist() == [[48, 86], [16, 22]] and str(grids.dtype) == "torch.int64"
    assert pv.shape[0] == 48 * 86 + 16 * 22
    assert pv[48 * 86 :].equal(published(b).pixel_values)
    assert [g.original for g in geos] == [(1920, 1080), (300, 200)]


def test_torch_resize_is_within_two_levels_of_pil(published):
    img = screenshot(1920, 1080, seed=3)
    exact = published(img).pixel_values.numpy()
    fast = KimiImageProcessor(published.config, resize="torch")(img).pixel_values.numpy()
    level = 1 / 255 / min(published.config.image_std)
    diff = np.abs(fast - exact)
    assert diff.max() <= 2 * level * 1.001  # rounding differences: at most two uint8 levels
    assert (diff > 1e-6).mean() < 0.01  # and only on a few values
    with pytest.raises(ValueError, match="unknown resize 'cv2'"):
        KimiImageProcessor(published.config, resize="cv2")
