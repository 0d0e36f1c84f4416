"""`kimicua serve --model tiny` as a user starts it (a subprocess): the openai client's requests
with images, several at once, each answered as the engine answers it alone; bad input is one
line and exit 2."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from serve_helpers import answer, engine_answer, get_json, shot, user  # noqa: E402

CLI = [sys.executable, "-c", "from kimicua.tools.cli import main; main()", "serve"]


def kimicua_serve(args: list[str], cache) -> subprocess.Popen:
    env = {**os.environ, "KIMICUA_CACHE": str(cache)}
    return subprocess.Popen([*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_tiny_answers_the_openai_client_in_parallel(tmp_path):
    import torch

    from kimicua.model.weights import load_checkpoint

    server = kimicua_serve(["--model", "tiny", "--port", "0", "--dtype", "fp32", "--max-batch", "4"], tmp_path)
    try:
        line = server.stdout.readline()  # printed once the model is loaded
        found = re.match(r"serving tiny at (http://127\.0\.0\.1:\d+/v1) \(max batch 4, max model len 4096", line)
        assert found, (line, server.stderr.read() if server.poll() is not None else "")
        url = found.group(1)
        assert get_json(url.removesuffix("/v1") + "/health")[1]["status"] == "ok"
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=120)
        assert [m.id for m in client.models.list().data] == ["tiny"]
        specs = [("Click OK.", shot(96, 64, i)) for i in range(6)]

        def ask(spec):
            text, image = spec
            return answer(client.chat.completions.create(model="tiny", messages=user(text, image), temperature=0,
                                                         max_tokens=8, logprobs=True))

        with ThreadPoolExecutor(len(specs)) as pool:
            together = list(pool.map(ask, specs))
        model, processor, _ = load_checkpoint(tmp_path / "tiny", dtype=torch.float32)
        for (text, image), got in zip(specs, together):
            generation = engine_answer(model, processor, text, image, max_tokens=8)
            assert got[1] == generation.token_ids and got[0] == processor.decode(generation.token_ids)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)
    assert server.returncode in (0, 130)  # Ctrl-C: uvicorn stops, then re-raises it (kimicua's "aborted", 130)
    notices = server.stderr.read()
    assert "model 'tiny' has random weights" in notices


def one_error_line(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, (out, err)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("model, words", [
    ("/no/such/checkpoint", "no such checkpoint directory"),
    ("not a model", "unknown model 'not a model'"),
    ("http://127.0.0.1:9/v1", "kimicua serve serves a checkpoint"),
])
def test_a_model_it_cannot_serve_is_one_line_and_exit_2(tmp_path, model, words):
    assert words in one_error_line(kimicua_serve(["--model", model, "--port", "0"], tmp_path))


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        line = one_error_line(kimicua_serve(["--model", "tiny", "--port", str(port)], tmp_path))
    assert f"cannot listen on 127.0.0.1:{port}" in line and "in use" in line


def test_options_are_checked_before_anything_loads(tmp_path):
    line = one_error_line(kimicua_serve(["--model", "tiny", "--allowed-local-media-path", str(tmp_path / "nope")],
                                        tmp_path))
    assert "not a folder" in line
    line = one_error_line(kimicua_serve(["--model", "tiny", "--port", "0", "--max-model-len", "99999"], tmp_path))
    assert "--max-model-len 99999 exceeds the model's 4096 positions" in line
