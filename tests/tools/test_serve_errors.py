"""What `kimicua serve` refuses, and how: OpenAI-shaped errors the openai client raises as its
typed exceptions; local image files only under --allowed-local-media-path; an API key; the
loading state."""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from serve_helpers import NAME, answer, get_json, shot, start, user  # noqa: E402

from kimicua.tools.serve.app import ServerState  # noqa: E402
from kimicua.tools.serve.run import BackgroundServer  # noqa: E402


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def server(tiny, media):
    # a short context and small limits, so that each limit is reached with small requests
    with start(*tiny, max_model_len=160, media_dir=media, max_request_bytes=300_000, max_image_bytes=100_000) as s:
        yield s


def ask(client, messages, **kw):
    return client.chat.completions.create(model=kw.pop("model", NAME), messages=messages,
                                          max_tokens=kw.pop("max_tokens", 4), temperature=0, **kw)


def image_item(url: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                         {"type": "text", "text": "Click OK."}]}]


def test_another_models_name_is_404(client):
    with pytest.raises(openai.NotFoundError, match="`gpt-4o` does not exist; this server serves `tiny-test`"):
        ask(client, user("hi"), model="gpt-4o")


@pytest.mark.parametrize("options, words", [
    (dict(n=2), "n=2 is not supported"),
    (dict(logprobs=True, top_logprobs=3), "top_logprobs > 0 is not supported"),
    (dict(presence_penalty=0.5), "presence_penalty is not supported"),
    (dict(stop=[""]), "stop strings must not be empty"),
    (dict(max_tokens=500), "max_tokens 500 plus the prompt's"),
])
def test_options_it_cannot_honour_are_400(client, options, words):
    with pytest.raises(openai.BadRequestError, match=words):
        ask(client, user("hi"), **options)


def test_schema_errors_are_422_naming_the_field(client):
    with pytest.raises(openai.UnprocessableEntityError, match="messages.0.role"):
        ask(client, [{"role": "tool", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError, match="max_tokens"):
        ask(client, user("hi"), max_tokens=0)


def test_a_prompt_longer_than_the_context_is_400(client):
    with pytest.raises(openai.BadRequestError, match="no room for an answer under --max-model-len 160"):
        ask(client, user("word " * 200))


@pytest.mark.parametrize("url, words", [
    ("data:image/png;base64,!!!notbase64", "not valid base64"),
    ("data:image/png;base64," + base64.b64encode(b"not a png").decode(), "not an image Pillow can read"),
    ("data:text/plain;base64,aGk=", "expected a base64 image data URL"),
    ("https://example.com/shot.png", "image URLs are not fetched"),
    ("shot.png", "must be a data URL, a file:// URL or an absolute path"),
])
def test_unusable_images_are_400_naming_the_item(client, url, words):
    with pytest.raises(openai.BadRequestError, match=words) as err:
        ask(client, image_item(url))
    assert "messages[0].content[0]" in str(err.value)


def test_bodies_and_images_over_the_limits_are_413(client):
    big = shot(400, 400, seed=0)  # a noise PNG of about 480 kB: over both limits
    with pytest.raises(openai.APIStatusError, match="exceeds the 300000-byte limit") as err:
        ask(client, user("hi", big))
    assert err.value.status_code == 413
    mid = shot(190, 190, seed=0)  # about 108 kB: under the body limit, over the image limit
    with pytest.raises(openai.APIStatusError, match="exceeds the 100000-byte limit") as err:
        ask(client, user("hi", mid))
    assert err.value.status_code == 413


def test_local_files_only_inside_the_allowed_folder(client, media, tmp_path):
    from PIL import Image

    image = shot(64, 48, seed=12)
    Image.fromarray(image).save(media / "shot.png")
    by_data = answer(ask(client, user("Click OK.", image)))
    assert answer(ask(client, image_item((media / "shot.png").as_uri()))) == by_data
    assert answer(ask(client, image_item(str(media / "shot.png")))) == by_data
    Image.fromarray(image).save(tmp_path / "outside.png")
    (media / "link.png").symlink_to(tmp_path / "outside.png")
    for path in (tmp_path / "outside.png", media / ".." / tmp_path.name / "outside.png", media / "link.png"):
        with pytest.raises(openai.BadRequestError, match="is outside the allowed folder"):
            ask(client, image_item(str(path)))
    with pytest.raises(openai.BadRequestError, match="no such image file"):
        ask(client, image_item(str(media / "missing.png")))
    with pytest.raises(openai.BadRequestError, match="must name a file on this machine"):
        ask(client, image_item("file://otherhost/shot.png"))


def test_no_local_files_unless_a_folder_is_allowed(tiny, media):
    with start(*tiny) as bare:
        client = openai.OpenAI(base_url=bare.url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.BadRequestError, match="local image files are not allowed"):
            ask(client, image_item(str(media / "shot.png")))


def test_an_api_key_is_required_when_set(tiny):
    with start(*tiny, api_key="sesame") as locked:
        wrong = openai.OpenAI(base_url=locked.url + "/v1", api_key="guess", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="missing or wrong API key"):
            ask(wrong, user("hi"))
        right = openai.OpenAI(base_url=locked.url + "/v1", api_key="sesame", max_retries=0)
        assert answer(ask(right, user("hi")))[3] in ("stop", "length")
        assert get_json(locked.url + "/health")[0] == 200  # health needs no key


def test_while_loading_health_and_chat_are_503_and_the_name_is_listed():
    with BackgroundServer(ServerState(name="loading-model")) as loading:
        status, body = get_json(loading.url + "/health")
        assert status == 503 and body == {"status": "loading", "model": "loading-model"}
        client = openai.OpenAI(base_url=loading.url + "/v1", api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["loading-model"]
        with pytest.raises(openai.InternalServerError, match="still loading") as err:
            client.chat.completions.create(model="loading-model", messages=user("hi"))
        assert err.value.status_code == 503 and err.value.response.headers["retry-after"] == "1"


def test_data_url_images_are_accepted_as_jpeg_too(client):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(shot(64, 64, seed=13)).save(buf, format="JPEG")
    url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
    assert answer(ask(client, image_item(url)))[3] in ("stop", "length")


class _UndecodableTokens:
    """The tiny processor, but no answer token can be decoded (as with a model whose vocabulary
    is wider than its tokenizer's)."""

    def __init__(self, processor):
        self._processor = processor

    def __getattr__(self, name):
        return getattr(self._processor, name)

    def __call__(self, *args, **kwargs):
        return self._processor(*args, **kwargs)

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        raise ValueError(f"token id {ids[0]} is outside the vocabulary")


def test_a_failing_request_is_500_and_the_server_answers_on(tiny):
    model, processor = tiny
    with start(model, _UndecodableTokens(processor)) as broken:
        client = openai.OpenAI(base_url=broken.url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.InternalServerError, match="detokenizing failed: token id"):
            ask(client, user("hi"), extra_body={"ignore_eos": True})
        stream = ask(client, user("hi"), extra_body={"ignore_eos": True}, stream=True)
        with pytest.raises(openai.APIError, match="detokenizing failed: token id"):  # an error event mid-stream
            list(stream)
        status, health = get_json(broken.url + "/health")
        assert status == 200 and health["busy"] == 0 and health["stats"]["failed"] == 2
