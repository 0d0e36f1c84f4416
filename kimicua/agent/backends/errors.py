"""The one error type every backend raises when the model cannot answer."""

from __future__ import annotations


class BackendError(RuntimeError):
    """A model backend failed after its retries; the message is one line.

    ``url`` is the endpoint (server backends), ``status`` the last HTTP status when
    there was one, ``attempts`` how many requests were made.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.url, self.status, self.attempts = url, status, attempts
