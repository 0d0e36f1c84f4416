"""A loopback static file server for task pages (127.0.0.1, a free port).

Browser tasks load small local HTML pages through it, so they need no network and
their URLs (``{pages}/todo.html``) are the same on every machine.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BUILTIN_PAGES = Path(__file__).parent / "builtin" / "pages"


class _QuietHandler(SimpleHTTPRequestHandler):
    # Pages are fetched many times per test run; per-request logging is noise.
    def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
        pass

    def end_headers(self):
        # Each episode must start from the page's initial state, not a cached one.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class PageServer:
    """Serves ``root`` at ``http://127.0.0.1:<port>`` until ``close()``."""

    def __init__(self, root: str | Path = BUILTIN_PAGES):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"page folder {self.root} does not exist")
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="kimicua-pages",
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> PageServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
