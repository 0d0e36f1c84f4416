"""KimiVLProcessor: chat messages + screenshots -> input_ids, pixel_values, image_grid_hws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from kimicua.model.chat import chat_segments, count_images
from kimicua.model.files import CheckpointError
from kimicua.model.image_processor import KimiImageProcessor
from kimicua.model.tokenizer import CONFIG_FILE, SPECIAL_OFFSETS, KimiTokenizer


# the specials the chat template and the stop rule use ([BOS] and [PAD] are not)
CHAT_SPECIALS = tuple(name for name in SPECIAL_OFFSETS if name not in ("[BOS]", "[PAD]"))


class KimiVLProcessor:
    """Renders the chat template, tokenizes it and expands each image's placeholder."""

    def __init__(self, tokenizer: KimiTokenizer, image_processor: KimiImageProcessor):
        self.tokenizer = tokenizer
        self.image_processor = image_processor

    @classmethod
    def from_pretrained(cls, path: str | Path) -> KimiVLProcessor:
        """Load tiktoken.model, tokenizer_config.json and preprocessor_config.json from a dir;
        CheckpointError (one line, naming the file) when one is missing or unusable."""
        path = Path(path)
        tokenizer = KimiTokenizer.from_pretrained(path)
        lacking = [name for name in CHAT_SPECIALS if name not in tokenizer.special_ids]
        if lacking:
            raise CheckpointError(f"{path / CONFIG_FILE}: added_tokens_decoder lacks {', '.join(lacking)} "
                                  "(special tokens the chat template needs)")
        return cls(tokenizer, KimiImageProcessor.from_pretrained(path))

    def check_model(self, config, where: str | Path) -> None:
        """CheckpointError unless the model config (a KimiVLConfig) fits this tokenizer: the
        image placeholder is the tokenizer's <|media_pad|> and every token id is in the vocabulary."""
        tok = self.tokenizer
        if config.media_placeholder_token_id != tok.media_pad_id:
            raise CheckpointError(f"{where}: media_placeholder_token_id {config.media_placeholder_token_id} is not "
                                  f"the tokenizer's <|media_pad|> ({tok.media_pad_id})")
        if config.text.vocab_size < tok.vocab_size:
            raise CheckpointError(f"{where}: vocab_size {config.text.vocab_size} is smaller than the "
                                  f"tokenizer's {tok.vocab_size} tokens")

    @property
    def stop_token_ids(self) -> tuple[int, int]:
        return self.tokenizer.im_end_id, self.tokenizer.eos_id

    def __call__(self, messages: list[dict], images=None, add_generation_prompt: bool = True) -> dict:
        """input_ids [1, L] long; pixel_values [sum N, 3, P, P] float32 or None;
        image_grid_hws [n, 2] long or None; images: one ImageGeometry per image.

        Images fill the conversation's image items in order. Message text is encoded as plain
        text, so a special token's name inside it (say from a web page) stays harmless.
        """
        if isinstance(images, (np.ndarray, Image.Image)):
            images = [images]  # one image, not an iterable of rows
        images = list(images) if images is not None else []
        n_items = count_images(messages)
        if n_items != len(images):
            raise ValueError(f"the messages hold {n_items} image item(s) but {len(images)} image(s) were given")
        tok = self.tokenizer
        ids: list[int] = []
        for is_template, text in chat_segments(messages, add_generation_prompt):
            ids.extend(tok.encode(text, allow_special=is_template))
        if not images:
            return {"input_ids": torch.tensor([ids], dtype=torch.long), "pixel_values": None,
                    "image_grid_hws": None, "images": []}

        pixel_values, grid_hws, geometries = self.image_processor.preprocess(images)
        mh, mw = self.image_processor.config.merge_kernel_size
        pad = tok.media_pad_id
        expanded: list[int] = []
        k = 0
        for t in ids:
            if t != pad:
                expanded.append(t)
                continue
            gh, gw = geometries[k].grid_hw
            if gh % mh or gw % mw:
                raise ValueError(
                    f"image {k}: {gw}x{gh} patches do not divide into the {mw}x{mh} merge kernel "
                    "(pad_input false crops to multiples of the patch size only)"
                )
            expanded.extend([pad] * geometries[k].n_tokens)  # one per merged 2x2 patch group
            k += 1
        return {
            "input_ids": torch.tensor([expanded], dtype=torch.long),
            "pixel_values": pixel_values,
            "image_grid_hws": grid_hws,
            "images": geometries,
        }

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """Text of generated ids (a list or a tensor)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.reshape(-1).tolist()
        return self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)
