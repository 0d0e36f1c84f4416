"""Generation engine: prefill + decode over an MLA latent KV cache, greedy or sampled.

Kept apart from the model (gpt-fast generate.py / nanochat engine.py style): the model only
knows how to run tokens through a cache (`KimiVL.step`); this module owns the cache, the
loop, sampling, stopping and timing.

The cache is a set of SLOTS (rows), each holding one sequence at its own position. `BatchEngine.add`
prefills a prompt (with its images) into a free slot; `BatchEngine.step` samples one token for
every busy slot, each with its own sampling settings, stop ids and length limit, then decodes
all of them in one forward pass. A finished slot is free at once, so a server may add a request
between any two steps (continuous batching); rows never see each other, and cache entries past a
row's position (from an earlier occupant of the slot) are masked out. `generate` (one prompt)
and `generate_batch` (B prompts at once) run on it.
Legend: S slots, n rows decoded this step (highest busy slot + 1), T max tokens per slot,
K+R latent (512) and rope key (64), V vocab.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from kimicua.model.attention import LayerCache
from kimicua.model.graphs import DecodeStep
from kimicua.model.kimi_vl import KimiVL
from kimicua.model.routing import RoutingRecorder


@dataclass(frozen=True)
class Generation:
    """Generated tokens (stop token excluded) and the log-prob of each one.

    `logprobs[i]` is log_softmax of the model's RAW logits (temperature 1, no top-p) at the
    chosen token: the model's own belief, comparable across sampling settings.
    `stop_token`/`stop_logprob`: the stop id the answer ended on and its log-prob (None when it
    ended on length): for RL it belongs to the response (the policy must learn to stop);
    `response_ids`/`response_logprobs` hold the tokens with it.
    `routing`: with routing recording on (routing.py), the top-k expert ids per response token
    (stop included) and MoE layer, uint8 [len(response_ids), M, A]; None when off.
    `decode_s` runs from the first decode step after the prefill to the last token (steps shared
    with other rows, and prefills of rows added meanwhile, included).
    """

    token_ids: list[int]
    logprobs: list[float]
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int
    prefill_s: float
    decode_s: float
    stop_token: int | None = None
    stop_logprob: float | None = None
    routing: np.ndarray | None = None

    @property
    def response_ids(self) -> list[int]:
        """The generated ids with the stop token the answer ended on (what an RL trainer trains)."""
        return self.token_ids if self.stop_token is None else [*self.token_ids, self.stop_token]

    @property
    def response_logprobs(self) -> list[float]:
        return self.logprobs if self.stop_logprob is None else [*self.logprobs, self.stop_logprob]

    @property
    def decode_tokens_per_s(self) -> float:
        steps = max(len(self.token_ids) - 1 + (self.finish_reason == "stop"), 0)
        return steps / self.decode_s if self.decode_s > 0 else 0.0


@dataclass(frozen=True)
class SamplingParams:
    """How one request samples and stops: greedy at temperature 0, else temperature + nucleus
    from its own generator (seeded when `seed` is given, else torch's global one)."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop_token_ids: tuple[int, ...] = ()

    def __post_init__(self):
        if self.max_new_tokens < 0 or self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams: need max_new_tokens >= 0, temperature >= 0 and 0 < top_p <= 1, "
                             f"got {self.max_new_tokens}, {self.temperature}, {self.top_p}")


def new_cache(model: KimiVL, batch: int, max_tokens: int) -> list[LayerCache]:
    """Per-layer latent caches [B, T, K+R] on the embedding's device, model dtype."""
    t = model.config.text
    return [LayerCache.zeros(batch, max_tokens, t, model.device, model.dtype) for _ in range(t.num_layers)]


def sample(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    """logits [B, V] float32 -> token ids [B]: argmax at temperature 0, else temperature + nucleus."""
    if temperature <= 0.0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # keep the smallest prefix whose mass reaches top_p (the first token always stays)
        drop = (sorted_p.cumsum(-1) - sorted_p) >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class _Request:
    """A busy slot's request: its settings and what it has generated so far."""

    params: SamplingParams
    stops: frozenset[int]
    generator: torch.Generator | None
    prompt_tokens: int
    prefill_s: float
    first_step: float | None = None  # perf_counter at the start of the first step that served it
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    routing: list[np.ndarray] = field(default_factory=list)  # [M, A] per response token (recording only)


class BatchEngine:
    """`slots` sequences of up to `max_tokens` positions each (prompt + generated), decoded together."""

    def __init__(self, model: KimiVL, slots: int, max_tokens: int, cuda_graphs: bool | None = None,
                 record_routing: bool = False, compiled: bool = False):
        """`cuda_graphs`: replay the decode step from CUDA graphs (graphs.py); by default on when
        the whole model sits on one CUDA device, off on CPU and with offload.
        `compiled`: the decode forward through torch.compile (graphs.DecodeStep); pays on a GPU.
        `record_routing`: each Generation carries its routing record (routing.py); `close()`
        takes the recorder's hooks off the model again. Off, nothing is hooked."""
        if slots < 1 or max_tokens < 1:
            raise ValueError(f"BatchEngine: need slots >= 1 and max_tokens >= 1, got {slots} and {max_tokens}")
        self.model, self.slots, self.max_tokens = model, slots, max_tokens
        dev = model.device
        whole_on_gpu = dev.type == "cuda" and model.execution_device is None
        if cuda_graphs and not whole_on_gpu:
            raise ValueError(f"BatchEngine: CUDA graphs need the whole model on one CUDA device, not {dev}"
                             + (" with offload" if model.execution_device is not None else ""))
        with torch.inference_mode():
            self.caches = new_cache(model, slots, max_tokens)
            self.logits = torch.zeros(slots, model.config.text.vocab_size, device=dev)  # [S, V] next-token logits
            self.pos = torch.zeros(slots, dtype=torch.long, device=dev)  # [S] each row's length (0 when free)
            self.live = torch.zeros(slots, dtype=torch.long, device=dev)  # [S] 1 where busy: whose pos advances
            graphs = whole_on_gpu if cuda_graphs is None else cuda_graphs
            self._decode = DecodeStep(model, self.caches, self.pos, self.logits, graphs, compiled)
        self._requests: list[_Request | None] = [None] * slots
        self._routing = RoutingRecorder(model, slots) if record_routing else None

    def close(self) -> None:
        """Take the routing recorder's hooks off the model (nothing to do when not recording)."""
        if self._routing is not None:
            self._routing.close()

    @property
    def cuda_graphs(self) -> bool:
        """Whether decode steps replay CUDA graphs (False after a capture failed)."""
        return self._decode.cuda_graphs

    @property
    def busy(self) -> list[int]:
        """The slots holding a request, in order."""
        return [i for i, r in enumerate(self._requests) if r is not None]

    @property
    def free(self) -> int:
        return self._requests.count(None)

    def tokens(self, slot: int) -> list[int]:
        """What the request in `slot` has generated so far (for streaming)."""
        request = self._requests[slot]
        if request is None:
            raise ValueError(f"BatchEngine: slot {slot} is free")
        return list(request.token_ids)

    def logprobs(self, slot: int) -> list[float]:
        """The log-probs of what `tokens(slot)` returns (a server streams them, or keeps them
        for a request it ends early at a stop string)."""
        request = self._requests[slot]
        if request is None:
            raise ValueError(f"BatchEngine: slot {slot} is free")
        return list(request.logprobs)

    @torch.inference_mode()
    def add(
        self,
        input_ids: torch.Tensor | Sequence[int],
        pixel_values: torch.Tensor | None = None,
        image_grid_hws: torch.Tensor | None = None,
        params: SamplingParams = SamplingParams(),
    ) -> int:
        """Prefill one prompt (input_ids [1, L] or [L], with its images) into the lowest free slot; returns it.

        May run between any two `step()` calls: the other slots keep their state.
        """
        slot = next((i for i, r in enumerate(self._requests) if r is None), None)
        if slot is None:
            raise RuntimeError(f"BatchEngine: all {self.slots} slots are busy")
        dev = self.model.device
        ids = torch.as_tensor(input_ids, dtype=torch.long, device=dev).reshape(1, -1)
        L = ids.shape[1]
        if L + params.max_new_tokens > self.max_tokens:
            raise ValueError(f"BatchEngine: a prompt of {L} tokens plus max_new_tokens {params.max_new_tokens} "
                             f"exceeds the {self.max_tokens} positions of a slot")
        generator = None
        if params.temperature > 0.0 and params.seed is not None:
            generator = torch.Generator(device=dev).manual_seed(params.seed)
        row = [c.rows(slot, slot + 1) for c in self.caches]  # views
        t0 = time.perf_counter()
        if self._routing is not None:
            self._routing.prefill(slot)
        self.logits[slot] = self.model.step(ids, row, 0, pixel_values, image_grid_hws)[0, -1]
        self.pos[slot] = L
        self.live[slot] = 1
        _sync(dev)
        t1 = time.perf_counter()
        stops = frozenset(int(s) for s in params.stop_token_ids)
        self._requests[slot] = _Request(params, stops, generator, L, t1 - t0)
        return slot

    @torch.inference_mode()
    def cancel(self, slot: int) -> None:
        """Free `slot` without a result (say its client went away)."""
        if self._requests[slot] is not None:
            self._finish(slot)

    @torch.inference_mode()
    def step(self) -> dict[int, Generation]:
        """One token for every busy slot; returns the requests that finished, by slot (now free)."""
        busy = self.busy
        if not busy:
            return {}
        t0 = time.perf_counter()
        for i in busy:
            if self._requests[i].first_step is None:
                self._requests[i].first_step = t0
        n = busy[-1] + 1
        logits = self.logits[:n]  # [n, V]
        # An image placeholder cannot be generated: there is no image to put behind it,
        # and feeding it back would ask the model for image features it does not have.
        logits[:, self.model.config.media_placeholder_token_id] = float("-inf")
        tok = logits.argmax(-1)  # [n]
        for i in busy:
            p = self._requests[i].params
            if p.temperature > 0.0:
                tok[i : i + 1] = sample(logits[i : i + 1], p.temperature, p.top_p, self._requests[i].generator)
        logprob = logits.log_softmax(-1).gather(-1, tok[:, None])[:, 0]  # [n] (logsumexp is ~10x slower on CPU)
        host_tok, host_lp = torch.stack((tok, logprob)).tolist()  # the step's one sync (ids < 2^24: exact in float32)
        routes = None if self._routing is None else self._routing.rows(n)  # [n, M, A]: what chose tok
        now = time.perf_counter()
        done: dict[int, Generation] = {}
        for i in busy:
            r = self._requests[i]
            token = int(host_tok[i])
            finish: Literal["stop", "length"] | None = None
            stop: tuple[int, float] | tuple[None, None] = (None, None)
            if r.params.max_new_tokens == 0:
                finish = "length"
            elif token in r.stops:
                finish, stop = "stop", (token, host_lp[i])
            else:
                r.token_ids.append(token)
                r.logprobs.append(host_lp[i])
                if len(r.token_ids) == r.params.max_new_tokens:
                    finish = "length"
            if routes is not None and r.params.max_new_tokens > 0:  # a response token (or the stop) came
                r.routing.append(routes[i])
            if finish is not None:
                routing = None
                if routes is not None:
                    routing = np.stack(r.routing) if r.routing else self._routing.empty()
                done[i] = Generation(r.token_ids, r.logprobs, finish, r.prompt_tokens, r.prefill_s,
                                     now - r.first_step, *stop, routing)
                self._finish(i)
        going = self.busy
        if going:
            # rows up to the last busy one, free rows included (they write a throwaway entry at
            # their position 0, which the next prefill of that slot overwrites): a slice, not a gather
            m = going[-1] + 1
            r = self._requests
            length = max(r[i].prompt_tokens + len(r[i].token_ids) for i in going)  # positions held after this token
            if self._routing is not None:
                self._routing.decode()
            self._decode(tok, m, length)  # self.logits[:m] = the next logits
            self.pos[:m] += self.live[:m]
        return done

    def run(self) -> dict[int, Generation]:
        """Step until every slot is free; the generations by slot."""
        done: dict[int, Generation] = {}
        while self.busy:
            done.update(self.step())
        return done

    def _finish(self, slot: int) -> None:
        self._requests[slot] = None
        self.pos[slot] = 0
        self.live[slot] = 0


@dataclass(frozen=True)
class ModelInputs:
    """One prompt for `generate_batch`: input_ids [1, L] or [L], and its images if any."""

    input_ids: torch.Tensor | Sequence[int]
    pixel_values: torch.Tensor | None = None
    image_grid_hws: torch.Tensor | None = None


def generate_batch(
    model: KimiVL, prompts: Sequence[ModelInputs], params: SamplingParams | Sequence[SamplingParams] = SamplingParams(),
    *, record_routing: bool = False,
) -> list[Generation]:
    """Generate for B prompts at once (one slot each, decoded together); results in prompt order.

    `params` is one SamplingParams for all, or one per prompt (say per-row seeds). Each row's
    answer equals that prompt generated alone (up to float rounding of batched matmuls).
    `record_routing`: each Generation carries its routing record (routing.py).
    """
    if isinstance(params, SamplingParams):
        params = [params] * len(prompts)
    if len(params) != len(prompts):
        raise ValueError(f"generate_batch: {len(prompts)} prompts but {len(params)} SamplingParams")
    if not prompts:
        return []
    lengths = [torch.as_tensor(p.input_ids).numel() for p in prompts]
    engine = BatchEngine(model, len(prompts), max(n + p.max_new_tokens for n, p in zip(lengths, params)),
                         record_routing=record_routing)
    try:
        for p, sp in zip(prompts, params):
            engine.add(p.input_ids, p.pixel_values, p.image_grid_hws, sp)
        done = engine.run()
    finally:
        engine.close()
    return [done[i] for i in range(len(prompts))]


def generate(
    model: KimiVL,
    input_ids: torch.Tensor | Sequence[int],
    pixel_values: torch.Tensor | None = None,
    image_grid_hws: torch.Tensor | None = None,
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    stop_token_ids: Sequence[int] = (),
    record_routing: bool = False,
) -> Generation:
    """Generate for one prompt (input_ids [1, L] or [L]); greedy when temperature == 0."""
    params = SamplingParams(max_new_tokens, temperature, top_p, seed, tuple(stop_token_ids))
    inputs = [ModelInputs(input_ids, pixel_values, image_grid_hws)]
    return generate_batch(model, inputs, params, record_routing=record_routing)[0]
