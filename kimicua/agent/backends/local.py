"""The on-device Kimi-VL policy: processor -> engine -> text, in this process.

torch and the model package are imported when a LocalPolicy is built, never when this
module is, so the agent core imports without the ``model`` extra.
"""

from __future__ import annotations

import time
from pathlib import Path

from kimicua.agent.policy import Prompt, Reply
from kimicua.env.geometry import Size

_DTYPES = {
    "bf16": "bfloat16", "bfloat16": "bfloat16",
    "fp16": "float16", "float16": "float16", "half": "float16",
    "fp32": "float32", "float32": "float32", "float": "float32",
}


def _torch_dtype(dtype):
    """None (the model's default for the device), a torch.dtype, or a name like 'bf16'."""
    import torch

    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    name = _DTYPES.get(str(dtype).lower())
    if name is None:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(sorted(_DTYPES))}")
    return getattr(torch, name)


class LocalPolicy:
    """Kimi-VL loaded from ``checkpoint`` (a directory or a hub id), greedy by default.

    A checkpoint that cannot be found, downloaded or read raises the model package's
    CheckpointError, a ValueError whose one-line message names the file or hub id.

    With ``temperature > 0`` and a ``seed``, call i samples with ``seed + i``: an episode
    replays exactly, yet successive steps do not reuse one random stream.
    """

    notice: str | None = None

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        dtype=None,
        device: str = "cpu",
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        max_new_tokens: int = 512,
    ):
        from kimicua.model.weights import load_checkpoint

        if temperature < 0 or not 0 < top_p <= 1 or max_new_tokens < 1:
            raise ValueError("need temperature >= 0, 0 < top_p <= 1 and max_new_tokens >= 1")
        self.checkpoint = str(checkpoint)
        # a missing, unreachable or broken checkpoint raises CheckpointError (a ValueError): one
        # line naming the file or hub id, which callers report as it is
        self.model, self.processor, _ = load_checkpoint(checkpoint, dtype=_torch_dtype(dtype), device=device)
        self.name = Path(self.checkpoint).name if Path(self.checkpoint).is_dir() else self.checkpoint
        self.temperature, self.top_p, self.seed = temperature, top_p, seed
        self.max_new_tokens = max_new_tokens
        self._calls = 0

    def act(self, prompt: Prompt) -> Reply:
        """Generate one answer; timings are preprocess_s, prefill_s and decode_s."""
        from kimicua.model.engine import generate

        if self.model is None:
            raise RuntimeError(f"policy {self.name} is closed")
        t0 = time.perf_counter()
        batch = self.processor(prompt.messages, prompt.images)
        pixel_values = batch["pixel_values"]
        grid = batch["image_grid_hws"]
        if pixel_values is not None:
            # the processor works on CPU in float32; the vision tower wants its own device/dtype
            pixel_values = pixel_values.to(device=self.model.device, dtype=self.model.dtype)
            grid = grid.to(self.model.device)
        t1 = time.perf_counter()
        seed = None if self.seed is None else self.seed + self._calls
        self._calls += 1
        gen = generate(
            self.model, batch["input_ids"], pixel_values, grid,
            max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p,
            seed=seed, stop_token_ids=self.processor.stop_token_ids,
        )
        images = batch["images"]
        return Reply(
            text=self.processor.decode(gen.token_ids),
            model=self.name,
            token_ids=list(gen.token_ids),
            logprobs=list(gen.logprobs),
            prompt_token_ids=batch["input_ids"][0].tolist(),  # placeholders expanded: what the model saw
            image_size=Size(*images[-1].resized) if images else None,  # (w, h), unpadded
            timings={"preprocess_s": t1 - t0, "prefill_s": gen.prefill_s, "decode_s": gen.decode_s},
        )

    def check(self) -> None:
        """Nothing to reach: the weights loaded when the policy was built."""

    def reset(self, seed: int | None) -> None:
        """Call i of this episode samples with ``seed + i`` (when a seed is given)."""
        if seed is not None:
            self.seed = seed
        self._calls = 0

    def close(self) -> None:
        """Drop the weights so the memory is free before another policy loads."""
        self.model = None
