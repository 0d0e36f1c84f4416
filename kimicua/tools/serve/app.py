"""The HTTP side of `kimicua serve`: FastAPI routes over one Scheduler.

Routes: POST /v1/chat/completions (JSON, or SSE with stream=true), GET /v1/models, GET /health
(200 with the batch's state once the model is loaded, 503 while it loads). Errors are OpenAI's
JSON error body: 400 for a request this server cannot answer (bad image, prompt too long,
unsupported option), 401 for a missing or wrong API key, 404 for another model's name or an
unknown route, 413 for a body or image over the limit, 422 for a body that does not fit the
schema, 503 while loading, shutting down or with too many requests waiting (with Retry-After).

Each request is tokenized (images decoded and preprocessed) on a worker thread, then queued for
the scheduler; a client that disconnects, streamed or not, has its job cancelled and its slot
freed before the next decode step. FastAPI and sse-starlette are imported when the app is built,
so this package imports without the serve extra.
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions' annotations
# at runtime, and `Request` is a name local to create_app.

import asyncio
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kimicua.tools.serve.detok import TextStream
from kimicua.tools.serve.media import to_messages
from kimicua.tools.serve.protocol import Answer, ApiError, ChatRequest, error_body, model_list, now
from kimicua.tools.serve.scheduler import Job, Scheduler, Unavailable, Update

_RETRY_AFTER = {"Retry-After": "1"}


@dataclass
class ServerState:
    """What the routes serve: the model's name, its scheduler (None while loading), the limits."""

    name: str
    scheduler: Scheduler | None = None
    media_dir: Path | None = None  # local image files are read only under it (None: none are)
    api_key: str | None = None
    max_request_bytes: int = 128 << 20
    max_image_bytes: int = 32 << 20
    created: int = field(default_factory=now)

    def ready(self) -> Scheduler:
        if self.scheduler is None:
            raise ApiError(503, f"model {self.name} is still loading; retry shortly", kind="service_unavailable")
        return self.scheduler


def create_app(state: ServerState):
    """The FastAPI app serving `state`."""
    from fastapi import Depends, FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from sse_starlette import EventSourceResponse
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    app = FastAPI(title="kimicua serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_BodyLimit, limit=state.max_request_bytes)

    def error(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
        headers = _RETRY_AFTER if status == 503 else None
        return JSONResponse(error_body(message, kind, param, status), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_request, err: ApiError):
        return error(err.status, err.message, err.kind, err.param)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request, err: RequestValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(422, f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg")),
                     "invalid_request_error", where or None)

    @app.exception_handler(HTTPException)
    async def http_error(_request, err: HTTPException):
        return error(err.status_code, str(err.detail), "invalid_request_error")

    def authorized(request: Request) -> None:
        if state.api_key is not None and request.headers.get("authorization") != f"Bearer {state.api_key}":
            raise ApiError(401, "missing or wrong API key (Authorization: Bearer ...)", kind="authentication_error")

    @app.get("/health")
    async def health():
        if state.scheduler is None:
            return JSONResponse({"status": "loading", "model": state.name}, status_code=503, headers=_RETRY_AFTER)
        s = state.scheduler
        return {"status": "ok", "model": state.name, "max_batch": s.max_batch, "max_model_len": s.max_model_len,
                "busy": s.busy, "waiting": s.waiting, "stats": asdict(s.stats)}

    @app.get("/v1/models", dependencies=[Depends(authorized)])
    async def models():
        limit = state.scheduler.max_model_len if state.scheduler is not None else None
        return model_list(state.name, limit, state.created)

    @app.post("/v1/chat/completions", dependencies=[Depends(authorized)])
    async def chat(body: ChatRequest, request: Request):
        sched = state.ready()
        if body.model != state.name:
            raise ApiError(404, f"the model `{body.model}` does not exist; this server serves `{state.name}`",
                           kind="not_found_error", param="model")
        body.check()
        batch, max_new = await run_in_threadpool(_tokenize, body, state, sched)
        prompt_ids = batch["input_ids"][0].tolist() if body.return_token_ids else None  # images make it long
        answer = Answer(body, state.name, sched.processor.tokenizer.id_to_piece, prompt_ids)
        queue: asyncio.Queue[Update] = asyncio.Queue()
        job = _job(body, batch, max_new, sched, _deliverer(queue))
        try:
            sched.submit(job)
        except Unavailable as err:
            raise ApiError(503, str(err), kind="service_unavailable") from None
        if body.stream:
            return EventSourceResponse(_events(answer, job, queue, sched))
        update = await _until_done_or_gone(queue, request, sched, job)
        if update is None:  # the client is gone: nobody reads this
            return JSONResponse(error_body("client disconnected", "cancelled"), status_code=499)
        if update.error is not None:
            raise ApiError(update.status, update.error, kind="server_error")
        return answer.body(update.text, update.token_ids, update.logprobs, update.finish_reason, job.prompt_tokens)

    return app


def _tokenize(body: ChatRequest, state: ServerState, sched: Scheduler) -> tuple[dict, int]:
    """(the processor's batch, max new tokens) on a worker thread: images decoded, template
    rendered, tokens counted against --max-model-len."""
    messages, images = to_messages(body, state.media_dir, state.max_image_bytes)
    try:
        batch = sched.processor(messages, images)
    except ValueError as err:  # an image the processor cannot use, a content item it does not know
        raise ApiError(400, " ".join(str(err).split()), param="messages") from None
    n, limit = batch["input_ids"].shape[1], sched.max_model_len
    room = limit - n
    if room < 1:
        raise ApiError(400, f"the prompt is {n} tokens: no room for an answer under --max-model-len {limit}",
                       param="messages")
    want = body.token_limit
    if want is not None and want > room:
        raise ApiError(400, f"max_tokens {want} plus the prompt's {n} tokens exceed --max-model-len {limit}",
                       param="max_tokens")
    return batch, want if want is not None else room


def _job(body: ChatRequest, batch: dict, max_new: int, sched: Scheduler, deliver) -> Job:
    stops = () if body.ignore_eos else tuple(sched.processor.stop_token_ids)
    stops += tuple(body.stop_token_ids or ())
    return Job(
        input_ids=batch["input_ids"], pixel_values=batch["pixel_values"], image_grid_hws=batch["image_grid_hws"],
        max_new_tokens=max_new,
        temperature=1.0 if body.temperature is None else body.temperature,  # OpenAI's defaults
        top_p=1.0 if body.top_p is None else body.top_p,
        seed=body.seed, stop_token_ids=stops,
        text=TextStream(sched.processor.decode, body.stop_strings),
        stream=bool(body.stream), deliver=deliver,
    )


def _deliverer(queue: asyncio.Queue):
    """A thread-safe put onto this event loop's queue (a no-op once the loop is closed)."""
    loop = asyncio.get_running_loop()

    def deliver(update: Update) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, update)
        except RuntimeError:  # the loop is closed: nobody is listening
            pass

    return deliver


async def _until_done_or_gone(queue: asyncio.Queue, request, sched: Scheduler, job: Job) -> Update | None:
    """The job's update, or None (job cancelled) when the client disconnects first."""
    got = asyncio.ensure_future(queue.get())
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({got, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the server is stopping this handler
        sched.cancel(job)
        raise
    finally:
        for task in (got, gone):
            task.cancel()
    if got in done:
        return got.result()
    sched.cancel(job)
    return None


async def _disconnected(request) -> None:
    """Returns when the client hangs up (the body is already read: the next message is that)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _events(answer: Answer, job: Job, queue: asyncio.Queue, sched: Scheduler):
    """The SSE stream: a role chunk, content chunks as tokens come, a finish chunk, the usage
    when asked, then [DONE]. Stopped early (the client gone), the job is cancelled."""
    ended = False
    try:
        yield _json(answer.chunk({"role": "assistant", "content": ""}, first=True))
        n = 0
        while True:
            update = await queue.get()
            if update.error is not None:
                ended = True
                yield _json(error_body(update.error, "server_error", code=update.status))
                break
            n += len(update.token_ids)
            if update.text or update.token_ids:
                yield _json(answer.chunk({"content": update.text}, update.token_ids, update.logprobs))
            if update.finish_reason is not None:
                ended = True
                yield _json(answer.chunk({}, finish=update.finish_reason))
                if answer.include_usage:
                    yield _json(answer.usage_chunk(job.prompt_tokens, n))
                break
        yield "[DONE]"
    finally:
        if not ended:
            sched.cancel(job)


class _BodyLimit:
    """ASGI middleware: 413 before reading a body whose Content-Length is over the limit."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope.get("headers") or ()).get(b"content-length", b"0")
            if length.isdigit() and int(length) > self.limit:
                body = json.dumps(error_body(f"request body of {int(length)} bytes exceeds the "
                                             f"{self.limit}-byte limit", "invalid_request_error", code=413)).encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _json(data) -> str:
    return json.dumps(data, separators=(",", ":"))
