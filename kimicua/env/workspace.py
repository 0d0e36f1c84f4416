"""The host folders behind an env's episodes, and where an app's path lies on the host.

Each env owns one workspace: ``home`` (the episode's home: /home/user inside the
sandbox, OSWorld's VM user), ``tmp`` (the sandbox's /tmp) and ``runtime`` (the
sandbox's control socket and relays). ``clear`` empties home and tmp between episodes.

Setup steps and getters run on the host but name files as the apps see them;
``host_path`` maps such a path to the host, refusing what the apps cannot see (the
hidden /root and /home) and, for writes, anything outside home and tmp. Symlinks an
app planted are resolved first, so a link in the home cannot point a getter or a
download outside.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kimicua.env import lifetime
from kimicua.env.core import EnvError
from kimicua.env.sandbox.bwrap import HIDDEN_DIRS, HOME, SECRET_DIRS, SECRET_FILES


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Workspace:
    """home/, tmp/ and runtime/ in a private temp dir (removed by ``close``)."""

    def __init__(self, *, sandboxed: bool):
        self.sandboxed = sandboxed
        self.root = lifetime.tempdir("env")
        self.home, self.tmp, self.runtime = (self.root / n for n in ("home", "tmp", "runtime"))
        for d in (self.home, self.tmp, self.runtime):
            d.mkdir()

    @property
    def app_home(self) -> str:
        """The home as the env's apps see it."""
        return HOME if self.sandboxed else str(self.home)

    def clear(self, *, tmp: bool = True) -> None:
        """Empty home (and tmp) for the next episode."""
        for d in (self.home, self.tmp) if tmp else (self.home,):
            for child in d.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def host_path(self, path: str | os.PathLike, *, write: bool = False) -> Path:
        """Where the apps' ``path`` is on the host; EnvError when they cannot reach it
        (or, with ``write``, when it is outside the episode's home and tmp)."""
        text = str(path)
        if text == "~" or text.startswith("~/"):
            text = self.app_home + text[1:]
        if not os.path.isabs(text):
            text = os.path.join(self.app_home, text)
        text = os.path.normpath(text)
        host = self._map(text)
        real = os.path.realpath(host)
        own = [os.path.realpath(self.home), os.path.realpath(self.tmp)]
        if any(_under(real, d) for d in own):
            return Path(host)
        if write:
            raise EnvError(f"{text} is outside the episode's home ({self.app_home}) and /tmp")
        hidden = (*HIDDEN_DIRS, *SECRET_DIRS, *SECRET_FILES)
        if self.sandboxed and any(_under(real, d) for d in hidden):
            raise EnvError(f"{text} is not visible inside the sandbox")
        return Path(host)

    def _map(self, text: str) -> str:
        """Textual mapping of an app path to the host (before symlinks are resolved)."""
        if _under(text, HOME):  # OSWorld's paths work with and without the sandbox
            return str(self.home) + text[len(HOME):]
        if self.sandboxed and _under(text, "/tmp"):
            return str(self.tmp) + text[len("/tmp"):]
        return text

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
