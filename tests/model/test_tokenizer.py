"""KimiTokenizer on the tiny ranks file: round trips, the Han-aware split, specials, errors."""

import base64
import itertools
import json

import pytest
import regex
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from kimicua.model.files import CheckpointError
from kimicua.model.tokenizer import (
    N_SPECIAL,
    PAT_STR,
    SPECIAL_OFFSETS,
    KimiTokenizer,
    load_ranks,
    write_tokenizer_files,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tok")
    info = write_tokenizer_files(out)
    return out, info, KimiTokenizer.from_pretrained(out)


def tiktoken_pieces(text: str) -> list[str]:
    """How tiktoken's own regex engine splits text.

    With every byte substring of text in the ranks, BPE merges each split piece into one token,
    so the tokens are exactly the pieces.
    """
    data = text.encode()
    subs = {data[i:j] for i in range(len(data)) for j in range(i + 2, len(data) + 1)}
    ranks = {bytes([b]): b for b in range(256)}
    for s in sorted(subs, key=lambda s: (len(s), s)):
        ranks[s] = len(ranks)
    enc = tiktoken.Encoding("probe", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens={})
    return [enc.decode_single_token_bytes(t).decode() for t in enc.encode_ordinary(text)]


def test_split_pattern_on_hand_checked_string():
    text = "Hello World你好世界 HTTPServer don't I'M 12345 ... \n\n  x 价格是100元。日本語のテキスト"
    expected = [
        "Hello", " World", "你好世界", " HTTPServer", " don't", " I'M", " ", "123", "45",
        " ...", " \n\n", " ", " x", " ", "价格是", "100", "元", "。", "日本語", "のテキスト",
    ]
    assert tiktoken_pieces(text) == expected
    # the `regex` module (V1 for `&&`) is the independent reference used for BPE training
    assert regex.findall(PAT_STR, text, flags=regex.V1) == expected


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZé中文字 \n\t.,'s1234!😀ſK_-ー")), max_size=24))
def test_tiktoken_split_matches_regex_module(text):
    assert tiktoken_pieces(text) == regex.findall(PAT_STR, text, flags=regex.V1)


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog.",
        "请点击屏幕右上角的设置按钮，然后选择显示。",
        "def f(x: int) -> int:\n\treturn x ** 2  # square\n",
        "done 😀👍🏽 🇯🇵 ok",
        "",
    ],
)
def test_round_trip(tiny, text):
    _, _, tok = tiny
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert all(0 <= i < tok.n_base for i in ids)


def test_merges_compress_and_every_token_is_reachable(tiny):
    out, info, tok = tiny
    ranks = load_ranks(out / "tiktoken.model")
    assert info.n_base == len(ranks) > 256 + 300
    assert len(tok.encode("the screenshot")) < len("the screenshot".encode())
    # a valid BPE: encoding each token's bytes as one piece gives back that token
    for token, rank in ranks.items():
        assert tok._enc._encode_single_piece(token) == [rank]


def test_specials_encode_to_their_ids(tiny):
    _, info, tok = tiny
    assert info.vocab_size == tok.vocab_size == info.n_base + N_SPECIAL
    for name, offset in SPECIAL_OFFSETS.items():
        assert tok.encode(name) == [info.n_base + offset]
        assert tok.token_id(name) == info.n_base + offset
        assert info.n_base + offset not in tok.encode(name, allow_special=False)
    assert (tok.bos_id, tok.eos_id, tok.pad_id) == (info.bos_id, info.eos_id, info.pad_id)
    assert (tok.im_end_id, tok.media_pad_id) == (info.im_end_id, info.media_pad_id)
    assert tok.encode("<|reserved_token_%d|>" % (info.n_base + 5)) == [info.n_base + 5]
    ids = tok.encode("<|im_user|>user<|im_middle|>hi<|im_end|>")
    assert ids[0] == tok.im_user_id and ids[-1] == tok.im_end_id
    assert tok.decode(ids, skip_special_tokens=True) == "userhi"
    assert tok.decode(ids) == "<|im_user|>user<|im_middle|>hi<|im_end|>"
    assert tok.id_to_piece(tok.media_pad_id) == "<|media_pad|>" and tok.id_to_piece(ord("A")) == "A"
    with pytest.raises(ValueError, match=f"token id {info.vocab_size} is outside"):
        tok.decode([1, info.vocab_size])


def test_config_names_win_and_missing_config_uses_known_names(tiny, tmp_path):
    out, info, _ = tiny
    (tmp_path / "tiktoken.model").write_bytes((out / "tiktoken.model").read_bytes())
    assert KimiTokenizer.from_pretrained(tmp_path).media_pad_id == info.media_pad_id
    cfg = json.loads((out / "tokenizer_config.json").read_text())
    assert len(cfg["added_tokens_decoder"]) == N_SPECIAL
    cfg["added_tokens_decoder"] = {str(info.n_base + 7): {"content": "<|custom|>"}}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    tok = KimiTokenizer.from_pretrained(tmp_path)
    assert tok.token_id("<|custom|>") == info.n_base + 7
    assert tok.encode("<|reserved_token_%d|>" % info.n_base) == [info.n_base]
    with pytest.raises(KeyError, match="im_end"):
        tok.im_end_id


def test_missing_or_corrupt_ranks_file_names_the_path(tmp_path):
    ranks = tmp_path / "tiktoken.model"
    with pytest.raises(CheckpointError, match=f"{ranks}: no such file"):
        KimiTokenizer.from_pretrained(tmp_path)
    ranks.write_text("IQ== 0\nnot-base64!! 1\n")
    with pytest.raises(CheckpointError, match=r"tiktoken.model: .*line 2 is not") as err:
        KimiTokenizer.from_pretrained(tmp_path)
    assert "\n" not in str(err.value)
    ranks.write_text("IQ== 0\nIg== 5\n")
    with pytest.raises(CheckpointError, match="not unique 0..n-1"):
        KimiTokenizer.from_pretrained(tmp_path)
    ranks.write_text("")
    with pytest.raises(CheckpointError, match=f"{ranks}: empty"):
        KimiTokenizer.from_pretrained(tmp_path)
    # well formed, but without the byte b"B": tiktoken would abort the process on an encode
    # of "B", so the loader refuses the file
    lines = [f"{base64.b64encode(bytes([b])).decode()} {i}" for i, b in enumerate(b for b in range(256) if b != 66)]
    ranks.write_text("\n".join(lines))
    with pytest.raises(CheckpointError, match=r"1 of the 256 single bytes have no rank \(first: 0x42\)"):
        KimiTokenizer.from_pretrained(tmp_path)


def test_corrupt_tokenizer_config_names_the_file(tiny, tmp_path):
    out, _, _ = tiny
    (tmp_path / "tiktoken.model").write_bytes((out / "tiktoken.model").read_bytes())
    config = tmp_path / "tokenizer_config.json"
    for text, problem in [("{not json", "not valid JSON"), ("[1, 2]", "expected a JSON object"),
                          ('{"added_tokens_decoder": []}', "added_tokens_decoder is not an object"),
                          ('{"added_tokens_decoder": {"x": {"content": "a"}}}', "entry 'x' is not id"),
                          ('{"added_tokens_decoder": {"5": "a"}}', "entry '5' is not id")]:
        config.write_text(text)
        with pytest.raises(CheckpointError) as err:
            KimiTokenizer.from_pretrained(tmp_path)
        assert str(err.value).startswith(f"{config}: ") and problem in str(err.value), text


def test_real_sized_vocab_puts_specials_at_the_published_ids(tmp_path):
    """163,584 base ranks (synthetic tokens) -> the ids of docs section 7 and config.json."""
    n_base = 163_584
    tokens = itertools.chain(
        (bytes([b]) for b in range(256)),
        (bytes(p) for p in itertools.product(range(256), repeat=2)),
        (bytes(p) for p in itertools.product(range(256), repeat=3)),
    )
    lines = (f"{base64.b64encode(t).decode()} {i}" for i, t in zip(range(n_base), tokens))
    (tmp_path / "tiktoken.model").write_text("\n".join(lines) + "\n")
    tok = KimiTokenizer.from_pretrained(tmp_path)
    assert (tok.n_base, tok.vocab_size) == (163_584, 163_840)  # config.json vocab_size
    published = {
        "[BOS]": 163584, "[EOS]": 163585, "<|im_end|>": 163586, "<|im_user|>": 163587,
        "<|im_assistant|>": 163588, "<|im_system|>": 163594, "<|im_middle|>": 163601,
        "<|media_start|>": 163602, "<|media_content|>": 163603, "<|media_end|>": 163604,
        "<|media_pad|>": 163605, "[PAD]": 163839,
    }
    assert {name: tok.token_id(name) for name in published} == published
    assert tok.encode("<|reserved_token_163590|>") == [163590]
