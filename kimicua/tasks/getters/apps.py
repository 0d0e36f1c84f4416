"""Getters of desktop apps' state (OSWorld names): VLC's settings and what it plays,
GIMP's and VS Code's settings files, the default video player.

Settings files are snapshotted like ``vm_file``; VLC's playing state comes from its web
interface on the env's own loopback (port 8080, password "password", as OSWorld's VM
has it and ``app_prefs`` sets it up locally), fetched by a command run in the env.
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from typing import Any

from kimicua.env.actions import Hotkey, Key, Type
from kimicua.tasks.app_prefs import VLC_HTTP_PASSWORD, VLC_HTTP_PORT, VLCRC
from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.local import vm_file
from kimicua.tasks.getters.registry import getter
from kimicua.tasks.setup_gui import play

GIMP_CONFIG = "~/.config/GIMP/2.10"
# OSWorld's list of video MIME subtypes asked of xdg-mime (duplicates and all: they weigh the vote).
VIDEO_TYPES = (
    "3gp 3gp 3gpp 3gpp 3gpp2 3gpp2 avi avi divx divx dv dv fli fli flv flv mp2t mp2t mp4 mp4 mp4v-es "
    "mp4v-es mpeg mpeg mpeg-system mpeg-system msvideo msvideo ogg ogg quicktime quicktime vnd.divx "
    "vnd.divx vnd.mpegurl vnd.mpegurl vnd.rn-realvideo vnd.rn-realvideo webm webm x-anim x-anim x-avi "
    "x-avi x-flc x-flc x-fli x-fli x-flv x-flv x-m4v x-m4v x-matroska x-matroska x-mpeg x-mpeg "
    "x-mpeg-system x-mpeg-system x-mpeg2 x-mpeg2 x-ms-asf x-ms-asf x-ms-asf-plugin x-ms-asf-plugin "
    "x-ms-asx x-ms-asx x-ms-wm x-ms-wm x-ms-wmv x-ms-wmv x-ms-wmx x-ms-wmx x-ms-wvx x-ms-wvx x-msvideo "
    "x-msvideo x-nsv x-nsv x-ogm x-ogm x-ogm+ogg x-theora x-theora x-theora+ogg x-theora+ogg").split()

# Run in the env (stdlib only): VLC's status XML on stdout, exit 1 with the reason when
# the web interface does not answer.
_VLC_STATUS = (
    "import base64, sys, urllib.request\n"
    "req = urllib.request.Request('http://127.0.0.1:{port}/requests/status.xml')\n"
    "req.add_header('Authorization', 'Basic ' + base64.b64encode(b':{password}').decode())\n"
    "try:\n"
    "    sys.stdout.write(urllib.request.urlopen(req, timeout=10).read().decode('utf-8', 'replace'))\n"
    "except Exception as err:\n"
    "    sys.exit(f'VLC web interface: {{err}}')\n"
)


@getter
def vlc_config(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """VLC's vlcrc, copied as ``dest``."""
    return vm_file(env, ctx, {"path": VLCRC, "dest": spec["dest"]})


@getter
def vlc_playing_info(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """VLC's status XML (state, position, the playing item's metadata) as ``dest``."""
    code = _VLC_STATUS.format(port=VLC_HTTP_PORT, password=VLC_HTTP_PASSWORD)
    out = env.run(["python3", "-c", code], timeout=20.0)
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or ["VLC web interface: no answer"])[-1])
    target = ctx.cache / spec["dest"]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(out.stdout, encoding="utf-8")
    return str(target)


@getter
def gimp_config_file(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """GIMP's settings file ``file_name`` (~/.config/GIMP/2.10), copied as ``dest``."""
    return vm_file(env, ctx, {"path": f"{GIMP_CONFIG}/{spec['file_name']}", "dest": spec["dest"]})


@getter
def vscode_config(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """Run the VS Code command ``vscode_extension_command`` from the command palette
    (OSWorld's tasks install an extension whose command writes ``path``), then copy
    ``path`` as ``dest``."""
    play(env, [Hotkey(keys=("ctrl", "shift", "p")), Type(text=spec["vscode_extension_command"]), Key(key="enter")])
    time.sleep(1.0)
    return vm_file(env, ctx, {"path": spec["path"], "dest": spec["dest"]})


@getter
def default_video_player(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """The desktop file most video types open with (xdg-mime), or "unknown"."""
    script = "; ".join(f"xdg-mime query default video/{shlex.quote(t)}" for t in VIDEO_TYPES)
    out = env.run(script, shell=True, timeout=60.0)
    apps = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return Counter(apps).most_common(1)[0][0] if apps else "unknown"
