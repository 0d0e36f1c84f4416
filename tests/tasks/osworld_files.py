"""Real OSWorld tasks on the local desktop, with their files served over loopback.

OSWorld's tasks download their files from its Hugging Face file cache; the tests serve
files of their own making from a loopback HTTP server instead, under the same paths,
and load each task with its URLs pointed at that server.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from pathlib import Path
from urllib.parse import unquote

from kimicua.tasks.schema import Task, parse_task

OSWORLD = Path(__file__).resolve().parents[3] / "shared" / "osworld" / "examples"
FILE_CACHE = "https://huggingface.co/datasets/xlangai/ubuntu_osworld_file_cache/resolve/main/"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class FileServer:
    """Serves ``root`` on 127.0.0.1 as OSWorld's file cache."""

    def __init__(self, root: Path):
        self.root = root
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    def path(self, cache_url: str) -> Path:
        """Where the file OSWorld's cache has at ``cache_url`` is served from (parents made)."""
        target = self.root / unquote(cache_url.removeprefix(FILE_CACHE).split("?")[0])
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def task_file(domain: str, task_id: str) -> Path:
    return OSWORLD / domain / f"{task_id}.json"


def cache_urls(domain: str, task_id: str) -> list[str]:
    """The file-cache URLs the task names, in file order."""
    text = task_file(domain, task_id).read_text()
    found, start = [], 0
    while (i := text.find(FILE_CACHE, start)) >= 0:
        end = text.index('"', i)
        found.append(text[i:end])
        start = end
    return found


def localized(domain: str, task_id: str, server: FileServer) -> Task:
    """The OSWorld task with its file-cache URLs pointed at ``server``."""
    return parse_task(json.loads(task_file(domain, task_id).read_text().replace(FILE_CACHE, server.url)))


def wait_for(check, timeout: float = 60.0, what: str = "condition"):
    """Poll ``check`` until truthy; its value (AssertionError naming ``what`` on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g}s")
        time.sleep(0.5)
