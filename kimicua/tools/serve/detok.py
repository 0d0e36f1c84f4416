"""Incremental detokenization with stop strings: what text of a growing answer may be sent now.

Text is decoded from all the answer's tokens at each step (an answer is at most a few thousand
tokens, decoded in microseconds), so a character split across tokens comes out whole. Two things
are held back until the next tokens settle them: a trailing U+FFFD (the first bytes of a
character whose last bytes have not been generated yet), and the last len(longest stop) - 1
characters (they may be the start of a stop string).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

_PARTIAL = "\ufffd"


class TextStream:
    """Feed token ids as they are generated; get the text that is final, and whether a stop
    string ended the answer (the text stops before it, as OpenAI's API does)."""

    def __init__(self, decode: Callable[[list[int]], str], stops: Sequence[str] = ()):
        if any(not s for s in stops):
            raise ValueError("stop strings must not be empty")
        self._decode = decode
        self.stops = tuple(stops)
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._ids: list[int] = []
        self.text = ""  # what has been handed out so far
        self.stopped = False

    def push(self, ids: Sequence[int]) -> str:
        """The text that became final with these new tokens (may be empty)."""
        if self.stopped:
            return ""
        self._ids.extend(ids)
        full = self._decode(self._ids)
        hit = self._first_stop(full)
        if hit is not None:
            self.stopped = True
            return self._emit(full[:hit])
        end = len(full) - self._hold
        while end > len(self.text) and full[end - 1] == _PARTIAL:
            end -= 1
        return self._emit(full[:end])

    def finish(self) -> str:
        """The rest of the text once no token will follow (partial characters included, as
        U+FFFD, since nothing can complete them now)."""
        if self.stopped:
            return ""
        full = self._decode(self._ids)
        return self._emit(full)

    def _first_stop(self, full: str) -> int | None:
        # a stop string cannot lie wholly inside text already sent (it would have stopped
        # then), so the search starts where the held-back tail begins
        start = max(len(self.text) - self._hold, 0)
        hits = [i for i in (full.find(s, start) for s in self.stops) if i >= 0]
        return max(min(hits), len(self.text)) if hits else None

    def _emit(self, upto: str) -> str:
        if not upto.startswith(self.text) or len(upto) <= len(self.text):
            return ""
        new = upto[len(self.text):]
        self.text = upto
        return new
