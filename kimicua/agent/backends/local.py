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


def _first(*values):
    """The first value that is not None."""
    return next(v for v in values if v is not None)


class LocalPolicy:
    """Kimi-VL loaded from ``checkpoint`` (a directory or a hub id).

    Sampling settings the caller leaves None come from the checkpoint's generation_config.json
    (temperature, top_p, max_new_tokens; model/generation_config.py), else greedy, top_p 1 and
    a max_new_tokens by answer style: 512 for an Instruct checkpoint, 4096 for a thinking one.
    The caller's values win. ``defaults`` holds what the checkpoint's files say.

    ``token_ids``/``logprobs`` of a Reply end with the stop token when the answer ended on one
    (its text does not): for RL the stop belongs to the response. With ``record_routing`` each
    reply's ``routing`` holds the experts the answer was routed through.

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
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        max_new_tokens: int | None = None,
        record_routing: bool = False,
    ):
        from kimicua.model.generation_config import read_generation_defaults
        from kimicua.model.weights import load_checkpoint

        if (temperature is not None and temperature < 0) or (top_p is not None and not 0 < top_p <= 1) \
                or (max_new_tokens is not None and max_new_tokens < 1):
            raise ValueError("need temperature >= 0, 0 < top_p <= 1 and max_new_tokens >= 1")
        self.checkpoint = str(checkpoint)
        # a missing, unreachable or broken checkpoint raises CheckpointError (a ValueError): one
        # line naming the file or hub id, which callers report as it is
        self.model, self.processor, directory = load_checkpoint(checkpoint, dtype=_torch_dtype(dtype), device=device)
        self.name = Path(self.checkpoint).name if Path(self.checkpoint).is_dir() else self.checkpoint
        self.defaults = d = read_generation_defaults(directory, self.checkpoint)
        self.temperature = _first(temperature, d.temperature, 0.0)
        self.top_p = _first(top_p, d.top_p, 1.0)
        self.max_new_tokens = _first(max_new_tokens, d.default_max_new_tokens)
        self.seed = seed
        self.record_routing = record_routing
        self._calls = 0

    def act(self, prompt: Prompt) -> Reply:
        """Generate one answer; timings are preprocess_s, prefill_s and decode_s."""
        return self.act_batch([prompt])[0]

    def act_batch(self, prompts: list[Prompt]) -> list[Reply]:
        """Answer the prompts together: each is preprocessed and prefilled on its own, then all
        decode as one batch. Reply i equals ``act`` of prompt i in turn (seed + i when sampling);
        its decode_s is the shared decode's time up to its last token."""
        from kimicua.model.engine import ModelInputs, SamplingParams, generate_batch

        if self.model is None:
            raise RuntimeError(f"policy {self.name} is closed")
        batches, inputs, preprocess = [], [], []
        for prompt in prompts:
            t0 = time.perf_counter()
            batch = self.processor(prompt.messages, prompt.images)
            pixel_values, grid = batch["pixel_values"], batch["image_grid_hws"]
            if pixel_values is not None:
                # the processor works on CPU in float32; the vision tower wants its own device/dtype
                pixel_values = pixel_values.to(device=self.model.device, dtype=self.model.dtype)
                grid = grid.to(self.model.device)
            batches.append(batch)
            inputs.append(ModelInputs(batch["input_ids"], pixel_values, grid))
            preprocess.append(time.perf_counter() - t0)
        params = []
        for _ in prompts:
            seed = None if self.seed is None else self.seed + self._calls
            self._calls += 1
            params.append(SamplingParams(self.max_new_tokens, self.temperature, self.top_p, seed,
                                         tuple(self.processor.stop_token_ids)))
        gens = generate_batch(self.model, inputs, params, record_routing=self.record_routing)
        return [self._reply(batch, gen, pre) for batch, gen, pre in zip(batches, gens, preprocess)]

    def _reply(self, batch: dict, gen, preprocess_s: float) -> Reply:
        images = batch["images"]
        return Reply(
            text=self.processor.decode(gen.token_ids),
            model=self.name,
            token_ids=list(gen.response_ids),  # the stop token too: the policy must learn to stop
            logprobs=list(gen.response_logprobs),
            prompt_token_ids=batch["input_ids"][0].tolist(),  # placeholders expanded: what the model saw
            image_size=Size(*images[-1].resized) if images else None,  # (w, h), unpadded
            timings={"preprocess_s": preprocess_s, "prefill_s": gen.prefill_s, "decode_s": gen.decode_s},
            routing=gen.routing,  # None unless record_routing
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
