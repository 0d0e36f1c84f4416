"""KimiVLProcessor on the tiny tokenizer and the published image settings."""

import numpy as np
import pytest
import torch

from kimicua.model import KimiVLProcessor
from kimicua.model.image_processor import write_preprocessor_config
from kimicua.model.tokenizer import write_tokenizer_files


@pytest.fixture(scope="module")
def proc(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt")
    write_tokenizer_files(out)
    write_preprocessor_config(out)
    return KimiVLProcessor.from_pretrained(out)


def user(*items):
    return [{"role": "user", "content": list(items)}]


IMG = {"type": "image"}


def runs_of(ids: list[int], token: int) -> list[tuple[int, int]]:
    """(start, length) of each run of token in ids."""
    runs, i = [], 0
    while i < len(ids):
        if ids[i] == token:
            j = i
            while j < len(ids) and ids[j] == token:
                j += 1
            runs.append((i, j - i))
            i = j
        else:
            i += 1
    return runs


def test_one_screenshot(proc):
    out = proc(user(IMG, {"type": "text", "text": "Where is the OK button?"}), [np.zeros((1080, 1920, 3), np.uint8)])
    ids = out["input_ids"]
    assert ids.dtype == torch.long and ids.shape[0] == 1
    tok = proc.tokenizer
    flat = ids[0].tolist()
    [(start, n)] = runs_of(flat, tok.media_pad_id)
    assert n == 1032
    assert flat[start - 1] == tok.media_content_id and flat[start + n] == tok.media_end_id
    assert out["pixel_values"].shape == (4128, 3, 14, 14) and out["pixel_values"].dtype == torch.float32
    assert out["image_grid_hws"].tolist() == [[48, 86]] and out["image_grid_hws"].dtype == torch.long
    assert out["images"][0].resized == (1196, 672)
    tail = [tok.im_assistant_id, *tok.encode("assistant"), tok.im_middle_id]
    assert flat[-len(tail) :] == tail  # the generation prompt


def test_two_images_expand_in_order(proc):
    messages = user(IMG, {"type": "text", "text": "before"}) + [
        {"role": "assistant", "content": "ok"}
    ] + user(IMG, {"type": "text", "text": "after"})
    a, b = np.zeros((1080, 1920, 3), np.uint8), np.zeros((600, 800, 3), np.uint8)
    out = proc(messages, [a, b])
    runs = runs_of(out["input_ids"][0].tolist(), proc.tokenizer.media_pad_id)
    assert [n for _, n in runs] == [1032, (44 * 58) // 4]  # 800x600 pads to 812x616
    assert out["image_grid_hws"].tolist() == [[48, 86], [44, 58]]
    assert out["pixel_values"].shape[0] == 48 * 86 + 44 * 58
    assert [g.original for g in out["images"]] == [(1920, 1080), (800, 600)]


def test_image_count_must_match(proc):
    with pytest.raises(ValueError, match=r"hold 1 image item\(s\) but 0 image\(s\)"):
        proc(user(IMG))
    with pytest.raises(ValueError, match=r"hold 0 image item\(s\) but 1 image\(s\)"):
        proc([{"role": "user", "content": "hi"}], [np.zeros((28, 28, 3), np.uint8)])


def test_a_single_image_need_not_be_in_a_list(proc):
    img = np.zeros((280, 280, 3), np.uint8)
    assert proc(user(IMG), img)["image_grid_hws"].tolist() == [[20, 20]]


def test_text_only(proc):
    out = proc([{"role": "user", "content": "hi"}], add_generation_prompt=False)
    assert out["pixel_values"] is None and out["image_grid_hws"] is None and out["images"] == []
    assert out["input_ids"][0, -1].item() == proc.tokenizer.im_end_id


def test_special_names_in_message_text_stay_text(proc):
    tok = proc.tokenizer
    ids = proc([{"role": "user", "content": "say <|im_end|> and <|media_pad|>"}])["input_ids"][0].tolist()
    assert ids.count(tok.im_end_id) == 2  # the default system turn's and the user turn's
    assert tok.media_pad_id not in ids
    assert "say <|im_end|> and <|media_pad|>" in tok.decode(ids)


def test_decode_and_stop_ids(proc):
    tok = proc.tokenizer
    ids = tok.encode("pyautogui.click(x=0.5, y=0.25)") + [tok.im_end_id]
    assert proc.decode(ids) == "pyautogui.click(x=0.5, y=0.25)"
    assert proc.decode(torch.tensor(ids), skip_special_tokens=False).endswith("<|im_end|>")
    assert set(proc.stop_token_ids) == {tok.im_end_id, tok.eos_id}


def test_cropped_grid_must_fit_the_merge_kernel(tmp_path, proc):
    write_tokenizer_files(tmp_path)
    write_preprocessor_config(tmp_path, pad_input=False)
    crop = KimiVLProcessor.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="3x2 patches do not divide"):
        crop(user(IMG), [np.zeros((28, 42, 3), np.uint8)])
    assert crop(user(IMG), [np.zeros((56, 60, 3), np.uint8)])["image_grid_hws"].tolist() == [[4, 4]]
