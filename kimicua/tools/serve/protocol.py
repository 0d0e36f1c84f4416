"""The OpenAI chat-completions wire format that `kimicua serve` speaks: requests in, bodies out.

Requests are pydantic models (unknown fields are ignored, as OpenAI-compatible servers do);
`ChatRequest.check` refuses the known options this server cannot honour rather than silently
ignoring them. Besides OpenAI's fields, vLLM's extensions that RL rollouts use are understood:
`ignore_eos`, `stop_token_ids`, `return_token_ids` (the answer's ids in `choices[i].token_ids`,
the prompt's in `prompt_token_ids`) and `return_tokens_as_token_ids` (logprob tokens written
"token_id:N"). The answer's ids are sent unless `return_token_ids` is false: ServerPolicy reads them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiError(Exception):
    """An error answered as OpenAI's JSON error body with an HTTP status."""

    def __init__(self, status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.param = status, message, kind, param

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.kind, self.param, self.status)


def error_body(message: str, kind: str, param: str | None = None, code: int | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ImageURL(_Loose):
    url: str
    detail: str | None = None


class TextPart(_Loose):
    type: Literal["text"]
    text: str


class ImagePart(_Loose):
    type: Literal["image_url"]
    image_url: ImageURL


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class Message(_Loose):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[Part] | None = None


class StreamOptions(_Loose):
    include_usage: bool = False


class ChatRequest(_Loose):
    model: str
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # vLLM's extensions
    ignore_eos: bool = False
    stop_token_ids: list[int] | None = None
    return_token_ids: bool | None = None
    return_tokens_as_token_ids: bool | None = None

    def check(self) -> None:
        """ApiError(400) for options this server cannot honour (rather than ignoring them)."""
        if self.n not in (None, 1):
            raise ApiError(400, f"n={self.n} is not supported: one choice per request", param="n")
        if self.top_logprobs:
            raise ApiError(400, "top_logprobs > 0 is not supported: each token's own logprob is returned",
                           param="top_logprobs")
        for name, value in (("presence_penalty", self.presence_penalty), ("frequency_penalty", self.frequency_penalty)):
            if value not in (None, 0.0):
                raise ApiError(400, f"{name} is not supported (only 0)", param=name)
        if any(not s for s in self.stop_strings):
            raise ApiError(400, "stop strings must not be empty", param="stop")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise ApiError(400, f"seed must be in 0..2**63-1, got {self.seed}", param="seed")

    @property
    def stop_strings(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    @property
    def token_limit(self) -> int | None:
        """max_completion_tokens (OpenAI's newer name) or max_tokens; None: up to the context."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


def logprobs_body(ids: list[int], logprobs: list[float], piece: Callable[[int], str], as_ids: bool) -> dict[str, Any]:
    """OpenAI's choice.logprobs: one entry per token, no alternatives (top_logprobs empty)."""
    content = [
        {"token": f"token_id:{i}" if as_ids else piece(i), "logprob": lp, "bytes": None, "top_logprobs": []}
        for i, lp in zip(ids, logprobs)
    ]
    return {"content": content, "refusal": None}


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def model_list(name: str, max_model_len: int | None, created: int) -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": created, "owned_by": "kimicua", "max_model_len": max_model_len},
    ]}


class Answer:
    """How one request's answer is written: its id, model name and which extras it asked for."""

    def __init__(self, request: ChatRequest, model: str, piece: Callable[[int], str], prompt_ids: list[int] | None):
        self.id, self.created, self.model = completion_id(), now(), model
        self.logprobs = bool(request.logprobs)
        self.as_ids = bool(request.return_tokens_as_token_ids)
        self.token_ids = request.return_token_ids is not False  # sent unless refused: ServerPolicy reads them
        self.prompt_ids = prompt_ids  # given only when asked for (return_token_ids)
        self.include_usage = bool(request.stream_options and request.stream_options.include_usage)
        self._piece = piece

    def body(self, text: str, ids: list[int], logprobs: list[float], finish: str, prompt_tokens: int) -> dict[str, Any]:
        """The whole answer: OpenAI's chat.completion object."""
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "logprobs": self._logprobs(ids, logprobs),
            "finish_reason": finish,
        }
        if self.token_ids:
            choice["token_ids"] = ids
        out = {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
               "choices": [choice], "usage": usage_body(prompt_tokens, len(ids))}
        if self.prompt_ids is not None:
            out["prompt_token_ids"] = self.prompt_ids
        return out

    def chunk(self, delta: dict[str, Any], ids: list[int] | None = None, logprobs: list[float] | None = None,
              finish: str | None = None, *, first: bool = False) -> dict[str, Any]:
        """One streamed piece: chat.completion.chunk; the first carries the prompt's ids when asked."""
        choice: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        if ids:
            choice["logprobs"] = self._logprobs(ids, logprobs or [])
            if self.token_ids:
                choice["token_ids"] = ids
        out = self._chunk_head()
        out["choices"] = [choice]
        if first and self.prompt_ids is not None:
            out["prompt_token_ids"] = self.prompt_ids
        return out

    def usage_chunk(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        """The last chunk of a stream with stream_options.include_usage: no choices, the usage."""
        out = self._chunk_head()
        out["choices"] = []
        out["usage"] = usage_body(prompt_tokens, completion_tokens)
        return out

    def _chunk_head(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model}

    def _logprobs(self, ids: list[int], logprobs: list[float]) -> dict[str, Any] | None:
        return logprobs_body(ids, logprobs, self._piece, self.as_ids) if self.logprobs else None
