"""`kimicua serve` answered by the official openai client (a client no one here wrote): the tiny
checkpoint in fp32, served in this process. Every answer is checked against the engine's own
answer to the same conversation (generate() on the processor's output, no server)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from serve_helpers import NAME, answer, engine_answer, get_json, shot, start, user  # noqa: E402


@pytest.fixture(scope="module")
def server(tiny):
    with start(*tiny) as running:
        yield running


def assert_same(served, generation, processor) -> None:
    text, ids, logprobs, finish = served
    assert ids == generation.response_ids  # the stop token included, as vLLM returns it
    assert text == processor.decode(generation.token_ids)
    assert finish == generation.finish_reason
    if logprobs is not None:
        assert np.allclose(logprobs, generation.response_logprobs, atol=1e-4, rtol=0)


def test_models_and_health(server, client):
    assert [m.id for m in client.models.list().data] == [NAME]
    status, health = get_json(server.url + "/health")
    assert status == 200 and health["status"] == "ok" and health["model"] == NAME
    assert health["max_batch"] == 4 and health["max_model_len"] == 2048


def test_an_image_answer_equals_the_engines_greedy_answer(tiny, client):
    model, processor = tiny
    image = shot(96, 64, seed=1)
    completion = client.chat.completions.create(model=NAME, messages=user("Click OK.", image), temperature=0,
                                                max_tokens=10, logprobs=True)
    served = answer(completion)
    generation = engine_answer(model, processor, "Click OK.", image, max_tokens=10)
    assert_same(served, generation, processor)
    assert len(served[2]) == len(served[1]) >= 1 and all(math.isfinite(lp) and lp <= 0 for lp in served[2])
    assert completion.model == NAME and completion.object == "chat.completion"
    assert completion.usage.prompt_tokens == generation.prompt_tokens
    assert completion.usage.completion_tokens == len(generation.token_ids)
    assert completion.choices[0].logprobs.content[0].token == processor.tokenizer.id_to_piece(served[1][0])


def test_max_tokens_bounds_the_answer(tiny, client):
    model, processor = tiny
    for n in (1, 3):
        completion = client.chat.completions.create(model=NAME, messages=user("Type hello."), temperature=0,
                                                    max_tokens=n, extra_body={"ignore_eos": True})
        text, ids, _, finish = answer(completion)
        assert len(ids) == n and finish == "length"
        assert ids == engine_answer(model, processor, "Type hello.", max_tokens=n, stops=()).token_ids


def test_stop_string_ends_the_answer_before_it(tiny, client):
    model, processor = tiny
    image = shot(80, 80, seed=2)
    full = engine_answer(model, processor, "Scroll down.", image, max_tokens=16, stops=())
    text = processor.decode(full.token_ids)
    assert len(text) >= 8
    stop = text[4:7]  # a piece from the middle: the answer must end just before its first occurrence
    completion = client.chat.completions.create(model=NAME, messages=user("Scroll down.", image), temperature=0,
                                                max_tokens=16, stop=[stop, "never-said-0"], logprobs=True,
                                                extra_body={"ignore_eos": True})
    served_text, ids, logprobs, finish = answer(completion)
    assert finish == "stop" and served_text == text[: text.index(stop)]
    # the tokens up to the one that completed the stop string, each with its logprob
    k = next(i for i in range(1, len(full.token_ids) + 1) if stop in processor.decode(full.token_ids[:i]))
    assert ids == full.token_ids[:k] and np.allclose(logprobs, full.logprobs[:k], atol=1e-4)


def test_seed_with_temperature_replays_and_differs_by_seed(tiny, client):
    model, processor = tiny
    image = shot(64, 96, seed=3)

    def sampled(seed):
        return answer(client.chat.completions.create(model=NAME, messages=user("Open the menu.", image),
                                                     temperature=1.5, top_p=0.9, seed=seed, max_tokens=8,
                                                     logprobs=True))

    first = sampled(7)
    assert sampled(7)[1] == first[1]
    assert sampled(8)[1] != first[1]
    generation = engine_answer(model, processor, "Open the menu.", image, max_tokens=8, temperature=1.5,
                               top_p=0.9, seed=7)
    assert_same(first, generation, processor)


def test_stream_sends_the_same_answer_in_pieces(tiny, client):
    model, processor = tiny
    image = shot(96, 64, seed=4)
    generation = engine_answer(model, processor, "Where is the search box?", image, max_tokens=12, stops=())
    stream = client.chat.completions.create(model=NAME, messages=user("Where is the search box?", image),
                                            temperature=0, max_tokens=12, logprobs=True, stream=True,
                                            stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
    chunks = list(stream)
    content = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) >= 2  # really streamed: the tokens came in several chunks
    text = "".join(c.choices[0].delta.content for c in content)
    ids = [i for c in chunks if c.choices for i in (c.choices[0].model_extra.get("token_ids") or [])]
    logprobs = [t.logprob for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert ids == generation.token_ids and text == processor.decode(ids)
    assert np.allclose(logprobs, generation.logprobs, atol=1e-4)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 12
    assert chunks[0].choices[0].delta.role == "assistant"


def test_return_token_ids_adds_the_prompts_ids(tiny, client):
    model, processor = tiny
    image = shot(64, 64, seed=5)
    completion = client.chat.completions.create(model=NAME, messages=user("Hi", image), temperature=0, max_tokens=2,
                                                extra_body={"return_token_ids": True, "return_tokens_as_token_ids": True},
                                                logprobs=True)
    items = [{"type": "image"}, {"type": "text", "text": "Hi"}]
    expected = processor([{"role": "user", "content": items}], [image])["input_ids"][0].tolist()
    assert completion.model_extra["prompt_token_ids"] == expected
    ids = completion.choices[0].token_ids
    assert [t.token for t in completion.choices[0].logprobs.content] == [f"token_id:{i}" for i in ids]
    plain = client.chat.completions.create(model=NAME, messages=user("Hi", image), temperature=0, max_tokens=2,
                                           extra_body={"return_token_ids": False})
    assert "token_ids" not in plain.choices[0].model_extra and "prompt_token_ids" not in plain.model_extra


def test_a_stop_token_ends_the_ids_and_logprobs_but_not_the_text(tiny, client):
    """The answer's last id is the stop token it ended on, with its logprob (a trainer learns to
    stop from it), as vLLM returns token_ids; the text leaves it out."""
    model, processor = tiny
    free = engine_answer(model, processor, "Type hello.", max_tokens=8, stops=())
    stop = free.token_ids[3]
    cut = free.token_ids.index(stop)
    completion = client.chat.completions.create(model=NAME, messages=user("Type hello."), temperature=0, max_tokens=8,
                                                logprobs=True, extra_body={"stop_token_ids": [stop]})
    text, ids, logprobs, finish = answer(completion)
    assert ids == free.token_ids[: cut + 1] and ids[-1] == stop and finish == "stop"
    assert np.allclose(logprobs, free.logprobs[: cut + 1], atol=1e-4, rtol=0)
    assert text == processor.decode(free.token_ids[:cut])
    assert completion.usage.completion_tokens == cut + 1
