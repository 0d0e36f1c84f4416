"""Kimi's tiktoken BPE tokenizer: base ranks from `tiktoken.model`, then 256 special tokens."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import regex
import tiktoken

from kimicua.model.files import CheckpointError, read_json

# The Han-aware pre-tokenizer split (docs/kimi-vl.md section 7), verbatim. tiktoken's
# fancy-regex engine accepts the `&&` class intersections; the `regex` module needs V1 for them.
PAT_STR = "|".join(
    [
        r"""[\p{Han}]+""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
N_SPECIAL = 256
RANKS_FILE = "tiktoken.model"
CONFIG_FILE = "tokenizer_config.json"
# tiktoken's Rust core can overflow its stack on huge inputs; the official tokenizer chunks too.
_MAX_ENCODE_CHARS = 400_000

# Offsets from n_base of the named specials (ids of the real checkpoint minus 163584).
SPECIAL_OFFSETS = {
    "[BOS]": 0,
    "[EOS]": 1,
    "<|im_end|>": 2,
    "<|im_user|>": 3,
    "<|im_assistant|>": 4,
    "<|im_system|>": 10,
    "<|im_middle|>": 17,
    "<|media_start|>": 18,
    "<|media_content|>": 19,
    "<|media_end|>": 20,
    "<|media_pad|>": 21,
    "[PAD]": 255,
}


def load_ranks(path: str | Path) -> dict[bytes, int]:
    """Read a tiktoken ranks file (`<base64 token> <rank>` per line); ranks must be 0..n-1 and
    cover all 256 single bytes (tiktoken's encoder aborts the process on a byte it lacks)."""
    path = Path(path)
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file (the tokenizer's ranks)") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read it ({e.strerror or type(e).__name__})") from None
    ranks: dict[bytes, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except (ValueError, binascii.Error):
            raise CheckpointError(
                f"{path}: corrupt tokenizer ranks file: line {lineno} is not '<base64 token> <rank>'"
            ) from None
    if not ranks:
        raise CheckpointError(f"{path}: empty tokenizer ranks file")
    values = set(ranks.values())
    if len(values) != len(ranks) or min(values) != 0 or max(values) != len(ranks) - 1:
        raise CheckpointError(f"{path}: corrupt tokenizer ranks file: ranks are not unique 0..n-1")
    lacking = [b for b in range(256) if bytes([b]) not in ranks]
    if lacking:
        raise CheckpointError(f"{path}: corrupt tokenizer ranks file: {len(lacking)} of the 256 single bytes "
                              f"have no rank (first: 0x{lacking[0]:02x})")
    return ranks


def read_added_tokens(path: Path) -> dict | None:
    """tokenizer_config.json's added_tokens_decoder ({id: {"content": name}}), checked; None
    when the file is absent."""
    if not path.is_file():
        return None
    decoder = read_json(path).get("added_tokens_decoder", {})
    if not isinstance(decoder, dict):
        raise CheckpointError(f"{path}: added_tokens_decoder is not an object")
    for key, entry in decoder.items():
        if not key.isdigit() or not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
            raise CheckpointError(f"{path}: added_tokens_decoder entry {key!r} is not id -> {{\"content\": name}}")
    return decoder


def special_names(n_base: int, added_tokens_decoder: dict | None) -> dict[str, int]:
    """Names of the 256 specials: from added_tokens_decoder, else `<|reserved_token_{id}|>`.

    Without any added_tokens_decoder (no tokenizer_config.json) the known Kimi names are used.
    """
    if added_tokens_decoder is None:
        by_id = {n_base + off: name for name, off in SPECIAL_OFFSETS.items()}
    else:
        by_id = {int(i): entry["content"] for i, entry in added_tokens_decoder.items()}
    ids = range(n_base, n_base + N_SPECIAL)
    names = {by_id.get(i, f"<|reserved_token_{i}|>"): i for i in ids}
    if len(names) != N_SPECIAL:
        raise ValueError("two special tokens share a name in added_tokens_decoder")
    return names


class KimiTokenizer:
    """tiktoken Encoding with Kimi's split pattern; specials in text encode as specials."""

    def __init__(self, ranks: dict[bytes, int], specials: dict[str, int], name: str = "kimi"):
        self.n_base = len(ranks)
        self.vocab_size = self.n_base + N_SPECIAL
        self.special_ids = dict(specials)
        self._special_by_id = {i: s for s, i in specials.items()}
        self._enc = tiktoken.Encoding(
            name=name, pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens=specials
        )

    @classmethod
    def from_pretrained(cls, path: str | Path) -> KimiTokenizer:
        """Load `tiktoken.model` (+ `tokenizer_config.json` for the special names) from a dir."""
        path = Path(path)
        ranks = load_ranks(path / RANKS_FILE)
        decoder = read_added_tokens(path / CONFIG_FILE)
        try:
            specials = special_names(len(ranks), decoder)
        except ValueError as e:
            raise CheckpointError(f"{path / CONFIG_FILE}: {e}") from None
        return cls(ranks, specials, name=path.name or "kimi")

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Token ids of text; with allow_special false, special names are encoded as plain text."""
        allowed = "all" if allow_special else set()
        ids: list[int] = []
        for start in range(0, len(text), _MAX_ENCODE_CHARS):
            chunk = text[start : start + _MAX_ENCODE_CHARS]
            ids.extend(self._enc.encode(chunk, allowed_special=allowed, disallowed_special=()))
        return ids

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """Text of ids (invalid UTF-8 becomes U+FFFD); optionally drops special tokens."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"token id {bad[0]} is outside the vocabulary 0..{self.vocab_size - 1}")
        if skip_special_tokens:
            ids = [i for i in ids if i < self.n_base]
        return self._enc.decode(ids, errors="replace")

    def token_id(self, name: str) -> int:
        """Id of a special token by name, e.g. `<|im_end|>`."""
        try:
            return self.special_ids[name]
        except KeyError:
            raise KeyError(f"special token {name!r} is not in this tokenizer") from None

    def id_to_piece(self, token_id: int) -> str:
        """Readable form of one token (special name, or its bytes decoded with replacement)."""
        if token_id in self._special_by_id:
            return self._special_by_id[token_id]
        return self._enc.decode_single_token_bytes(token_id).decode("utf-8", errors="replace")

    bos_id = property(lambda self: self.token_id("[BOS]"))
    eos_id = property(lambda self: self.token_id("[EOS]"))
    pad_id = property(lambda self: self.token_id("[PAD]"))
    im_end_id = property(lambda self: self.token_id("<|im_end|>"))
    im_user_id = property(lambda self: self.token_id("<|im_user|>"))
    im_assistant_id = property(lambda self: self.token_id("<|im_assistant|>"))
    im_system_id = property(lambda self: self.token_id("<|im_system|>"))
    im_middle_id = property(lambda self: self.token_id("<|im_middle|>"))
    media_start_id = property(lambda self: self.token_id("<|media_start|>"))
    media_content_id = property(lambda self: self.token_id("<|media_content|>"))
    media_end_id = property(lambda self: self.token_id("<|media_end|>"))
    media_pad_id = property(lambda self: self.token_id("<|media_pad|>"))


# ---------------------------------------------------------------- tiny files for tests

@dataclass(frozen=True)
class TokenizerInfo:
    """Sizes and ids of a written tokenizer (what a tiny checkpoint's config needs)."""

    n_base: int
    vocab_size: int
    bos_id: int
    eos_id: int
    pad_id: int
    im_end_id: int
    media_pad_id: int


_TRAIN_TEXT = """\
The agent looks at the screenshot, finds the button and clicks it. Then it types the text
into the search field and presses Enter. If the page is still loading, it waits for a
second and takes another screenshot. When the task is done, it reports the answer; when it
cannot be done, it says so and stops. Open the settings, select the display tab, and change
the resolution to 1920 x 1080. Save the file as report.txt in the Documents folder.

def click(x: float, y: float) -> None:
    \"\"\"Click at a relative point of the screen.\"\"\"
    width, height = screen.size()
    pyautogui.click(x=int(x * width), y=int(y * height))

for step in range(max_steps):
    observation = env.capture()
    action = policy.act(observation, history=history)
    if action.kind == "done":
        break
    history.append((observation, action))
    print(f"step {step}: {action}")

class Tokenizer:
    def encode(self, text: str) -> list[int]:
        return [self.vocab[piece] for piece in self.split(text)]

import json, os
with open(os.path.join("data", "config.json")) as f:
    config = json.load(f)
return {"input_ids": input_ids, "attention_mask": attention_mask}
"""


@functools.cache
def tiny_ranks(n_merges: int = 400) -> dict[bytes, int]:
    """All 256 bytes plus n_merges BPE merges learned greedily from a built-in English+code text.

    Deterministic (ties go to the smallest pair of ranks); merges stay inside split pieces,
    as tiktoken's encoder applies them.
    """
    ranks = {bytes([b]): b for b in range(256)}
    words = Counter(tuple(bytes([b]) for b in m.encode()) for m in _split_re().findall(_TRAIN_TEXT))
    for _ in range(n_merges):
        pairs: Counter = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], ranks[p[0]], ranks[p[1]]))
        merged = best[0] + best[1]
        ranks[merged] = len(ranks)
        words = Counter({_merge(w, best, merged): c for w, c in words.items()})
    return ranks


def _merge(word: tuple[bytes, ...], pair: tuple[bytes, bytes], merged: bytes) -> tuple[bytes, ...]:
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


@functools.cache
def _split_re() -> regex.Pattern:
    return regex.compile(PAT_STR, flags=regex.V1)


def write_tokenizer_files(out_dir: str | Path, n_merges: int = 400) -> TokenizerInfo:
    """Write a tiny `tiktoken.model` and `tokenizer_config.json` (real special names/offsets)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ranks = tiny_ranks(n_merges)
    lines = (f"{base64.b64encode(tok).decode()} {rank}" for tok, rank in ranks.items())
    (out_dir / RANKS_FILE).write_text("\n".join(lines) + "\n")
    n_base = len(ranks)
    names = special_names(n_base, None)
    added = {
        str(i): {"content": name, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": True}
        for name, i in sorted(names.items(), key=lambda kv: kv[1])
    }
    config = {
        "added_tokens_decoder": added,
        "bos_token": "[BOS]",
        "eos_token": "[EOS]",
        "pad_token": "[PAD]",
        "model_max_length": 131072,
        "tokenizer_class": "TikTokenTokenizer",
    }
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return TokenizerInfo(
        n_base=n_base,
        vocab_size=n_base + N_SPECIAL,
        bos_id=n_base + SPECIAL_OFFSETS["[BOS]"],
        eos_id=n_base + SPECIAL_OFFSETS["[EOS]"],
        pad_id=n_base + SPECIAL_OFFSETS["[PAD]"],
        im_end_id=n_base + SPECIAL_OFFSETS["<|im_end|>"],
        media_pad_id=n_base + SPECIAL_OFFSETS["<|media_pad|>"],
    )
