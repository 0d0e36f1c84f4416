"""The chat template: exact strings, and the token count once the image is expanded."""

import numpy as np
import pytest

from kimicua.model.chat import chat_segments, count_images, render_chat
from kimicua.model.image_processor import write_preprocessor_config
from kimicua.model.processor import KimiVLProcessor
from kimicua.model.tokenizer import write_tokenizer_files

GUI = [
    {"role": "system", "content": "You are a GUI agent."},
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Click the OK button."}]},
]


def test_system_user_image_text_exact_string():
    assert render_chat(GUI) == (
        "<|im_system|>system<|im_middle|>You are a GUI agent.<|im_end|>"
        "<|im_user|>user<|im_middle|>"
        "<|media_start|>image<|media_content|><|media_pad|><|media_end|>"
        "Click the OK button.<|im_end|>"
        "<|im_assistant|>assistant<|im_middle|>"
    )


def test_token_count_after_expanding_a_1920x1080_screenshot(tmp_path):
    info = write_tokenizer_files(tmp_path)
    write_preprocessor_config(tmp_path)
    proc = KimiVLProcessor.from_pretrained(tmp_path)
    ids = proc(GUI, [np.zeros((1080, 1920, 3), np.uint8)])["input_ids"][0].tolist()
    # counted independently: 11 special tokens besides the image's, the text pieces, 1032 image tokens
    text = ["system", "You are a GUI agent.", "user", "image", "Click the OK button.", "assistant"]
    expected = 11 + sum(len(proc.tokenizer.encode(t)) for t in text) + 1032
    assert len(ids) == expected
    assert ids.count(info.media_pad_id) == 1032
    assert sum(i >= info.n_base for i in ids) == 11 + 1032


def test_default_system_is_prepended_and_no_bos():
    text = render_chat([{"role": "user", "content": "hi"}], add_generation_prompt=False)
    assert text == (
        "<|im_system|>system<|im_middle|>You are a helpful assistant<|im_end|>"
        "<|im_user|>user<|im_middle|>hi<|im_end|>"
    )
    assert "[BOS]" not in render_chat(GUI)


def test_multi_turn_history_and_image_count():
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "open it"}]},
        {"role": "assistant", "content": "## Action\nclick"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:"}}]},
    ]
    assert count_images(messages) == 2
    text = render_chat(messages)
    assert text.count("<|media_pad|>") == 2
    assert "<|im_assistant|>assistant<|im_middle|>## Action\nclick<|im_end|><|im_user|>" in text
    assert text.endswith("<|media_end|><|im_end|><|im_assistant|>assistant<|im_middle|>")
    # message text is flagged as non-template, so a tokenizer can keep it out of specials
    assert (False, "open it") in chat_segments(messages)


@pytest.mark.parametrize(
    "messages, match",
    [
        ([], "at least one message"),
        ([{"role": "tool", "content": "x"}], "role must be one of"),
        ([{"role": "user", "content": [{"type": "audio"}]}], "message 0 item 0"),
        ([{"role": "user", "content": ["bare string"]}], "content items are dicts"),
    ],
)
def test_bad_messages_are_rejected(messages, match):
    with pytest.raises(ValueError, match=match):
        render_chat(messages)
