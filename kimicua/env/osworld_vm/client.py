"""The HTTP client of OSWorld's in-VM server (``desktop_env/server/main.py``, port 5000).

Paths, payloads and replies follow what OSWorld's harness sends (docs/formats.md,
section 5): JSON bodies for commands and setup calls, a form field for ``/file``, a
multipart form for ``/setup/upload``. Only the standard library is used.

A request that never reached the server (connection refused or reset before a reply)
is tried again ``retries`` times; one that reached it is never repeated, so an input
action is never sent twice. A VM that stops answering raises VmError (an EnvError:
the world is gone) and sets ``lost``; replies the server gives are values or VmError.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from kimicua.env.core import CommandResult, EnvError
from kimicua.env.geometry import Size

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SERVER_EXEC_TIMEOUT_S = 120.0  # the server kills a command after this long
OPEN_FILE_TIMEOUT_S = 180.0  # /setup/open_file waits for the window up to 30 min: bound it


class VmError(EnvError):
    """The VM's server cannot be reached or refused a call (one line)."""


class VmTimeout(VmError):
    """The server took longer than the call's timeout to reply (it may still be working)."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def message(self) -> str:
        """The server's one-line reason: its JSON message/error, else its text."""
        data = self.json()
        if isinstance(data, dict):
            for key in ("message", "error", "output"):
                if data.get(key):
                    return _one_line(str(data[key]))
        return _one_line(self.text()) or f"HTTP {self.status}"


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def normalise_url(url: str) -> str:
    """``http://HOST:PORT`` from what a user types (``HOST:5000``, a trailing slash)."""
    text = url.strip().rstrip("/")
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected a VM server URL like http://HOST:5000, got {url!r}")
    if parts.path or parts.query:
        raise ValueError(f"a VM server URL has no path: {url!r}")
    port = parts.port or 5000
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "kimicua-" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").encode()
        out += value.encode("utf-8") + b"\r\n"
    for name, (filename, data) in files.items():
        safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{safe}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8")
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _undelivered(err: BaseException) -> bool:
    """True when the request cannot have reached the server's handler."""
    reason = getattr(err, "reason", err)
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


class VmClient:
    """Calls on one VM server at ``url`` (``http://HOST:5000``)."""

    def __init__(self, url: str, *, timeout: float = 60.0, retries: int = 3, retry_s: float = 1.0):
        self.url = normalise_url(url)
        self.timeout, self.retries, self.retry_s = timeout, retries, retry_s
        self.lost: str | None = None  # why the VM stopped answering, once it did

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or "127.0.0.1"

    # --- plumbing ------------------------------------------------------------------

    def request(self, method: str, path: str, *, json_body: Any = None, form: dict[str, str] | None = None,
                multipart: tuple[bytes, str] | None = None, timeout: float | None = None) -> Reply:
        """One call; every HTTP status is a Reply, transport failures are VmError."""
        data, headers = None, {}
        if json_body is not None:
            data, headers = json.dumps(json_body).encode("utf-8"), {"Content-Type": "application/json"}
        elif form is not None:
            data = urllib.parse.urlencode(form).encode("utf-8")
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        elif multipart is not None:
            data, headers = multipart[0], {"Content-Type": multipart[1]}
        elif method == "POST":
            data = b""
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(req, timeout=timeout or self.timeout) as reply:
                    return Reply(reply.status, reply.read(), reply.headers.get("Content-Type", ""))
            except urllib.error.HTTPError as err:
                return Reply(err.code, err.read(), err.headers.get("Content-Type", "") if err.headers else "")
            except (urllib.error.URLError, OSError) as err:
                if _undelivered(err) and attempt < self.retries:
                    time.sleep(self.retry_s)
                    continue
                why = getattr(err, "reason", err)
                if isinstance(why, TimeoutError):
                    raise VmTimeout(f"no reply from {self.url}{path} within {timeout or self.timeout:g}s") from None
                self.lost = f"the VM server at {self.url} does not answer ({method} {path}: {why})"
                raise VmError(self.lost) from None
        raise AssertionError("unreachable")

    def _ok(self, reply: Reply, what: str) -> Reply:
        if reply.status != 200:
            raise VmError(f"{what} failed on the VM ({reply.status}): {reply.message()}")
        return reply

    def _post_json(self, path: str, body: dict[str, Any], what: str, timeout: float | None = None) -> Reply:
        return self._ok(self.request("POST", path, json_body=body, timeout=timeout), what)

    # --- observing -----------------------------------------------------------------

    def screenshot(self) -> bytes:
        """The whole screen as PNG bytes (the cursor drawn in)."""
        reply = self._ok(self.request("GET", "/screenshot"), "screenshot")
        if not reply.body.startswith(PNG_MAGIC):
            raise VmError(f"the VM's screenshot is not a PNG ({reply.content_type or 'no type'}, "
                          f"{len(reply.body)} bytes)")
        return reply.body

    def screen_size(self) -> Size:
        data = self._ok(self.request("POST", "/screen_size"), "screen_size").json()
        try:
            return Size(int(data["width"]), int(data["height"]))
        except (KeyError, TypeError, ValueError):
            raise VmError(f"the VM's screen_size reply is not {{width, height}}: {data!r:.100}") from None

    def cursor_position(self) -> tuple[int, int]:
        data = self._ok(self.request("GET", "/cursor_position"), "cursor_position").json()
        if isinstance(data, dict):
            data = [data.get("x"), data.get("y")]
        return int(data[0]), int(data[1])

    def accessibility_tree(self) -> str:
        """The AT-SPI tree as XML text."""
        return str(self._ok(self.request("GET", "/accessibility"), "accessibility").json()["AT"])

    def terminal_output(self) -> str | None:
        """The focused GNOME terminal's text, or None."""
        return self._ok(self.request("GET", "/terminal"), "terminal").json().get("output")

    def platform(self) -> str:
        return self._ok(self.request("GET", "/platform"), "platform").text().strip()

    # --- commands ------------------------------------------------------------------

    def execute(self, command: list[str] | str, *, shell: bool = False,
                timeout: float = SERVER_EXEC_TIMEOUT_S) -> CommandResult:
        """Run to completion on the VM. A program that cannot start is exit code 127; a
        reply later than ``timeout`` is 124 (the server itself stops it at 120 s)."""
        body = {"command": command, "shell": shell}
        try:
            reply = self.request("POST", "/execute", json_body=body, timeout=timeout + 5.0)
        except VmTimeout:
            return CommandResult(124, "", f"no reply from the VM within {timeout:g}s")
        data = reply.json()
        if reply.status == 200 and isinstance(data, dict) and "returncode" in data:
            return CommandResult(int(data["returncode"]), str(data.get("output") or ""),
                                 str(data.get("error") or ""))
        if reply.status == 500:
            return CommandResult(127, "", reply.message())
        raise VmError(f"execute failed on the VM ({reply.status}): {reply.message()}")

    def launch(self, command: list[str] | str, *, shell: bool = False) -> None:
        """Start a program in the background on the VM (no pid comes back)."""
        self._post_json("/setup/launch", {"command": command, "shell": shell}, "launch")

    def open_file(self, path: str, timeout: float = OPEN_FILE_TIMEOUT_S) -> None:
        """Open a file with its default app and wait until a window title names it."""
        try:
            self._post_json("/setup/open_file", {"path": path}, f"open {path}", timeout=timeout)
        except VmTimeout:
            raise VmError(f"open {path}: no window named after it within {timeout:g}s") from None

    def activate_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> None:
        self._post_json("/setup/activate_window", {"window_name": name, "strict": strict, "by_class": by_class},
                        "activate_window")

    def close_window(self, name: str, *, strict: bool = False, by_class: bool = False) -> None:
        self._post_json("/setup/close_window", {"window_name": name, "strict": strict, "by_class": by_class},
                        "close_window")

    def change_wallpaper(self, path: str) -> None:
        self._post_json("/setup/change_wallpaper", {"path": path}, "change_wallpaper")

    def execute_with_verification(self, command: list[str] | str, *, shell: bool = False,
                                  verification: dict[str, Any] | None = None, max_wait_time: float = 10,
                                  check_interval: float = 1) -> dict[str, Any]:
        """Run a command, then wait until ``verification`` (window_exists, command_success)
        holds; the server's reply (``status`` is "success" or "verification_failed")."""
        body = {"command": command, "shell": shell, "verification": verification or {},
                "max_wait_time": max_wait_time, "check_interval": check_interval}
        reply = self.request("POST", "/setup/execute_with_verification", json_body=body,
                             timeout=SERVER_EXEC_TIMEOUT_S + max_wait_time + 10)
        data = reply.json()
        if not isinstance(data, dict) or (reply.status != 200 and data.get("status") != "verification_failed"):
            raise VmError(f"execute_with_verification failed on the VM ({reply.status}): {reply.message()}")
        return data

    # --- files ---------------------------------------------------------------------

    def get_file(self, path: str) -> bytes | None:
        """The file's bytes, or None when the VM has no such file."""
        reply = self.request("POST", "/file", form={"file_path": path})
        if reply.status == 404:
            return None
        return self._ok(reply, f"file {path}").body

    def upload(self, path: str, data: bytes) -> None:
        """Write ``data`` to the VM's ``path`` (parent folders made)."""
        body = _multipart({"file_path": path}, {"file_data": (path.rsplit("/", 1)[-1] or "file", data)})
        self._ok(self.request("POST", "/setup/upload", multipart=body, timeout=600), f"upload to {path}")

    def download_file(self, url: str, path: str) -> None:
        """Let the VM itself fetch ``url`` to its ``path``."""
        self._post_json("/setup/download_file", {"url": url, "path": path}, f"download {url}", timeout=900)

    def list_directory(self, path: str) -> dict[str, Any] | None:
        """The server's recursive tree ``{"type", "name", "children"}``, or None when
        ``path`` is not a folder."""
        reply = self.request("POST", "/list_directory", json_body={"path": path})
        if reply.status == 400:
            return None
        tree = self._ok(reply, f"list_directory {path}").json()
        return tree.get("directory_tree") if isinstance(tree, dict) else None

    # --- recording -----------------------------------------------------------------

    def start_recording(self) -> None:
        self._ok(self.request("POST", "/start_recording"), "start_recording")

    def end_recording(self) -> bytes:
        """Stop the recording; the MP4's bytes."""
        return self._ok(self.request("POST", "/end_recording", timeout=180), "end_recording").body

    # --- lifetime ------------------------------------------------------------------

    def ready(self) -> bool:
        """True when the server answers with a screenshot (the VM is up)."""
        try:
            reply = self.request("GET", "/screenshot", timeout=10)
        except VmError:
            self.lost = None  # not up yet is not lost
            return False
        return reply.status == 200 and reply.body.startswith(PNG_MAGIC)

    def wait_ready(self, timeout: float, interval: float = 1.0) -> None:
        """Poll until the VM answers (OSWorld's VM-ready wait); VmError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise VmError(f"the VM server at {self.url} did not answer within {timeout:g}s")
            time.sleep(interval)
