"""Starting the server: bind the socket, load the model off the event loop, run uvicorn.

The socket is bound first, so a port in use fails at once; the model then loads on a thread
while the server already answers (/health is 503 "loading" until it is ready, /v1/models names
it), so workers started alongside wait on a live address rather than a refused one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kimicua.tools.serve.app import ServerState, create_app
from kimicua.tools.serve.scheduler import Scheduler

DEFAULT_MAX_MODEL_LEN = 16384  # the cache is [max_batch, max_model_len] per layer: 8 x 16384 is ~4 GB in bf16


def served_name(spec: str) -> str:
    """The default --served-model-name: 'tiny', a checkpoint folder's name, or the hub id."""
    path = Path(spec).expanduser()
    return path.name if spec != "tiny" and path.is_dir() else spec


def load_scheduler(spec: str, *, max_batch: int, max_model_len: int | None, dtype=None,
                   device: str | None = None, compiled: bool = False) -> tuple[Scheduler, str | None]:
    """(a Scheduler over the checkpoint `spec` names, the model's notice if any). The model forms
    are make_policy's (tiny, a directory, a hub id); a bad one is a one-line ValueError."""
    import torch

    from kimicua.agent.backends import make_policy

    if spec.startswith(("http://", "https://")) or spec == "scripted":
        raise ValueError(f"--model {spec!r}: kimicua serve serves a checkpoint (tiny, a directory or a hub id)")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    policy = make_policy(spec, dtype=dtype, device=device)
    positions = policy.model.config.text.max_position_embeddings
    if max_model_len is not None and max_model_len > positions:
        raise ValueError(f"--max-model-len {max_model_len} exceeds the model's {positions} positions")
    limit = max_model_len or min(positions, DEFAULT_MAX_MODEL_LEN)
    scheduler = Scheduler(policy.model, policy.processor, max_batch=max_batch, max_model_len=limit, compiled=compiled)
    return scheduler, policy.notice


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; ValueError naming the address when it cannot be had (say in use)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as err:
        raise ValueError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def _uvicorn(state: ServerState, log_level: str):
    import uvicorn

    config = uvicorn.Config(create_app(state), log_level=log_level, access_log=log_level == "debug",
                            lifespan="off", timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def serve(state: ServerState, sock: socket.socket, load: Callable[[], Scheduler], *,
          log_level: str = "warning", on_ready: Callable[[], None] | None = None) -> str | None:
    """Serve on `sock` until interrupted, loading the model with `load` on a thread meanwhile.
    Returns None, or the load's error (one line) after the server has stopped."""
    server = _uvicorn(state, log_level)
    failure: list[str] = []

    def loader() -> None:
        try:
            state.scheduler = load()
        except Exception as err:  # CheckpointError and friends are one-line ValueErrors; OOM is not
            failure.append(" ".join(str(err).split()) or type(err).__name__)
            server.should_exit = True
            return
        if on_ready is not None:
            on_ready()

    thread = threading.Thread(target=loader, name="kimicua-load", daemon=True)
    thread.start()
    try:
        server.run(sockets=[sock])
    finally:
        if state.scheduler is not None:
            state.scheduler.close()
        sock.close()
    return failure[0] if failure else None


class BackgroundServer:
    """`state` served on a thread (tests, benchmarks): `url` is http://host:port; `close()` stops
    the server and the scheduler."""

    def __init__(self, state: ServerState, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.state = state
        self.sock = bind(host, port)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = _uvicorn(state, log_level)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server at {self.url} did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        if self.state.scheduler is not None:
            self.state.scheduler.close()
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
