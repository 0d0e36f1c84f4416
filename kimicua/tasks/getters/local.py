"""Getters of files, commands, the page and windows (OSWorld names).

Files on "the VM" are the env's files, named as its apps see them and copied out with
``env.get_file`` (a path the apps cannot see reads as missing). Getters marked
(ours) are this project's additions for browser and window state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kimicua.tasks.context import RunContext
from kimicua.tasks.fetch import fetch
from kimicua.tasks.getters.registry import getter


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _pick(values: list[Any], spec: dict[str, Any]) -> Any:
    """OSWorld's multi-file convention: ``gives`` selects which of the files to return."""
    if spec.get("multi"):
        values = [values[i] for i in spec.get("gives", [0])]
    return values[0] if len(values) == 1 else values


@getter
def rule(env, ctx: RunContext, spec: dict[str, Any]) -> Any:
    """The literal ``rules`` object (the usual ``expected`` side)."""
    return spec["rules"]


@getter
def vm_file(env, ctx: RunContext, spec: dict[str, Any]) -> Any:
    """A snapshot of the env's file, copied into the cache as ``dest``; None if missing.

    Copying freezes the state at evaluation time, as OSWorld's download from the VM does."""
    paths = _as_list(spec["path"])
    dests = _as_list(spec.get("dest", [Path(p).name for p in paths]))
    out: list[str | None] = []
    for path, dest in zip(paths, dests):
        target = ctx.cache / dest
        out.append(str(target) if env.get_file(path, target) else None)
    return _pick(out, spec)


@getter
def cloud_file(env, ctx: RunContext, spec: dict[str, Any]) -> Any:
    """A file fetched from a URL (``{pages}/...`` or file://) into the cache."""
    urls = _as_list(spec["path"])
    dests = _as_list(spec.get("dest", [Path(urlsplit(u).path).name or "download" for u in urls]))
    return _pick([str(fetch(u, ctx.cache / d, files=ctx.files)) for u, d in zip(urls, dests)], spec)


@getter
def cache_file(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """A file a setup/postconfig step saved in the cache (``execute``'s ``stdout``)."""
    path = ctx.cache / spec["path"]
    return str(path) if path.is_file() else None


def _run(env, spec: dict[str, Any]):
    command = spec["command"]
    shell = bool(spec.get("shell", False))
    if shell and isinstance(command, list):
        command = " ".join(command)
    return env.run(command, shell=shell, timeout=float(spec.get("timeout", 30.0)))


@getter
def vm_command_line(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """A command's stdout, run on the env's display."""
    return _run(env, spec).stdout


@getter
def vm_command_error(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """A command's stderr, run on the env's display."""
    return _run(env, spec).stderr


@getter
@getter(name="active_url_from_accessTree")  # OSWorld reads it from the accessibility tree
def active_tab_url(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """The active tab's URL. OSWorld reads it from the URL bar and prepends
    ``goto_prefix``; the browser here reports the full URL, so the prefix is unused."""
    return env.page_url()


@getter
def active_tab_url_parse(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, str] | None:
    """Selected query parameters of the active URL (first value, '' when absent)."""
    url = env.page_url()
    if url is None:
        return None
    query = parse_qs(urlsplit(url).query)
    params = {k: query.get(k, [""])[0] for k in spec.get("parse_keys", [])}
    for old, new in spec.get("replace", {}).items():
        if old in params:
            params[new] = params.pop(old)
    return params


@getter
def active_tab_info(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, Any] | None:
    """The active tab's title, URL and visible text."""
    if env.page_url() is None:
        return None
    return env.evaluate(
        "({title: document.title, url: location.href, content: document.body ? document.body.innerText : ''})"
    )


@getter
def page_eval(env, ctx: RunContext, spec: dict[str, Any]) -> Any:
    """(ours) A JS expression's JSON value in the active page: DOM or app state."""
    return env.evaluate(spec["expression"])


@getter
def active_window(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, str] | None:
    """(ours) The focused window as ``{"name", "wm_class"}``, or None."""
    window = env.active_window()
    return None if window is None else {"name": window.name, "wm_class": window.wm_class}


@getter
def window_name(env, ctx: RunContext, spec: dict[str, Any]) -> str | None:
    """(ours) The focused window's title, or None."""
    window = env.active_window()
    return None if window is None else window.name


@getter
def window_names(env, ctx: RunContext, spec: dict[str, Any]) -> list[str]:
    """(ours) The titles of all managed windows."""
    return [w.name for w in env.windows()]


@getter
def list_directory(env, ctx: RunContext, spec: dict[str, Any]) -> list[str] | None:
    """The sorted entries of a folder, or None if it does not exist."""
    return env.list_dir(spec["path"])


@getter
def vm_screen_size(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, int]:
    return {"width": env.screen.width, "height": env.screen.height}
