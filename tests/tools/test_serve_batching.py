"""Continuous batching behind the openai client: concurrent requests, requests joining while
others decode, and clients that go away. Each answer equals the same request served alone."""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from serve_helpers import NAME, answer, engine_answer, get_json, shot, start, user, wait_until  # noqa: E402


@pytest.fixture(scope="module")
def server(tiny):
    with start(*tiny, max_batch=4) as running:
        yield running


def stats(server) -> dict:
    return get_json(server.url + "/health")[1]


# Eight different requests: text only or 1-2 images of different sizes, greedy or seeded sampling,
# with and without a stop string, different lengths: rows join and leave the batch at different steps.
REQUESTS = [
    dict(text="hi", images=(), max_tokens=6),
    dict(text="Click OK.", images=((96, 64, 1),), max_tokens=12),
    dict(text="Where is the search box on this page?", images=((200, 120, 2),), max_tokens=9, temperature=1.2,
         seed=5),
    dict(text="Diff?", images=((64, 64, 3), (120, 80, 4)), max_tokens=14),
    dict(text="Type hello.", images=((80, 80, 5),), max_tokens=7, temperature=0.8, top_p=0.8, seed=11),
    dict(text="Scroll down a bit.", images=(), max_tokens=16, stop=["e"]),
    dict(text="Open the menu.", images=((128, 72, 6),), max_tokens=5),
    dict(text="Close the dialog, then save.", images=((72, 128, 7),), max_tokens=11, temperature=2.0, seed=3),
]


def send(client, spec: dict):
    images = [shot(*size) for size in spec["images"]]
    extra = {k: spec[k] for k in ("seed", "top_p", "stop") if k in spec}
    return answer(client.chat.completions.create(
        model=NAME, messages=user(spec["text"], *images), max_tokens=spec["max_tokens"],
        temperature=spec.get("temperature", 0), logprobs=True, extra_body={"ignore_eos": True}, **extra))


def assert_equal(got, alone) -> None:
    assert got[0] == alone[0] and got[1] == alone[1] and got[3] == alone[3]
    assert np.allclose(got[2], alone[2], atol=1e-4, rtol=0)


def test_eight_threads_at_once_each_get_their_answer_alone(tiny, server, client):
    model, processor = tiny
    alone = [send(client, spec) for spec in REQUESTS]  # one at a time: the server idle before each
    for spec, got in zip(REQUESTS, alone):  # and alone means what the engine answers, no server
        if "stop" not in spec:
            images = [shot(*size) for size in spec["images"]]
            generation = engine_answer(model, processor, spec["text"], *images, max_tokens=spec["max_tokens"],
                                       temperature=spec.get("temperature", 0), top_p=spec.get("top_p", 1.0),
                                       seed=spec.get("seed"), stops=())
            assert got[1] == generation.token_ids
    before = stats(server)["stats"]
    with ThreadPoolExecutor(len(REQUESTS)) as pool:
        together = list(pool.map(lambda spec: send(client, spec), REQUESTS))
    for got, expected in zip(together, alone):
        assert_equal(got, expected)
    after = stats(server)
    assert after["busy"] == 0 and after["waiting"] == 0
    assert after["stats"]["max_rows"] >= 2  # they really were decoded together
    assert after["stats"]["admitted"] - before["admitted"] == len(REQUESTS)


def test_requests_join_while_another_decodes(tiny, server, client):
    long_spec = dict(text="Describe the screen.", images=((96, 96, 8),), max_tokens=300)
    alone_long = send(client, long_spec)
    joiners = REQUESTS[1:4]
    alone_joiners = [send(client, spec) for spec in joiners]
    joined_before = stats(server)["stats"]["joined_busy"]

    stream = client.chat.completions.create(
        model=NAME, messages=user(long_spec["text"], shot(96, 96, 8)), max_tokens=300, temperature=0,
        logprobs=True, stream=True, extra_body={"ignore_eos": True})
    chunks = iter(stream)
    first = [next(chunks), next(chunks)]  # the role chunk, then the first tokens: the long row is decoding
    with ThreadPoolExecutor(len(joiners)) as pool:
        joined = list(pool.map(lambda spec: send(client, spec), joiners))
    rest = list(chunks)
    ids = [i for c in first + rest if c.choices for i in (c.choices[0].model_extra.get("token_ids") or [])]
    text = "".join(c.choices[0].delta.content or "" for c in first + rest if c.choices)
    assert ids == alone_long[1] and text == alone_long[0]
    for got, expected in zip(joined, alone_joiners):
        assert_equal(got, expected)
    assert stats(server)["stats"]["joined_busy"] - joined_before >= len(joiners)


def test_a_stream_client_going_away_frees_its_slot(server, client):
    cancelled = stats(server)["stats"]["cancelled"]
    stream = client.chat.completions.create(model=NAME, messages=user("Wait.", shot(64, 64, 9)), max_tokens=1900,
                                            temperature=0, stream=True, extra_body={"ignore_eos": True})
    chunks = iter(stream)
    next(chunks), next(chunks)
    assert stats(server)["busy"] == 1
    stream.close()
    wait_until(lambda: stats(server)["busy"] == 0, "the slot of a closed stream to be freed")
    after = stats(server)["stats"]
    assert after["cancelled"] == cancelled + 1
    assert send(client, REQUESTS[0])[3] == "length"  # and the server answers on


def test_a_waiting_client_going_away_frees_its_slot(server, client):
    cancelled = stats(server)["stats"]["cancelled"]
    body = {"model": NAME, "messages": user("Wait more.", shot(64, 64, 10)), "max_tokens": 1900,
            "temperature": 0, "ignore_eos": True}
    url = urlparse(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    wait_until(lambda: stats(server)["busy"] == 1, "the request to start decoding")
    connection.close()  # gone before any answer came
    wait_until(lambda: stats(server)["busy"] == 0, "the slot of a gone client to be freed")
    assert stats(server)["stats"]["cancelled"] == cancelled + 1
