"""Getters over AT-SPI (OSWorld names): the accessibility tree as OSWorld's XML, and the
text of the terminal.

OSWorld's VM server walks the desktop's AT-SPI tree with pyatspi; the OSWorld VM env
asks its server (``accessibility_tree()``, ``terminal_output()``). Other envs run a
script (stdlib plus pyatspi) that does the same walk inside the env, where the apps
are. Either needs pyatspi and the apps' accessibility bus (a D-Bus session with
at-spi2-core): OSWorld's VM has both; ``local_reason`` says what the local sandbox lacks.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Protocol, runtime_checkable

from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.registry import getter

# Run in the env. OSWorld's XML: an element per accessible named by its role (spaces
# as "-"), its name as ``name``, states as st:*, attributes as attr:*, position and
# size as cp:*, text as the element's text; namespaces as OSWorld's metrics expect.
_TREE = r'''
import sys
import xml.etree.ElementTree as ET
import pyatspi
NS = {"st": "uri:deskat:state.at-spi.gnome.org", "attr": "uri:deskat:attributes.at-spi.gnome.org",
      "cp": "uri:deskat:component.at-spi.gnome.org", "txt": "uri:deskat:text.at-spi.gnome.org",
      "val": "uri:deskat:value.at-spi.gnome.org"}
for prefix, uri in NS.items():
    ET.register_namespace(prefix, uri)
MODE = sys.argv[1]
def node(acc, depth):
    tag = (acc.getRoleName() or "unknown").replace(" ", "-")
    el = ET.Element(tag, {"name": acc.name or ""})
    for state in acc.getState().getStates():
        el.set("{%s}%s" % (NS["st"], pyatspi.stateToString(state).replace(" ", "-")), "true")
    try:
        for pair in acc.getAttributes():
            key, _, value = pair.partition(":")
            el.set("{%s}%s" % (NS["attr"], key), value)
    except Exception:
        pass
    try:
        comp = acc.queryComponent()
        x, y = comp.getPosition(pyatspi.XY_SCREEN)
        w, h = comp.getSize()
        el.set("{%s}screencoord" % NS["cp"], "(%d, %d)" % (x, y))
        el.set("{%s}size" % NS["cp"], "(%d, %d)" % (w, h))
    except Exception:
        pass
    try:
        text = acc.queryText()
        el.text = text.getText(0, text.characterCount)
    except Exception:
        pass
    if depth < 50:
        for i in range(min(acc.childCount, 1000)):
            child = acc.getChildAtIndex(i)
            if child is not None:
                el.append(node(child, depth + 1))
    return el
desktop = pyatspi.Registry.getDesktop(0)
if MODE == "tree":
    root = ET.Element("desktop-frame", {"name": desktop.name or ""})
    for i in range(desktop.childCount):
        app = desktop.getChildAtIndex(i)
        if app is not None:
            root.append(node(app, 1))
    sys.stdout.write(ET.tostring(root, encoding="unicode"))
else:
    def terminals(acc, depth):
        if acc.getRoleName() == "terminal":
            yield acc
        if depth < 50:
            for i in range(acc.childCount):
                child = acc.getChildAtIndex(i)
                if child is not None:
                    yield from terminals(child, depth + 1)
    for i in range(desktop.childCount):
        for term in terminals(desktop.getChildAtIndex(i), 1):
            text = term.queryText()
            sys.stdout.write(text.getText(0, text.characterCount))
            sys.exit(0)
    sys.exit("no terminal in the accessibility tree")
'''
PYATSPI = "/usr/lib/python3/dist-packages/pyatspi"


def local_reason() -> str:
    """Why the local sandbox has no accessibility tree (what is missing)."""
    missing = [what for what, present in (
        ("python3-pyatspi", os.path.isdir(PYATSPI)),
        ("a D-Bus session (dbus-daemon)", shutil.which("dbus-daemon") is not None),
    ) if not present]
    have = f"; this machine lacks {', '.join(missing)}" if missing else ""
    return ("needs AT-SPI: the local sandbox runs its apps without a D-Bus session, so they "
            f"expose no accessibility tree{have}")


@runtime_checkable
class _ServesTree(Protocol):
    def accessibility_tree(self) -> str: ...

    def terminal_output(self) -> str | None: ...


def _walk(env, mode: str) -> str:
    out = env.run(["python3", "-c", _TREE, mode], timeout=60.0)
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or [f"AT-SPI walk exited {out.returncode}"])[-1])
    return out.stdout


@getter
def accessibility_tree(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """The desktop's accessibility tree as OSWorld's XML."""
    return env.accessibility_tree() if isinstance(env, _ServesTree) else _walk(env, "tree")


@getter
def vm_terminal_output(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """The text of the first terminal widget on the desktop (GNOME Terminal on the VM)."""
    return env.terminal_output() if isinstance(env, _ServesTree) else _walk(env, "terminal")
