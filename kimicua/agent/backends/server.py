"""A policy served by any OpenAI-compatible chat endpoint (vLLM, SGLang, ...).

Stdlib HTTP only (urllib): one JSON request per step needs no client library, and the
core stays installable without extras. Screenshots travel as PNG data URLs at native
resolution; the server's own processor resizes them, so ``Reply.image_size`` is None.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from kimicua.agent.backends.errors import BackendError
from kimicua.agent.policy import Prompt, Reply

# vLLM's --return-tokens-as-token-ids writes each logprob token as "token_id:1234".
_TOKEN_ID = re.compile(r"^token_id:(\d+)$")
_MAX_RETRY_AFTER_S = 60.0


def encode_png(image: np.ndarray) -> bytes:
    """RGB uint8 [H, W, 3] -> PNG bytes; compress_level 1 because size matters less
    than latency on a local link (level 6 is several times slower on a 1080p frame)."""
    from PIL import Image

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 [H, W, 3] image, got {image.dtype} {list(image.shape)}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def to_openai_messages(prompt: Prompt) -> list[dict]:
    """The prompt's messages with each ``{"type": "image"}`` item replaced, in order,
    by an ``image_url`` item holding that image as a PNG data URL."""
    images = iter(prompt.images)
    used = 0
    out = []
    for msg in prompt.messages:
        content = msg.get("content")
        if isinstance(content, list):
            items = []
            for item in content:
                if item.get("type") == "image":
                    image = next(images, None)
                    if image is None:
                        raise ValueError(f"prompt has more image items than its {len(prompt.images)} images")
                    used += 1
                    url = "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")
                    item = {"type": "image_url", "image_url": {"url": url}}
                items.append(item)
            msg = {**msg, "content": items}
        out.append(msg)
    if used != len(prompt.images):
        raise ValueError(f"prompt has {used} image items but {len(prompt.images)} images")
    return out


def _api_root(base_url: str) -> str:
    """'http://h:8000', 'http://h:8000/' and 'http://h:8000/v1' all -> 'http://h:8000/v1'."""
    root = base_url.rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise ValueError(f"server URL must start with http:// or https://, got {base_url!r}")
    return root if root.endswith("/v1") else root + "/v1"


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _http_detail(err: urllib.error.HTTPError) -> str:
    """The server's own error message (OpenAI, vLLM and FastAPI shapes), one line."""
    try:
        body = err.read().decode("utf-8", "replace")
    except OSError:
        body = ""
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            inner = data.get("error", data)
            body = str(inner.get("message") or inner.get("detail") or body) if isinstance(inner, dict) else str(inner)
    except ValueError:
        pass
    reason = err.reason if isinstance(err.reason, str) else ""
    return _one_line(f"{reason}: {body}" if body.strip() else reason)


def _cause(err: BaseException) -> str:
    """A short name for a transport failure: 'connection refused', 'timed out', ..."""
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        err = err.reason
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    text = str(err) or type(err).__name__
    return _one_line(f"{type(err).__name__}: {text}" if text != type(err).__name__ else text)


class ServerPolicy:
    """Answers prompts through POST {base_url}/v1/chat/completions.

    Connection errors, timeouts, 429 and 5xx are retried ``max_retries`` times with
    exponential backoff (``backoff * 2**i`` seconds, or the server's Retry-After when
    longer); other 4xx fail at once. ``timeout`` bounds each socket wait. ``extra_body``
    is merged into every request (e.g. vLLM's ``{"return_token_ids": True}``).
    """

    notice: str | None = None

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        temperature: float = 0.0,
        max_tokens: int = 512,
        api_key: str | None = None,
        logprobs: bool = True,
        extra_body: dict[str, Any] | None = None,
    ):
        if timeout <= 0 or max_retries < 0 or backoff < 0:
            raise ValueError("timeout must be > 0, max_retries and backoff >= 0")
        self.base_url = base_url
        self.root = _api_root(base_url)
        self.model = model
        self.timeout, self.max_retries, self.backoff = timeout, max_retries, backoff
        self.temperature, self.max_tokens, self.logprobs = temperature, max_tokens, logprobs
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.extra_body = dict(extra_body or {})
        self.seed: int | None = None
        self._calls = 0

    @property
    def name(self) -> str:
        return self.model or self.root

    def resolve_model(self) -> str:
        """The served model's id: the one given, else the first of GET /v1/models (asked once)."""
        if self.model is None:
            self._models(self._call("GET", self.root + "/models"))
        return self.model

    def _models(self, data: Any) -> None:
        url = self.root + "/models"
        try:
            listed = [str(m["id"]) for m in data["data"]]
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"GET {url}: not an OpenAI model list", url=url) from None
        if not listed:
            raise BackendError(f"GET {url}: the server lists no model", url=url)
        if self.model is None:
            self.model = listed[0]

    def reset(self, seed: int | None) -> None:
        """Request i of this episode asks for ``seed + i`` (OpenAI's ``seed``; servers
        that sample deterministically honour it, vLLM among them)."""
        self.seed, self._calls = seed, 0

    def check(self, timeout: float = 10.0) -> None:
        """One GET /v1/models, no retries: a run fails in seconds, naming the URL, when
        the server is not there (rather than trying every task)."""
        self._models(self._call("GET", self.root + "/models", retries=0, timeout=min(timeout, self.timeout)))

    def act(self, prompt: Prompt) -> Reply:
        """Send the prompt; returns the reply's text, and logprobs/token ids when served."""
        model = self.resolve_model()
        return self._act(prompt, model, self._seeds(1)[0])

    def act_batch(self, prompts: list[Prompt]) -> list[Reply]:
        """All the prompts' requests in flight at once (one thread each, each with its own
        retries); replies in order, request i with ``seed + i`` as ``act`` would send it. The
        first failure in prompt order is raised once every request has ended."""
        model = self.resolve_model()  # asked once, before the threads start
        seeds = self._seeds(len(prompts))
        if len(prompts) <= 1:
            return [self._act(p, model, s) for p, s in zip(prompts, seeds)]
        with ThreadPoolExecutor(max_workers=len(prompts), thread_name_prefix="kimicua-request") as pool:
            futures = [pool.submit(self._act, p, model, s) for p, s in zip(prompts, seeds)]
            wait(futures)
        return [f.result() for f in futures]

    def _seeds(self, n: int) -> list[int | None]:
        """The seeds of the next n requests (None when unseeded)."""
        first, self._calls = self._calls, self._calls + n
        return [None if self.seed is None else self.seed + first + i for i in range(n)]

    def _act(self, prompt: Prompt, model: str, seed: int | None) -> Reply:
        t0 = time.perf_counter()
        body: dict[str, Any] = {
            "model": model,
            "messages": to_openai_messages(prompt),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            **({"logprobs": True} if self.logprobs else {}),
            **({"seed": seed} if seed is not None else {}),
            **self.extra_body,
        }
        payload = json.dumps(body).encode("utf-8")
        t1 = time.perf_counter()
        url = self.root + "/chat/completions"
        data = self._call("POST", url, payload)
        t2 = time.perf_counter()
        return self._reply(data, url, model, {"preprocess_s": t1 - t0, "request_s": t2 - t1})

    def close(self) -> None:
        """Nothing held between requests (one connection per request)."""

    def _reply(self, data: Any, url: str, model: str, timings: dict[str, float]) -> Reply:
        try:
            served = str(data.get("model") or model)
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            content = (choice.get("logprobs") or {}).get("content") or []
            logprobs = [float(c["logprob"]) for c in content] or None
            token_ids = choice.get("token_ids")  # vLLM with return_token_ids
            if token_ids is None and content:
                ids = [_TOKEN_ID.match(str(c.get("token", ""))) for c in content]
                token_ids = [int(m.group(1)) for m in ids] if all(ids) else None
            token_ids = [int(t) for t in token_ids] if token_ids is not None else None
            # What the model was shown, when the server says (vLLM and `kimicua serve` with
            # return_token_ids: pass it in extra_body, e.g. {"return_token_ids": true}).
            prompt_ids = data.get("prompt_token_ids", choice.get("prompt_token_ids"))
            prompt_ids = [int(t) for t in prompt_ids] if prompt_ids is not None else None
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as err:
            shape = f"{type(err).__name__}: {err}"
            raise BackendError(f"POST {url}: unexpected response shape ({shape})", url=url) from None
        return Reply(text=text, model=served, token_ids=token_ids, logprobs=logprobs,
                     prompt_token_ids=prompt_ids, timings=timings)

    def _call(self, method: str, url: str, payload: bytes | None = None, *, retries: int | None = None,
              timeout: float | None = None) -> Any:
        """One JSON request with bounded retries; BackendError after the last failure."""
        retries = self.max_retries if retries is None else retries
        timeout = self.timeout if timeout is None else timeout
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempts, attempt = retries + 1, 0
        while True:
            attempt += 1
            delay = self.backoff * 2 ** (attempt - 1)
            request = urllib.request.Request(url, data=payload, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=timeout) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as err:
                status, failure = err.code, f"HTTP {err.code} {_http_detail(err)}"
                err.close()
                if status != 429 and status < 500:
                    raise BackendError(f"{method} {url}: {failure}", url=url, status=status, attempts=attempt) from None
                delay = max(delay, _retry_after(err.headers.get("Retry-After")))
            except (OSError, http.client.HTTPException) as err:  # URLError and timeouts are OSErrors
                status, failure = None, _cause(err)
                if failure == "timed out":
                    failure = f"timed out after {timeout:g} s"
            else:
                try:
                    return json.loads(raw)
                except ValueError:
                    start = _one_line(raw.decode("utf-8", "replace"), 80)
                    raise BackendError(f"{method} {url}: response is not JSON: {start}", url=url, attempts=attempt) from None
            if attempt == attempts:
                message = f"{method} {url}: {failure} (after {attempts} attempts)"
                raise BackendError(message, url=url, status=status, attempts=attempts)
            time.sleep(delay)


def _retry_after(value: str | None) -> float:
    """Seconds from a numeric Retry-After header (capped), else 0."""
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER_S) if value else 0.0
    except ValueError:
        return 0.0
