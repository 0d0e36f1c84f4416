"""Helpers of the serve tests: the tiny checkpoint served in this process, images as data URLs,
and the engine's own answer to each request (generate() on the processor's output, no server)."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request

import numpy as np
from PIL import Image

from kimicua.tools.serve.app import ServerState
from kimicua.tools.serve.run import BackgroundServer
from kimicua.tools.serve.scheduler import Scheduler

NAME = "tiny-test"


def load_tiny(directory):
    """(model, processor) of a tiny checkpoint written into `directory`, in fp32."""
    import torch

    from kimicua.model.tiny import write_tiny_checkpoint
    from kimicua.model.weights import load_checkpoint

    ckpt = write_tiny_checkpoint(directory, seed=0)
    model, processor, _ = load_checkpoint(ckpt, dtype=torch.float32)
    return model.eval(), processor


def start(model, processor, *, max_batch: int = 4, max_model_len: int = 2048, **state) -> BackgroundServer:
    scheduler = Scheduler(model, processor, max_batch=max_batch, max_model_len=max_model_len)
    return BackgroundServer(ServerState(name=NAME, scheduler=scheduler, **state))


def shot(width: int, height: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def data_url(image: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def user(text: str, *images: np.ndarray) -> list[dict]:
    """OpenAI messages: one user turn with the images (as data URLs) before the text."""
    items = [{"type": "image_url", "image_url": {"url": data_url(im)}} for im in images]
    return [{"role": "user", "content": [*items, {"type": "text", "text": text}]}]


def engine_answer(model, processor, text: str, *images: np.ndarray, max_tokens: int, temperature: float = 0.0,
                  top_p: float = 1.0, seed: int | None = None, stops: tuple[int, ...] | None = None):
    """The engine's Generation for the same conversation, served by no server."""
    from kimicua.model.engine import generate

    items = [{"type": "image"} for _ in images]
    batch = processor([{"role": "user", "content": [*items, {"type": "text", "text": text}]}], list(images))
    return generate(model, batch["input_ids"], batch["pixel_values"], batch["image_grid_hws"],
                    max_new_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed,
                    stop_token_ids=processor.stop_token_ids if stops is None else stops)


def answer(completion) -> tuple[str, list[int], list[float] | None, str]:
    """(text, token ids, logprobs or None, finish reason) of an openai ChatCompletion."""
    choice = completion.choices[0]
    logprobs = [t.logprob for t in choice.logprobs.content] if choice.logprobs is not None else None
    return choice.message.content, list(choice.token_ids), logprobs, choice.finish_reason


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_until(condition, what: str, timeout: float = 60.0) -> None:
    """Poll `condition` until true; fail naming `what` after `timeout` seconds (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
