"""ServerPolicy against a real HTTP server on loopback (ThreadingHTTPServer in a thread)."""

from __future__ import annotations

import base64
import io
import json
import pickle
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from kimicua.agent.backends import BackendError, ServerPolicy
from kimicua.agent.policy import Prompt

MODEL = "kimi-vl-test"


class FakeOpenAI:
    """Serves /v1/models and /v1/chat/completions; ``plan`` scripts the next chat
    responses as (status, body, headers, stall_s); an empty plan answers ``reply``."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict, object]] = []
        self.plan: list[tuple[int, object, dict, float]] = []
        self.reply: dict = completion("hello")
        self.release = threading.Event()  # set at teardown so stalled handlers return
        self.respond = None  # body -> reply for an unplanned chat request, when set (else ``reply``)
        self.gate = 0  # hold chat requests until this many are in flight at once (once; at most 10 s)
        self.inflight = self.max_inflight = 0
        self.cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, status, body, headers=None):
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                fake.requests.append(("GET", self.path, dict(self.headers), None))
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": MODEL}, {"id": "other"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(("POST", self.path, dict(self.headers), body))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                with fake.cond:
                    fake.inflight += 1
                    fake.max_inflight = max(fake.max_inflight, fake.inflight)
                    fake.cond.notify_all()
                    if fake.cond.wait_for(lambda: fake.inflight >= fake.gate, timeout=10.0):
                        fake.gate = 0  # the gate opens once
                    reply = fake.respond(body) if fake.respond else fake.reply
                    planned = fake.plan.pop(0) if fake.plan else (200, reply, {}, 0.0)
                try:
                    status, payload, headers, stall = planned
                    if stall and fake.release.wait(stall):
                        return
                    self._send(status, payload, headers)
                finally:
                    with fake.cond:
                        fake.inflight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def chats(self) -> list[dict]:
        return [body for method, path, _, body in self.requests if method == "POST"]


def completion(text: str, logprobs: list[dict] | None = None, **choice) -> dict:
    lp = {"content": logprobs} if logprobs is not None else None
    return {
        "id": "c1", "object": "chat.completion", "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "logprobs": lp, "finish_reason": "stop", **choice}],
    }


@pytest.fixture
def fake(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # loopback must not go through a proxy
    server = FakeOpenAI()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


def decode_data_url(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url[len(prefix):]))).convert("RGB"))


def test_images_arrive_as_png_data_urls_at_native_size_in_order(fake):
    rng = np.random.default_rng(0)
    first = rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)
    second = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    messages = [
        {"role": "system", "content": "You are a GUI agent."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "then"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "now"}, {"type": "image"}]},
    ]
    policy = ServerPolicy(fake.url, api_key="sk-test")
    reply = policy.act(Prompt(messages, [first, second]))

    assert reply.text == "hello" and reply.model == MODEL and reply.image_size is None
    (body,) = fake.chats()
    assert body["model"] == MODEL and body["temperature"] == 0.0 and body["max_tokens"] == 512
    sent = body["messages"]
    assert sent[0] == messages[0] and sent[2] == messages[2]
    assert sent[1]["content"][1] == {"type": "text", "text": "then"}
    assert sent[3]["content"][0] == {"type": "text", "text": "now"}
    got = [sent[1]["content"][0], sent[3]["content"][1]]
    assert all(item["type"] == "image_url" for item in got)
    np.testing.assert_array_equal(decode_data_url(got[0]["image_url"]["url"]), first)
    np.testing.assert_array_equal(decode_data_url(got[1]["image_url"]["url"]), second)
    assert messages[1]["content"][0] == {"type": "image"}  # the caller's prompt is untouched
    assert fake.requests[-1][2]["Authorization"] == "Bearer sk-test"


def test_model_is_listed_once_and_base_url_forms_agree(fake):
    for base in (fake.url, fake.url + "/", fake.url + "/v1", fake.url + "/v1/"):
        policy = ServerPolicy(base)
        assert policy.act(Prompt([{"role": "user", "content": "hi"}])).text == "hello"
        policy.act(Prompt([{"role": "user", "content": "again"}]))
        assert policy.name == MODEL
    gets = [r for r in fake.requests if r[0] == "GET"]
    assert [r[1] for r in gets] == ["/v1/models"] * 4  # one per policy, not per act
    assert ServerPolicy(fake.url, "given").resolve_model() == "given"
    assert len([r for r in fake.requests if r[0] == "GET"]) == 4


def test_503_is_retried_with_exponential_backoff_then_succeeds(fake):
    fake.plan = [(503, {"error": {"message": "overloaded"}}, {}, 0.0)] * 2
    policy = ServerPolicy(fake.url, MODEL, backoff=0.1, max_retries=3)
    t0 = time.perf_counter()
    reply = policy.act(Prompt([{"role": "user", "content": "hi"}]))
    elapsed = time.perf_counter() - t0
    assert reply.text == "hello"
    assert len(fake.chats()) == 3
    assert 0.3 <= elapsed < 3.0  # slept 0.1 then 0.2


def test_429_honours_retry_after(fake):
    fake.plan = [(429, {"error": {"message": "slow down"}}, {"Retry-After": "0.3"}, 0.0)]
    t0 = time.perf_counter()
    ServerPolicy(fake.url, MODEL, backoff=0.0).act(Prompt([{"role": "user", "content": "hi"}]))
    assert time.perf_counter() - t0 >= 0.3
    assert len(fake.chats()) == 2


def test_400_is_not_retried_and_names_url_status_and_message(fake):
    fake.plan = [(400, {"error": {"message": "bad image"}}, {}, 0.0)] * 5
    with pytest.raises(BackendError) as info:
        ServerPolicy(fake.url, MODEL, backoff=0.0).act(Prompt([{"role": "user", "content": "hi"}]))
    err = info.value
    assert len(fake.chats()) == 1 and err.status == 400 and err.attempts == 1
    msg = str(err)
    assert f"{fake.url}/v1/chat/completions" in msg and "400" in msg and "bad image" in msg
    assert "\n" not in msg
    assert isinstance(err, OSError)  # the CLI reports OSErrors as one line
    copy = pickle.loads(pickle.dumps(err))  # crosses process boundaries (Ray workers)
    assert (str(copy), type(copy), copy.url, copy.status) == (msg, BackendError, err.url, 400)


def test_5xx_gives_up_after_max_retries(fake):
    fake.plan = [(500, b"<html>\nboom\n</html>", {}, 0.0)] * 5
    with pytest.raises(BackendError, match=r"HTTP 500 .*boom.*after 3 attempts") as info:
        ServerPolicy(fake.url, MODEL, backoff=0.0, max_retries=2).act(Prompt([{"role": "user", "content": "x"}]))
    assert len(fake.chats()) == 3 and info.value.status == 500 and "\n" not in str(info.value)


def test_stalled_server_times_out_within_bound(fake):
    fake.plan = [(200, completion("late"), {}, 30.0)] * 2
    policy = ServerPolicy(fake.url, MODEL, timeout=0.3, max_retries=1, backoff=0.0)
    t0 = time.perf_counter()
    with pytest.raises(BackendError, match="timed out after 0.3 s") as info:
        policy.act(Prompt([{"role": "user", "content": "hi"}]))
    assert time.perf_counter() - t0 < 3.0
    assert len(fake.chats()) == 2 and info.value.status is None
    assert fake.url in str(info.value)


def test_connection_refused_names_url():
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(BackendError, match="connection refused") as info:
        ServerPolicy(url, max_retries=1, backoff=0.0).act(Prompt([{"role": "user", "content": "hi"}]))
    assert f"GET {url}/v1/models" in str(info.value) and info.value.attempts == 2


def test_logprobs_and_token_ids_are_parsed(fake):
    prompt = Prompt([{"role": "user", "content": "hi"}])
    fake.reply = completion("ab", [{"token": "a", "logprob": -0.5}, {"token": "b", "logprob": -1.25}])
    reply = ServerPolicy(fake.url, MODEL).act(prompt)
    assert reply.logprobs == [-0.5, -1.25] and reply.token_ids is None
    assert fake.chats()[-1]["logprobs"] is True

    fake.reply = completion("ab", [{"token": "token_id:7", "logprob": -0.1}, {"token": "token_id:9", "logprob": 0.0}])
    reply = ServerPolicy(fake.url, MODEL).act(prompt)
    assert reply.token_ids == [7, 9] and reply.logprobs == [-0.1, 0.0]

    fake.reply = completion("ab", [{"token": "a", "logprob": -0.5}], token_ids=[41, 42])
    policy = ServerPolicy(fake.url, MODEL, extra_body={"return_token_ids": True})
    assert policy.act(prompt).token_ids == [41, 42] and policy.act(prompt).prompt_token_ids is None
    assert fake.chats()[-1]["return_token_ids"] is True
    fake.reply = {**completion("ab", token_ids=[41, 42]), "prompt_token_ids": [1, 2, 3]}  # vLLM's place
    assert policy.act(prompt).prompt_token_ids == [1, 2, 3]

    fake.reply = completion("ab")
    reply = ServerPolicy(fake.url, MODEL, logprobs=False).act(prompt)
    assert reply.logprobs is None and reply.token_ids is None
    assert "logprobs" not in fake.chats()[-1]


def test_bad_responses_and_prompts_fail_clearly(fake):
    fake.plan = [(200, b"not json", {}, 0.0), (200, {"choices": []}, {}, 0.0), (200, [1, 2], {}, 0.0)]
    policy = ServerPolicy(fake.url, MODEL, backoff=0.0)
    prompt = Prompt([{"role": "user", "content": "hi"}])
    with pytest.raises(BackendError, match="not JSON"):
        policy.act(prompt)
    for _ in range(2):
        with pytest.raises(BackendError, match="unexpected response shape"):
            policy.act(prompt)
    assert len(fake.chats()) == 3  # a malformed 200 is not retried
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="1 image items but 2 images"):
        policy.act(Prompt([{"role": "user", "content": [{"type": "image"}]}], [image, image]))
    with pytest.raises(ValueError, match="more image items"):
        policy.act(Prompt([{"role": "user", "content": [{"type": "image"}]}], []))
    with pytest.raises(ValueError, match="RGB uint8"):
        policy.act(Prompt([{"role": "user", "content": [{"type": "image"}]}], [np.zeros((4, 4), np.uint8)]))
    with pytest.raises(ValueError, match="http:// or https://"):
        ServerPolicy("localhost:8000")


def echo(body: dict) -> dict:
    """A reply naming the request: its last message's text and its seed."""
    return completion(f"{body['messages'][-1]['content']}|{body.get('seed')}")


def numbered(n: int) -> list[Prompt]:
    return [Prompt([{"role": "user", "content": f"prompt {i}"}]) for i in range(n)]


def test_act_batch_has_every_request_in_flight_at_once_and_answers_in_order(fake):
    fake.respond, fake.gate = echo, 4
    policy = ServerPolicy(fake.url)  # no model given: asked of the server
    policy.reset(10)
    replies = policy.act_batch(numbered(4))
    assert fake.max_inflight == 4  # all four were held open together
    assert [r.text for r in replies] == [f"prompt {i}|{10 + i}" for i in range(4)]  # seed + i, in order
    assert policy.act(numbered(1)[0]).text == "prompt 0|14"  # act goes on counting after the batch
    assert all(set(r.timings) == {"preprocess_s", "request_s"} for r in replies)
    assert [r[0] for r in fake.requests].count("GET") == 1  # the model is resolved once, not per thread


def test_act_batch_requests_keep_their_own_retries(fake):
    fake.respond, fake.gate = echo, 3
    fake.plan = [(503, {"error": {"message": "overloaded"}}, {}, 0.0)]
    replies = ServerPolicy(fake.url, MODEL, backoff=0.0).act_batch(numbered(3))
    assert [r.text for r in replies] == [f"prompt {i}|None" for i in range(3)]
    assert len(fake.chats()) == 4  # one request was answered 503 and sent again


def test_act_batch_raises_a_failed_request_after_the_others_end(fake):
    fake.respond, fake.gate = echo, 3
    fake.plan = [(400, {"error": {"message": "bad image"}}, {}, 0.0)]
    with pytest.raises(BackendError, match="HTTP 400 .*bad image") as info:
        ServerPolicy(fake.url, MODEL, backoff=0.0).act_batch(numbered(3))
    assert info.value.status == 400 and len(fake.chats()) == 3
