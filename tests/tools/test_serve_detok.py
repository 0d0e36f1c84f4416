"""TextStream: the text of a growing answer, sent as it becomes final. Tokens here are single
bytes, so characters split across tokens and stop strings spanning tokens are the common case."""

from __future__ import annotations

import pytest

from kimicua.tools.serve.detok import TextStream

VOCAB = [bytes([b]) for b in range(256)]


def decode(ids: list[int]) -> str:
    return b"".join(VOCAB[i] for i in ids).decode("utf-8", errors="replace")


def ids_of(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def feed(stream: TextStream, ids: list[int]) -> list[str]:
    pieces = [stream.push([i]) for i in ids]
    return pieces + [stream.finish()]


def test_pieces_join_to_the_text_and_never_hold_half_a_character():
    text = "héllo wörld, 東京 ✓"
    pieces = feed(TextStream(decode), ids_of(text))
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)
    assert sum(1 for p in pieces if p) >= 10  # really incremental


def test_a_stop_string_across_tokens_ends_the_text_before_it():
    stream = TextStream(decode, ["wör", "zzz"])
    pieces = feed(stream, ids_of("héllo wörld"))
    assert "".join(pieces) == "héllo " and stream.stopped and stream.text == "héllo "
    assert not any("w" in p for p in pieces)  # the stop's start was held back, never sent
    assert stream.push(ids_of("more")) == "" and stream.finish() == ""


def test_the_earliest_stop_wins_and_a_stop_at_the_start_gives_nothing():
    stream = TextStream(decode, ["lo", "el"])
    assert "".join(feed(stream, ids_of("hello"))) == "h"
    stream = TextStream(decode, ["he"])
    assert "".join(feed(stream, ids_of("hello"))) == "" and stream.stopped


def test_text_that_only_starts_like_a_stop_is_sent_in_the_end():
    stream = TextStream(decode, ["wörm"])
    assert "".join(feed(stream, ids_of("héllo wör"))) == "héllo wör" and not stream.stopped


def test_bytes_no_token_will_complete_come_out_as_replacement_at_the_end():
    stream = TextStream(decode)
    pieces = [stream.push(ids_of("ab")), stream.push([0xE6, 0x9D])]  # the first two bytes of 東
    assert pieces == ["ab", ""]
    assert stream.finish() == "\ufffd"


def test_empty_stop_strings_are_refused():
    with pytest.raises(ValueError, match="must not be empty"):
        TextStream(decode, ["x", ""])
