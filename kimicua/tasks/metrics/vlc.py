"""VLC metrics (OSWorld's vlc.py) over the status XML of VLC's web interface, the vlcrc
config file, and window/screen sizes.

vlcrc checks read every line containing ``key=``, commented-out defaults ("#key=...")
included, and the last one wins, exactly as OSWorld does; a key never seen has VLC's default.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree

from kimicua.tasks.metrics.registry import metric

_META = 'information/category[@name="meta"]/info[@name="{}"]'
_FILE_FIELDS = ("filename", "title", "uri", "location", "name")
_URL_PATHS = [_META.format(n) for n in ("url", "URI", "location", "title", "filename")] + [
    f'information/category[@name="Stream 0"]/info[@name="{n}"]' for n in ("Codec", "Type", "Language")]


def _first_text(tree: ElementTree.Element, paths: list[str]) -> str | None:
    for path in paths:
        element = tree.find(path)
        if element is not None and element.text:
            return element.text
    return None


def _file_matches(info: str, name: str) -> bool:
    return os.path.basename(info) == name or info.endswith(name)


def _url_matches(info: str, url: str) -> bool:
    if url in info or info.endswith(url):
        return True
    want = urlparse(url)
    if info == os.path.basename(want.path):  # HLS streams show only the playlist's file name
        return True
    if "://" in info:
        got = urlparse(info)
        return want.netloc == got.netloc and want.path in got.path
    return False


@metric
def is_vlc_playing(status_path: Any, rule: dict[str, Any]) -> float:
    """VLC's state is "playing" and its current item is ``rule["file_name"]`` (type
    "file_name", by base name or suffix) or ``rule["url"]`` (type "url")."""
    with open(status_path, "rb") as f:
        tree = ElementTree.fromstring(f.read().decode("utf-8"))
    state = tree.find("state")
    if state is None or state.text != "playing":
        return 0.0
    kind = rule["type"]
    if kind == "file_name":
        info = _first_text(tree, [_META.format(n) for n in _FILE_FIELDS])
        return float(info is not None and _file_matches(info, rule["file_name"]))
    if kind == "url":
        info = _first_text(tree, _URL_PATHS)
        return float(info is not None and _url_matches(info, rule["url"]))
    return 0.0


def _vlcrc(path: str) -> list[str]:
    with open(path, "rb") as f:
        return f.read().decode("utf-8").split("\n")


def _setting(path: str, marker: str, default: str) -> str:
    """The value after the last "=" of the last line containing ``marker``, else ``default``."""
    value = default
    for line in _vlcrc(path):
        if marker in line:
            value = line.split("=")[-1].strip()
    return value


def _check(path: Any, rule: dict[str, Any], key: str, default: str) -> float:
    return float(_setting(path, f"{key}=", default) == str(rule[f"expected_{key.replace('-', '_')}"]))


@metric
def is_vlc_recordings_folder(config_path: Any, rule: dict[str, Any]) -> float:
    """The first uncommented line mentioning input-record-path sets it to ``recording_file_path``."""
    for line in _vlcrc(config_path):
        if line.startswith("#") or not line.strip():
            continue
        if "input-record-path" in line:
            return float(line.split("=")[-1].strip() == rule["recording_file_path"])
    return 0.0


@metric
def is_vlc_fullscreen(window_size: Any, screen_size: Any) -> float:
    """1 when the window is exactly as wide and tall as the screen."""
    if window_size is None or screen_size is None:
        return 0.0
    return float(window_size["width"] == screen_size["width"] and window_size["height"] == screen_size["height"])


@metric
def check_qt_bgcone(config_path: Any, rule: dict[str, Any]) -> float:
    return _check(config_path, rule, "qt-bgcone", "1")


@metric
def check_qt_max_volume(config_path: Any, rule: dict[str, Any]) -> float:
    return _check(config_path, rule, "qt-max-volume", "125")


@metric
def check_qt_minimal_view(config_path: Any, rule: dict[str, Any]) -> float:
    return _check(config_path, rule, "qt-minimal-view", "0")


@metric
def check_play_and_exit(config_path: Any, rule: dict[str, Any]) -> float:
    return _check(config_path, rule, "play-and-exit", "0")


@metric
def check_one_instance_when_started_from_file(config_path: Any, rule: dict[str, Any]) -> float:
    return _check(config_path, rule, "one-instance-when-started-from-file", "1")


@metric
def check_global_key_play_pause(config_path: Any, rule: dict[str, Any]) -> float:
    """"1" when the global play/pause hotkey has a value (any), "0" when empty or unset."""
    state = "0"
    for line in _vlcrc(config_path):
        if "global-key-play-pause=" in line:
            state = "0" if line.split("=")[-1].strip() == "" else "1"
    return float(state == str(rule["expected_global_key_play_pause"]))


_DEFAULT_SLIDER = "153;210;153;20;210;20;255;199;15;245;39;29"


@metric
def check_qt_slider_colours(config_path: Any, rule: dict[str, Any]) -> float:
    """``type`` "match": the colours equal ``expected_qt_slider_colours``; "blackish":
    every RGB triple has all channels below 100."""
    colours = _setting(config_path, "qt-slider-colours", _DEFAULT_SLIDER)
    if rule["type"] == "match":
        return float(colours == rule["expected_qt_slider_colours"])
    if rule["type"] == "blackish":
        values = [int(v) for v in colours.split(";")]
        triples = zip(values[0::3], values[1::3], values[2::3])
        return float(all(max(rgb) < 100 for rgb in triples))
    return 0.0
