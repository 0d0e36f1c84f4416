"""`kimicua serve`: the on-device model as a shared OpenAI-compatible server."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _fail(message: str) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(2)


def serve_command(
    model: str = typer.Option(..., "--model", help="'tiny', a checkpoint directory or a hub id owner/name."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface; set --api-key then)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port (0: any free one, printed when ready)."),
    max_batch: int = typer.Option(8, min=1, help="Requests decoded together (cache slots); more wait in a queue."),
    max_model_len: int | None = typer.Option(None, min=2, help="Prompt + answer tokens per request (default: the model's, at most 16384)."),
    served_model_name: str | None = typer.Option(None, help="The name /v1/models lists and requests use (default: 'tiny', the checkpoint folder's name or the hub id)."),
    dtype: str | None = typer.Option(None, help="bf16, fp16 or fp32 (default: bf16 on a GPU, the model's CPU default otherwise)."),
    device: str | None = typer.Option(None, help="cpu or cuda[:N] (default: cuda when available)."),
    compile: bool = typer.Option(False, "--compile", help="Decode through torch.compile (GPU: fewer, fused kernels under the CUDA graphs; each new batch shape compiles once, tens of seconds)."),
    allowed_local_media_path: Path | None = typer.Option(None, help="Let requests name image files inside this folder (file:// URLs or absolute paths); none otherwise."),
    api_key: str | None = typer.Option(None, envvar="KIMICUA_API_KEY", help="Require 'Authorization: Bearer KEY' on /v1 routes."),
    log_level: str = typer.Option("warning", help=f"uvicorn's log level: {', '.join(LOG_LEVELS)} (debug logs each request)."),
) -> None:
    """Serve the model over HTTP (chat completions with images, streaming, logprobs) with continuous batching."""
    from importlib.util import find_spec

    missing = [name for name in ("fastapi", "uvicorn", "sse_starlette") if find_spec(name) is None]
    if missing:
        _fail(f"kimicua serve needs the serve extra ({', '.join(missing)} missing): pip install 'kimicua[serve]'")
    from kimicua.tools.serve.app import ServerState
    from kimicua.tools.serve.run import bind, load_scheduler, serve, served_name

    if log_level not in LOG_LEVELS:
        _fail(f"--log-level {log_level!r}: expected one of {', '.join(LOG_LEVELS)}")
    media = None
    if allowed_local_media_path is not None:
        media = allowed_local_media_path.expanduser().resolve()
        if not media.is_dir():
            _fail(f"--allowed-local-media-path {allowed_local_media_path}: not a folder")
    try:
        sock = bind(host, port)
    except ValueError as err:
        _fail(str(err))
    name = served_model_name or served_name(model)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}/v1"
    state = ServerState(name=name, media_dir=media, api_key=api_key)
    typer.echo(f"loading {model} (requests get 503 until it is ready) ...", err=True)

    def load():
        scheduler, notice = load_scheduler(model, max_batch=max_batch, max_model_len=max_model_len,
                                           dtype=dtype, device=device, compiled=compile)
        if notice:
            typer.echo(f"notice: {notice}", err=True)
        return scheduler

    def ready() -> None:
        s = state.scheduler
        typer.echo(f"serving {name} at {url} (max batch {s.max_batch}, max model len {s.max_model_len}, "
                   f"{s.model.device} {str(s.model.dtype).removeprefix('torch.')})")
        sys.stdout.flush()

    failure = serve(state, sock, load, log_level=log_level, on_ready=ready)
    if failure is not None:
        _fail(failure)
