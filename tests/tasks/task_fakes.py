"""A small fake Env for tests that need no display: commands really run (subprocess),
windows (the env's own Window records), the page URL and element boxes are whatever the test sets."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Any

from kimicua.env.core import CommandResult, ControlledEnv, Window
from kimicua.env.geometry import Size
from kimicua.env.workspace import Workspace


@dataclass
class FakeEnv:
    kind: str = "desktop"
    screen: Size = Size(1280, 800)
    url: str | None = None
    boxes: dict[str, Any] = field(default_factory=dict)
    window_list: list[Window] = field(default_factory=list)
    focused: str | None = None
    js: dict[str, Any] = field(default_factory=dict)
    launched: list[Any] = field(default_factory=list)
    ran: list[Any] = field(default_factory=list)
    tabs: list[str] = field(default_factory=list)
    workspace: Workspace = field(default_factory=lambda: Workspace(sandboxed=False))
    exposed: list[int] = field(default_factory=list)
    network: bool = False

    @property
    def home(self) -> str:
        return self.workspace.app_home

    def host_path(self, path, *, write=False):
        return self.workspace.host_path(path, write=write)

    # The real envs' file methods, over this fake's workspace.
    def get_file(self, path, dest):
        return ControlledEnv.get_file(self, path, dest)

    def put_file(self, source, path):
        ControlledEnv.put_file(self, source, path)

    def list_dir(self, path):
        return ControlledEnv.list_dir(self, path)

    def expose_port(self, port):
        self.exposed.append(port)

    def enable_network(self):
        self.network = True

    def run(self, command, *, shell=False, timeout=30.0):
        self.ran.append((command, shell))
        p = subprocess.run(command, shell=shell, capture_output=True, text=True, timeout=timeout,
                           cwd=self.workspace.home)
        return CommandResult(p.returncode, p.stdout, p.stderr)

    def launch(self, command, *, shell=False):
        self.launched.append((command, shell))
        return 4242

    def windows(self):
        return list(self.window_list)

    def active_window(self):
        return next((w for w in self.window_list if w.name == self.focused), None)

    def activate_window(self, name, *, strict=False, by_class=False):
        for w in self.window_list:
            text = w.wm_class if by_class else w.name
            if (text == name) if strict else (name in text):
                self.focused = w.name
                return True
        return False

    def open_tabs(self, urls):
        self.tabs.extend(urls)
        self.url = urls[-1] if urls else self.url

    def page_url(self):
        return self.url

    def evaluate(self, expression):
        if expression == "document.readyState" and expression not in self.js:
            return "complete"
        if expression not in self.js:
            raise RuntimeError(f"no page value for {expression!r}")
        value = self.js[expression]
        return value() if callable(value) else value

    def element_box(self, selector):
        box = self.boxes.get(selector)
        return box() if callable(box) else box
