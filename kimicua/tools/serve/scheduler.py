"""Continuous batching: one thread owns the engine; requests join and leave between decode steps.

HTTP handlers `submit` jobs (already tokenized, images preprocessed) and get `Update`s back
through each job's `deliver` callback (thread-safe on their side). The thread loops: free the
slots of cancelled jobs, prefill waiting jobs into free slots (up to the engine's slots, i.e.
--max-batch), run one decode step for every busy slot, then hand each job its new tokens and
text. A job ends on its own: at a stop token or its length (the engine frees the slot), or at a
stop string (this thread frees it). torch runs only here, never on the event loop.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kimicua.tools.serve.detok import TextStream


@dataclass(frozen=True)
class Update:
    """New text and tokens of a job since its last update; `finish_reason` on the last one.

    A job that is not streamed gets one update: its whole answer. `error` (with an HTTP
    `status`) ends a job that could not be answered."""

    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish_reason: str | None = None
    error: str | None = None
    status: int = 500


@dataclass(eq=False)
class Job:
    """One request as the engine takes it: input_ids [1, L], pixel_values and grid (CPU) or None."""

    input_ids: Any
    pixel_values: Any
    image_grid_hws: Any
    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int | None
    stop_token_ids: tuple[int, ...]
    text: TextStream
    stream: bool
    deliver: Callable[[Update], None]
    cancelled: bool = False
    seen: int = 0  # tokens fed to `text`
    sent: int = 0  # tokens delivered
    text_sent: int = 0  # characters delivered

    @property
    def prompt_tokens(self) -> int:
        return int(self.input_ids.shape[-1])


class Unavailable(Exception):
    """The server cannot take a request now (shutting down, or too many waiting): a 503."""


@dataclass
class Stats:
    admitted: int = 0
    joined_busy: int = 0  # admitted while other rows were mid-decode: continuous batching at work
    finished: int = 0
    cancelled: int = 0
    failed: int = 0
    steps: int = 0
    max_rows: int = 0  # the most rows one decode step served


class Scheduler:
    """Owns a BatchEngine of `max_batch` slots of `max_model_len` positions each, on its own thread."""

    def __init__(self, model, processor, *, max_batch: int = 8, max_model_len: int = 8192, max_waiting: int = 1024,
                 compiled: bool = False):
        from kimicua.model.engine import BatchEngine

        self.model, self.processor = model, processor
        self.max_batch, self.max_model_len, self.max_waiting = max_batch, max_model_len, max_waiting
        self.engine = BatchEngine(model, max_batch, max_model_len, compiled=compiled)
        self.stats = Stats()
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._active: dict[int, Job] = {}  # slot -> job
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="kimicua-scheduler", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> int:
        return len(self._active)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def submit(self, job: Job) -> None:
        with self._cond:
            if self._closed:
                raise Unavailable("the server is shutting down")
            if len(self._waiting) >= self.max_waiting:
                raise Unavailable(f"{len(self._waiting)} requests are already waiting; retry later")
            self._waiting.append(job)
            self._cond.notify()

    def cancel(self, job: Job) -> None:
        """Drop a job whose client went away; its slot is free before the next decode step."""
        job.cancelled = True
        with self._cond:
            self._cond.notify()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread; jobs still waiting or decoding end with a 503."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            while self._wait_for_work():
                self._reap()
                while (job := self._next()) is not None:
                    self._admit(job)
                if self._active:
                    self._step()
        finally:
            with self._cond:
                self._closed = True  # later submits get a 503, not a wait for a thread that is gone
                left = list(self._waiting) + list(self._active.values())
                self._waiting.clear()
                self._active.clear()
            for job in left:
                job.deliver(Update(error="the server is shutting down", status=503))

    def _wait_for_work(self) -> bool:
        with self._cond:
            while not self._closed and not self._waiting and not self._active:
                self._cond.wait()
            return not self._closed

    def _reap(self) -> None:
        for slot, job in list(self._active.items()):
            if job.cancelled:
                self.engine.cancel(slot)
                del self._active[slot]
                self.stats.cancelled += 1

    def _next(self) -> Job | None:
        """The next waiting job when a slot is free (cancelled ones dropped)."""
        with self._cond:
            while self._waiting and self.engine.free:
                job = self._waiting.popleft()
                if not job.cancelled:
                    return job
                self.stats.cancelled += 1
            return None

    def _admit(self, job: Job) -> None:
        from kimicua.model.engine import SamplingParams

        pixel_values, grid = job.pixel_values, job.image_grid_hws
        try:
            if pixel_values is not None:
                # the processor works on CPU in float32; the vision tower wants its own device/dtype
                pixel_values = pixel_values.to(device=self.model.device, dtype=self.model.dtype)
                grid = grid.to(self.model.device)
            params = SamplingParams(job.max_new_tokens, job.temperature, job.top_p, job.seed, job.stop_token_ids)
            slot = self.engine.add(job.input_ids, pixel_values, grid, params)
        except Exception as err:  # a request the engine refuses, or out of memory: that request fails
            self.stats.failed += 1
            job.deliver(Update(error=f"prefill failed: {' '.join(str(err).split())}", status=500))
            return
        if self._active:
            self.stats.joined_busy += 1
        self._active[slot] = job
        self.stats.admitted += 1

    def _step(self) -> None:
        self.stats.max_rows = max(self.stats.max_rows, len(self._active))
        try:
            done = self.engine.step()
        except Exception as err:  # every row of the step fails; the slots are freed for new requests
            message = f"decode failed: {' '.join(str(err).split())}"
            for slot, job in list(self._active.items()):
                self.engine.cancel(slot)
                self.stats.failed += 1
                job.deliver(Update(error=message, status=500))
            self._active.clear()
            return
        self.stats.steps += 1
        for slot, job in list(self._active.items()):
            generation = done.get(slot)
            if generation is None and not job.stream and not job.text.stops:
                continue  # nothing to send or check before it ends
            try:
                self._advance(slot, job, generation)
            except Exception as err:  # say a token the tokenizer cannot decode: that request fails, not the loop
                self.engine.cancel(slot)
                self._active.pop(slot, None)
                self.stats.failed += 1
                job.deliver(Update(error=f"detokenizing failed: {' '.join(str(err).split())}", status=500))

    def _advance(self, slot: int, job: Job, generation) -> None:
        """Feed the job's new tokens to its text; end it at a stop string or with the engine."""
        if generation is not None:
            ids, logprobs = generation.token_ids, generation.logprobs
        else:
            ids, logprobs = self.engine.tokens(slot), self.engine.logprobs(slot)
        job.text.push(ids[job.seen:])
        job.seen = len(ids)
        finish = None
        if job.text.stopped:
            finish = "stop"
            if generation is None:
                self.engine.cancel(slot)
        elif generation is not None:
            finish = generation.finish_reason
            job.text.finish()
            # the stop token ends the answer's ids and logprobs, as vLLM returns them (a trainer
            # learns to stop from it); the text leaves it out
            ids, logprobs = generation.response_ids, generation.response_logprobs
        if finish is not None:
            del self._active[slot]
            self.stats.finished += 1
        self._send(job, ids, logprobs, finish)

    @staticmethod
    def _send(job: Job, ids: list[int], logprobs: list[float], finish: str | None) -> None:
        if not job.stream and finish is None:
            return
        text = job.text.text[job.text_sent:]
        if not text and len(ids) == job.sent and finish is None:
            return
        job.deliver(Update(text, ids[job.sent:], logprobs[job.sent:], finish))
        job.sent, job.text_sent = len(ids), len(job.text.text)
