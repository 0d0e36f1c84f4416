"""A fresh local home made like the home of OSWorld's VM user.

The VM's home has the usual folders (Desktop, Documents, Downloads, ...), and its apps
were run once and set up: no LibreOffice "Tip of the Day" or Impress template picker,
no question before saving in Microsoft formats (the tasks save .xlsx/.docx/.pptx with
a bare Ctrl+S), no VLC privacy question, and VLC's web interface on port 8080 with the
password ``password`` (OSWorld's ``vlc_playing_info`` reads it). A fresh home here has
none of that: ``prepare_home`` makes the folders, and before a setup step starts one of
these apps ``prepare`` writes its settings file, only when the home does not have one
yet (a task's own files win).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

# The file each app reads, as the apps see it, and what it holds.
LIBREOFFICE_PROFILE = "~/.config/libreoffice/4/user/registrymodifications.xcu"
VLCRC = "~/.config/vlc/vlcrc"
VLC_HTTP_PORT = 8080
VLC_HTTP_PASSWORD = "password"
HOME_FOLDERS = ("Desktop", "Documents", "Downloads", "Music", "Pictures", "Public", "Templates", "Videos")


def _item(path: str, prop: str, value: str) -> str:
    return (f'<item oor:path="{path}"><prop oor:name="{prop}" oor:op="fuse">'
            f"<value>{value}</value></prop></item>")


_LIBREOFFICE = "\n".join([
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    _item("/org.openoffice.Office.Common/Misc", "ShowTipOfTheDay", "false"),
    _item("/org.openoffice.Office.Common/Misc", "FirstRun", "false"),
    _item("/org.openoffice.Setup/Office", "ooSetupInstCompleted", "true"),
    _item("/org.openoffice.Office.Impress/Misc", "StartWithTemplate", "false"),
    _item("/org.openoffice.Office.Common/Save/Document", "WarnAlienFormat", "false"),
    "</oor:items>", ""])

_VLC = "\n".join([
    "[qt] # Qt interface", "qt-privacy-ask=0", "",
    "[lua] # Lua interpreter", f"http-password={VLC_HTTP_PASSWORD}", "",
    "[core] # core program", "extraintf=http", f"http-port={VLC_HTTP_PORT}", "metadata-network-access=0", ""])

# A program (by name, in a command line) -> (settings file, its content).
_APPS = (
    (re.compile(r"\b(libreoffice|soffice|localc|lowriter|loimpress)\b"), LIBREOFFICE_PROFILE, _LIBREOFFICE),
    (re.compile(r"\bvlc\b"), VLCRC, _VLC),
)


def settings_for(command: str) -> list[tuple[str, str]]:
    """(settings file, content) of each app ``command`` starts."""
    return [(path, content) for pattern, path, content in _APPS if pattern.search(command)]


def prepare(env, command: str) -> None:
    """Write the first-run settings of the apps ``command`` starts, where missing."""
    for path, content in settings_for(command):
        full = env.home + path[1:]
        folder, name = full.rsplit("/", 1)
        if name in (env.list_dir(folder) or []):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / name
            source.write_text(content, encoding="utf-8")
            env.put_file(source, full)


def prepare_home(env) -> None:
    """Make the home's usual folders where missing."""
    present = set(env.list_dir(env.home) or [])
    missing = [f"{env.home}/{name}" for name in HOME_FOLDERS if name not in present]
    if missing:
        out = env.run(["mkdir", "-p", "--", *missing], timeout=10.0)
        if out.returncode != 0:
            raise RuntimeError(f"cannot make {missing[0]}: {out.stderr.strip()[:200]}")
