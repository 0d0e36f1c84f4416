"""The one error type every backend raises when the model cannot answer."""

from __future__ import annotations


class BackendError(OSError):
    """A model backend could not load or answer (after its retries); the message is one line.

    A local checkpoint that is missing, unreachable on the hub or broken is not an I/O
    failure of this kind: LocalPolicy lets the model package's CheckpointError (a ValueError,
    also one line, naming the file or hub id) through as it is.

    An OSError, like requests' RequestException: it is an I/O failure, and callers that
    report OSErrors as one line (the CLI) report this one too.

    ``url`` is the endpoint (server backends), ``status`` the last HTTP status when
    there was one, ``attempts`` how many requests were made.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.url, self.status, self.attempts = url, status, attempts

    def __reduce__(self):
        # OSError pickles only its args; keep the fields when it crosses to a Ray driver
        return type(self), (str(self),), {"url": self.url, "status": self.status, "attempts": self.attempts}
