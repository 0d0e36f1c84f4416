"""A loopback stand-in for an OSWorld VM: the server's protocol (docs/formats.md,
section 5), written from that table, performing every request for real.

"The VM" is a private Xvfb with a window manager and a bubblewrap sandbox whose
/home/user is a temp folder (the env package's own Display, Workspace and Sandbox):
/execute and /setup/launch run the command in the sandbox with DISPLAY set (so the
pyautogui programs our client generates move the real pointer and type into real
windows), screenshots come from mss, files are read and written under that home, and
the window calls run wmctrl as OSWorld's server does. A ``python`` on the sandbox's
PATH is this test run's interpreter (it has pyautogui and python-xlib, as the VM's has).

Differences, where this machine has no such facility: screenshots carry no cursor,
/accessibility is a tree of the windows only, /terminal reports no output, and
recording answers as a VM without ffmpeg does.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import quoteattr

from PIL import Image

from kimicua.env.capture import ScreenCapture
from kimicua.env.core import EnvError
from kimicua.env.display import Display
from kimicua.env.geometry import Size
from kimicua.env.sandbox import Layout, Sandbox
from kimicua.env.sandbox.bwrap import HOME
from kimicua.env.workspace import Workspace

BIN = "/tmp/.vm-bin"  # inside the sandbox: the VM's own programs come first on PATH
OPEN_FILE_TIMEOUT_S = 30.0


class LoopbackVm:
    """The VM: a display, a sandbox, and the HTTP server on 127.0.0.1:``port``."""

    def __init__(self, size: Size = Size(1280, 800)):
        self.display = Display.start(size)
        self.workspace = Workspace(sandboxed=True)
        ws = self.workspace
        # The VM's default text editor, as Ubuntu's gedit is on OSWorld's image: without it
        # xdg-open picks LibreOffice Writer when it is installed, and its first-run tip is
        # the window in front.
        (ws.home / ".config").mkdir()
        (ws.home / ".config" / "mimeapps.list").write_text(
            "[Default Applications]\ntext/plain=org.xfce.mousepad.desktop\n")
        bin_dir = ws.tmp / BIN.removeprefix("/tmp/")
        bin_dir.mkdir()
        _shims(bin_dir)
        self.path = f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"  # as the sandbox sees it
        self._host_path = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"  # the same, here
        self.sandbox = Sandbox(Layout(home=ws.home, tmp=ws.tmp, runtime=ws.runtime, display=self.display.name),
                               xauthority=self.display.env.get("XAUTHORITY"))
        self._local_cookies()
        self.capture = ScreenCapture(self.display)
        self.chrome_port = self.sandbox.forward(9222)  # where the VM's port 9222 is reached from here
        self.calls: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _local_cookies(self) -> None:
        """The display's own (host-named) cookies in the sandbox's Xauthority too: the
        sandbox has this host's name, and python-xlib ignores the wildcard entries
        that libX11 clients such as xterm use there."""
        listed = subprocess.run(["xauth", "-f", self.display.env["XAUTHORITY"], "nlist"],
                                capture_output=True, text=True, timeout=10).stdout
        subprocess.run(["xauth", "-f", str(self.workspace.runtime / "Xauthority"), "nmerge", "-"],
                       input=listed, text=True, capture_output=True, timeout=10, check=True)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.sandbox.close()
        self.capture.close()
        self.display.stop()
        self.workspace.close()

    # --- what the endpoints do -----------------------------------------------------

    def argv(self, command, shell: bool) -> list[str]:
        """The command as the sandbox runs it, with the VM's PATH; FileNotFoundError for
        a program that is not there (the server's subprocess would raise it)."""
        if shell:
            return ["env", f"PATH={self.path}", "/bin/sh", "-c", command]
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        argv = [HOME + a[1:] if a.startswith("~/") else a for a in argv]
        if not argv or shutil.which(argv[0], path=self._host_path) is None:
            raise FileNotFoundError(f"[Errno 2] No such file or directory: {argv[0] if argv else ''!r}")
        return ["env", f"PATH={self.path}", *argv]

    def host(self, path: str, *, write: bool = False) -> Path:
        """The VM's file ``path`` on this machine (``~`` and relative: the user's home)."""
        text = os.path.expandvars(path)
        return self.workspace.host_path(text, write=write)

    def png(self) -> bytes:
        shot = self.capture.grab()
        out = io.BytesIO()
        Image.fromarray(shot.rgb).save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def wmctrl(self, flags: str, name: str) -> None:
        self.sandbox.run(["wmctrl", flags, name], timeout=10)

    def window_titles(self) -> list[str]:
        return self.sandbox.run(["wmctrl", "-l"], timeout=10).stdout.splitlines()

    def tree(self, folder: Path) -> dict:
        children = []
        for entry in sorted(os.listdir(folder)):
            full = folder / entry
            children.append(self.tree(full) if full.is_dir() else {"type": "file", "name": entry})
        return {"type": "directory", "name": folder.name, "children": children}


# The VM's socat, for the one relay OSWorld runs (tcp-listen:PORT,fork tcp:HOST:PORT).
_SOCAT = """
import socket, sys, threading
port = int(sys.argv[1].split(":")[1].split(",")[0])
_, host, target = sys.argv[2].split(":")
server = socket.create_server(("127.0.0.1", port))

def pump(src, dst):
    while data := src.recv(65536):
        dst.sendall(data)
    dst.close()

while True:
    conn, _ = server.accept()
    try:
        out = socket.create_connection((host, int(target)))
    except OSError:
        conn.close()
        continue
    for a, b in ((conn, out), (out, conn)):
        threading.Thread(target=pump, args=(a, b), daemon=True).start()
"""


def _shims(bin_dir: Path) -> None:
    """The VM's python (this run's, with pyautogui), google-chrome (Chromium) and socat."""
    from kimicua.env.chromium import CHROMIUM_ARGS, find_chromium

    python = shlex.quote(sys.executable)  # a script: a symlink would lose the venv next to argv[0]
    chrome = " ".join(shlex.quote(a) for a in (find_chromium(), *CHROMIUM_ARGS, "--user-data-dir=/tmp/chrome",
                                                "--window-position=0,0", "--window-size=1000,700"))
    (bin_dir / "socat.py").write_text(_SOCAT)
    for name, body in (("python", f'exec {python} "$@"'), ("google-chrome", f'exec {chrome} "$@"'),
                       ("socat", f'exec {python} {BIN}/socat.py "$@"')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)


def _form(handler: BaseHTTPRequestHandler, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Fields and files of a urlencoded or multipart body."""
    ctype = handler.headers.get("Content-Type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}, {}
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            files[name] = part.get_payload(decode=True)
        else:
            fields[name] = part.get_payload(decode=True).decode()
    return fields, files


def _handler(vm: LoopbackVm):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def reply(self, status: int, body, ctype: str = "application/json") -> None:
            data = json.dumps(body).encode() if ctype == "application/json" else (
                body if isinstance(body, bytes) else str(body).encode())
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def text(self, status: int, body: str) -> None:
            self.reply(status, body, "text/html; charset=utf-8")

        def body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self):
            self.route("GET")

        def do_POST(self):
            self.route("POST")

        def route(self, method: str) -> None:
            path = urllib.parse.urlsplit(self.path).path
            vm.calls.append((method, path))
            routes = GET_ROUTES if method == "GET" else POST_ROUTES
            if path not in routes:
                return self.text(404, "Not Found")
            try:
                routes[path](self)
            except (EnvError, OSError) as err:
                self.reply(500, {"status": "error", "message": str(err)})

        # --- GET -----------------------------------------------------------------------

        def screenshot(self):
            self.reply(200, vm.png(), "image/png")

        def cursor(self):
            out = vm.sandbox.run(["xdotool", "getmouselocation", "--shell"], timeout=10).stdout
            vals = dict(line.split("=", 1) for line in out.split())
            self.reply(200, [int(vals["X"]), int(vals["Y"])])

        def accessibility(self):
            frames = "".join(f"<frame name={quoteattr(line.split(None, 3)[3] if len(line.split()) > 3 else '')}/>"
                             for line in vm.window_titles())
            self.reply(200, {"AT": f"<desktop-frame>{frames}</desktop-frame>"})

        def terminal(self):
            self.reply(200, {"output": None, "status": "success"})

        def platform(self):
            self.text(200, "Linux")

        # --- POST ----------------------------------------------------------------------

        def screen_size(self):
            self.body()
            self.reply(200, {"width": vm.display.size.width, "height": vm.display.size.height})

        def execute(self):
            data = json.loads(self.body())
            shell = data.get("shell", False)
            try:
                argv = vm.argv(data.get("command", "" if shell else []), shell)
            except FileNotFoundError as err:
                return self.reply(500, {"status": "error", "message": str(err)})
            out = vm.sandbox.run(argv, timeout=120)
            self.reply(200, {"status": "success", "output": out.stdout, "error": out.stderr,
                             "returncode": out.returncode})

        def launch(self):
            data = json.loads(self.body())
            shell = data.get("shell", False)
            command = data.get("command", "" if shell else [])
            try:
                vm.sandbox.launch(vm.argv(command, shell))
            except FileNotFoundError as err:
                return self.reply(500, {"status": "error", "message": str(err)})
            shown = command if shell or isinstance(command, str) else " ".join(command)
            self.text(200, f"{shown} launched successfully")

        def open_file(self):
            path = json.loads(self.body()).get("path")
            if not path:
                return self.text(400, "Path not supplied!")
            if not vm.host(path).exists():
                return self.text(404, f"Application/file not found: {path}")
            vm.sandbox.launch(vm.argv(["xdg-open", path], False))
            name = Path(path).name
            deadline = time.monotonic() + OPEN_FILE_TIMEOUT_S
            while time.monotonic() < deadline:
                if any(name in line or Path(name).stem in line for line in vm.window_titles()):
                    vm.wmctrl("-a", Path(name).stem)
                    return self.text(200, "File opened and window activated successfully")
                time.sleep(0.2)
            self.text(500, f"Failed to find window for {name} within {OPEN_FILE_TIMEOUT_S:g} seconds.")

        def window_call(self, action: str):
            data = json.loads(self.body())
            if not data.get("window_name"):
                return self.text(400, "window_name required")
            flags = "-" + ("x" if data.get("by_class") else "") + ("F" if data.get("strict") else "") + action
            vm.wmctrl(flags, data["window_name"])
            self.text(200, "Window activated successfully" if action == "a" else "Window closed successfully.")

        def file(self):
            fields, _ = _form(self, self.body())
            if "file_path" not in fields:
                return self.reply(400, {"error": "file_path is required"})
            try:
                host = vm.host(fields["file_path"])
            except EnvError:
                return self.reply(404, {"error": "File not found"})
            if not host.exists():
                return self.reply(404, {"error": "File not found"})
            if not host.is_file():  # the server's send_file fails on a folder
                return self.reply(500, {"error": f"Failed to serve file: {fields['file_path']} is a directory"})
            self.reply(200, host.read_bytes(), "application/octet-stream")

        def upload(self):
            fields, files = _form(self, self.body())
            if "file_path" not in fields or "file_data" not in files:
                return self.reply(400, {"error": "file_path and file_data are required"})
            host = vm.host(fields["file_path"], write=True)
            host.parent.mkdir(parents=True, exist_ok=True)
            host.write_bytes(files["file_data"])
            self.text(200, f"File Uploaded: {len(files['file_data'])} bytes")

        def download_file(self):
            data = json.loads(self.body())
            if not data.get("url") or not data.get("path"):
                return self.text(400, "Path or URL not supplied!")
            host = vm.host(data["path"], write=True)
            host.parent.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(data["url"], timeout=60) as got:
                host.write_bytes(got.read())
            self.text(200, f"File downloaded successfully: {host.stat().st_size} bytes")

        def list_directory(self):
            data = json.loads(self.body())
            if "path" not in data:
                return self.reply(400, {"error": "Missing 'path' parameter"})
            try:
                folder = vm.host(data["path"])
            except EnvError:
                folder = None
            if folder is None or not folder.is_dir():
                return self.reply(400, {"error": "The provided path is not a directory"})
            self.reply(200, {"directory_tree": vm.tree(folder)})

        def execute_with_verification(self):
            data = json.loads(self.body())
            shell = data.get("shell", False)
            out = vm.sandbox.run(vm.argv(data.get("command", "" if shell else []), shell), timeout=120)
            result = {"output": out.stdout, "error": out.stderr, "returncode": out.returncode}
            checks = data.get("verification") or {}
            deadline = time.monotonic() + float(data.get("max_wait_time", 10))
            while True:
                window = checks.get("window_exists")
                ok = window is None or any(window.lower() in t.lower() for t in vm.window_titles())
                if ok and "command_success" in checks:
                    ok = vm.sandbox.run(vm.argv(checks["command_success"], True), timeout=5).returncode == 0
                if ok:
                    passed = {"verification": "passed"} if checks else {}
                    return self.reply(200, {"status": "success", **result, **passed})
                if time.monotonic() > deadline:
                    return self.reply(500, {"status": "verification_failed", **result, "verification": "failed"})
                time.sleep(float(data.get("check_interval", 1)))

        def change_wallpaper(self):
            path = json.loads(self.body()).get("path")
            if not path:
                return self.text(400, "Path not supplied!")
            if not vm.host(path).exists():
                return self.text(404, f"File not found: {path}")
            self.text(200, "Wallpaper changed successfully")

        def recording(self):
            self.body()
            self.reply(500, {"status": "error",
                             "message": "ffmpeg is required for recording but was not found in PATH."})

    GET_ROUTES = {"/screenshot": Handler.screenshot, "/cursor_position": Handler.cursor,
                  "/accessibility": Handler.accessibility, "/terminal": Handler.terminal,
                  "/platform": Handler.platform}
    POST_ROUTES = {"/screen_size": Handler.screen_size, "/execute": Handler.execute,
                   "/setup/execute": Handler.execute, "/setup/launch": Handler.launch,
                   "/setup/open_file": Handler.open_file,
                   "/setup/activate_window": lambda h: h.window_call("a"),
                   "/setup/close_window": lambda h: h.window_call("c"),
                   "/file": Handler.file, "/setup/upload": Handler.upload,
                   "/setup/download_file": Handler.download_file, "/list_directory": Handler.list_directory,
                   "/setup/change_wallpaper": Handler.change_wallpaper,
                   "/setup/execute_with_verification": Handler.execute_with_verification,
                   "/start_recording": Handler.recording, "/end_recording": Handler.recording}
    return Handler
