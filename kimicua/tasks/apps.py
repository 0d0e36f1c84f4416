"""The programs OSWorld's tasks run, and how the local desktop stands in for them.

OSWorld's VM is Ubuntu with GNOME, Google Chrome, LibreOffice, GIMP, VLC, Thunderbird and
VS Code. The local desktop runs this machine's programs in the episode's sandbox (the
host read-only), so a task runs locally when every program it names is installed here
(``local_program``), with two stand-ins: Google Chrome is the env's Chromium, and
``python`` is ``python3`` where only that exists. Some programs cannot do their job in the
sandbox even when installed (``sudo``; GNOME's settings without a GNOME session): those are
``NOT_LOCAL``, with the reason.

``open`` picks an app by the file's type (``opener``), as the VM's ``xdg-open`` would.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import PurePosixPath

from kimicua.env.sandbox.bwrap import HIDDEN_DIRS

# Environment variables an app needs in the local sandbox. Thunderbird: use the profile
# that profiles.ini marks Default=1 (a task's own profile) rather than make a new one
# for this installation, which newer Thunderbirds do when profiles.ini names another
# installation (OSWorld's VM's).
LOCAL_ENV = {"thunderbird": {"MOZ_LEGACY_PROFILES": "1"}}

# Envs whose apps run on this machine (a VM env's run elsewhere and have OSWorld's apps).
LOCAL_KINDS = frozenset({"desktop", "browser"})

CHROME_NAMES = frozenset({"google-chrome", "google-chrome-stable", "chrome", "chromium", "chromium-browser"})
TEXT_EDITOR = "mousepad"  # Debian package: mousepad

# Where a missing program comes from, for the message (Debian packages unless noted).
PACKAGES = {
    "localc": "libreoffice-calc", "lowriter": "libreoffice-writer", "loimpress": "libreoffice-impress",
    "libreoffice": "libreoffice-core", "soffice": "libreoffice-core", "gimp": "gimp", "vlc": "vlc",
    "thunderbird": "thunderbird", "code": "Visual Studio Code: Microsoft's package, not in Debian",
    "nautilus": "nautilus", "gnome-terminal": "gnome-terminal", "socat": "socat", "jq": "jq",
    "xsel": "xsel", "pactl": "pulseaudio-utils", "pulseaudio": "pulseaudio", "timedatectl": "systemd",
    "git": "git", "unzip": "unzip", "zip": "zip", "pip": "python3-pip", "expect": "expect",
    "xdg-mime": "xdg-utils", "mousepad": "mousepad", "wmctrl": "wmctrl", "ffmpeg": "ffmpeg",
}

# Programs that need what the sandbox does not have, whether or not they are installed.
NOT_LOCAL = {
    "sudo": "runs sudo (root inside OSWorld's VM; the sandbox has no root)",
    "su": "switches user (root inside OSWorld's VM; the sandbox has no root)",
    "apt": "installs Debian packages (root inside OSWorld's VM)",
    "apt-get": "installs Debian packages (root inside OSWorld's VM)",
    "gsettings": "reads or changes GNOME settings (the VM's GNOME session; the local desktop is openbox)",
    "dconf": "reads or changes GNOME settings (the VM's GNOME session; the local desktop is openbox)",
    "gnome-terminal": "uses GNOME Terminal (the VM's GNOME session; the local desktop is openbox)",
    "timedatectl": "asks systemd (the VM's init; the sandbox has none)",
}

# What a shell line may start with that is not a program.
_SHELL_WORDS = frozenset({
    "cd", "export", "echo", "printf", "if", "then", "else", "elif", "fi", "for", "while", "do",
    "done", "in", "case", "esac", "true", "false", "test", "[", "[[", "]]", "]", "!", "{", "}",
    "read", "set", "unset", "source", ".", "exit", "return", "local", "shift", "eval", "exec",
    "time", "function", "then", "wait", "trap", "alias", "type", "command", "hash", "history",
    "pushd", "popd", "let", "declare", "ulimit", "umask", "printf", "sleep",
})

_SPREADSHEET = {".xlsx", ".xls", ".xlsm", ".ods", ".csv"}
_DOCUMENT = {".docx", ".doc", ".odt", ".rtf"}
_PRESENTATION = {".pptx", ".ppt", ".odp"}
_IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".xcf"}
_MEDIA = {".mp4", ".mkv", ".avi", ".webm", ".mov", ".mp3", ".wav", ".ogg", ".flac", ".m4a", ".mpg", ".mpeg"}
BROWSER_SUFFIXES = {".html", ".htm", ".pdf", ".svg"}
_TEXT = {".txt", ".md", ".py", ".json", ".log", ".ini", ".cfg", ".conf", ".sh", ".yaml", ".yml",
         ".xml", ".tex", ".c", ".h", ".js", ".css", ".srt", ""}


def is_local(env) -> bool:
    """Whether ``env``'s apps run on this machine (its programs, its sandbox)."""
    return env.kind in LOCAL_KINDS


def opener(path: str, is_dir: bool = False) -> str:
    """The program that opens ``path`` (``"browser"``: the env's own Chromium)."""
    if is_dir:
        return "nautilus"
    suffix = PurePosixPath(path).suffix.lower()
    for suffixes, program in ((_SPREADSHEET, "localc"), (_DOCUMENT, "lowriter"),
                              (_PRESENTATION, "loimpress"), (_IMAGE, "gimp"), (_MEDIA, "vlc"),
                              (_TEXT, TEXT_EDITOR)):
        if suffix in suffixes:
            return program
    return "browser" if suffix in BROWSER_SUFFIXES else "xdg-open"


def with_local_env(argv: str | list[str]) -> str | list[str]:
    """``argv`` (a list, or a shell line) with the LOCAL_ENV its program needs."""
    if isinstance(argv, list):
        needed = LOCAL_ENV.get(os.path.basename(argv[0]), {})
        return ["env", *(f"{k}={v}" for k, v in needed.items()), *argv] if needed else argv
    needed = {k: v for app, env in LOCAL_ENV.items() if re.search(rf"\b{app}\b", argv) for k, v in env.items()}
    return "".join(f"export {k}={shlex.quote(v)}; " for k, v in needed.items()) + argv


def _sandbox_path() -> str:
    """$PATH without the folders the sandbox hides (a pyenv shim under /root is not there)."""
    keep = [d for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
            if not any(d == h or d.startswith(h + "/") for h in HIDDEN_DIRS)]
    return os.pathsep.join(keep)


def local_program(name: str) -> str | None:
    """The program the sandbox runs for ``name`` (a stand-in, see the module doc), or None."""
    if os.path.basename(name) in CHROME_NAMES:
        return "chromium"
    path = _sandbox_path()
    if os.path.isabs(name):
        return name if os.access(name, os.X_OK) else None
    if shutil.which(name, path=path):
        return name
    if name == "python" and shutil.which("python3", path=path):
        return "python3"
    return None


def missing_reason(name: str) -> str | None:
    """Why ``name`` cannot run locally (None: it can)."""
    base = os.path.basename(name)
    if base in NOT_LOCAL:
        return NOT_LOCAL[base]
    if local_program(name) is not None:
        return None
    return f"missing app {base}" + (f" ({package_of(base)})" if base in PACKAGES else "")


def package_of(program: str) -> str:
    """Where ``program`` comes from, for messages."""
    package = PACKAGES[program]
    return package if " " in package else f"Debian package {package}"


_OPERATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", ";;", "|&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PROGRAM = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_.+/-]*$")
_PREFIXES = ("sudo", "-S", "timeout", "nohup", "env", "exec", "then", "do", "else", "elif", "if", "while",
             "until", "!", "{", "time")


def _tokens(text: str) -> list[str]:
    """Shell words and operators (quotes respected; a line break separates commands)."""
    lexer = shlex.shlex(text.replace("\n", "\n;"), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: read it word by word
        return text.replace("\n", " ; ").split()


def shell_programs(text: str) -> list[str]:
    """The programs a shell line starts (the first word of each command), ``sudo``
    included where it is used."""
    found, start = [], True
    for token in _tokens(text):
        if token in _OPERATORS or set(token) <= set(";&|()"):
            start = True
            continue
        if not start:
            continue
        if token in _PREFIXES or _ASSIGNMENT.match(token) or token.isdigit():
            if token == "sudo":
                found.append("sudo")
            continue  # the command is the next word
        start = False
        if token in _SHELL_WORDS or not _PROGRAM.match(token) or token.startswith(("./", "/home/")):
            continue
        found.append(token)
    return found
