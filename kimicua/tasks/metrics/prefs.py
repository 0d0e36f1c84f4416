"""Application settings: LibreOffice's registrymodifications.xcu (default font,
presenter console, autosave interval) and Chrome's default font size.

An unreadable settings file scores 0, as in OSWorld.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from kimicua.tasks.metrics.registry import metric

_OOR = "{http://openoffice.org/2001/registry}"


def _items(path: Any, item_path: str, prop_name: str) -> list[str | None]:
    """The <value> texts of every ``prop_name`` prop under items at ``item_path``."""
    root = ET.parse(path).getroot()
    return [value.text
            for item in root.iter("item") if item.get(f"{_OOR}path") == item_path
            for prop in item.iter("prop") if prop.get(f"{_OOR}name") == prop_name
            for value in prop.findall("value")]


@metric
def find_default_font(config_file_path: Any, rules: dict[str, Any]) -> float:
    """1 when Writer's default font (DefaultFont/Standard) is ``rules["font_name"]``."""
    if not config_file_path:
        return 0.0
    try:
        values = _items(config_file_path, "/org.openoffice.Office.Writer/DefaultFont", "Standard")
    except (OSError, ET.ParseError):
        values = []
    return float((values[-1] if values else None) == rules["font_name"])


@metric
def check_presenter_console_disable(config_file_path: Any) -> float:
    """1 when Impress's EnablePresenterScreen is set to false."""
    try:
        root = ET.parse(config_file_path).getroot()
    except (OSError, ET.ParseError, TypeError):
        return 0.0
    for item in root.iter("item"):
        if item.get(f"{_OOR}path") != "/org.openoffice.Office.Impress/Misc/Start":
            continue
        for prop in item.findall("prop"):
            if prop.get(f"{_OOR}name") == "EnablePresenterScreen":
                value = prop.find("value")
                return float(value is not None and (value.text or "").lower() == "false")
    return 0.0


@metric
def check_auto_saving_time(config_file_path: Any, rules: dict[str, Any]) -> float:
    """1 when the autosave interval (Common/Save/Document AutoSaveTimeIntervall) is
    ``rules["minutes"]``."""
    try:
        root = ET.parse(config_file_path).getroot()
    except (OSError, ET.ParseError, TypeError):
        return 0.0
    found = None
    for item in root.iter("item"):
        if item.get(f"{_OOR}path") != "/org.openoffice.Office.Common/Save/Document":
            continue
        for prop in item.iter("prop"):
            if prop.get(f"{_OOR}name") == "AutoSaveTimeIntervall":
                value = prop.find(".//value")
                found = value.text if value is not None else None
                break
    try:
        return float(found is not None and int(found) == rules["minutes"])
    except ValueError:
        return 0.0


@metric
def check_font_size(font_size: Any, rule: dict[str, Any]) -> float:
    """Chrome's default font size (``{"default_font_size": n}``) against ``rule``:
    ``{"type": "value", "value": n}`` or ``{"type": "range", "min": a, "max": b}``
    (strictly between)."""
    if not font_size:
        return 0.0
    size = font_size["default_font_size"]
    if rule["type"] == "value":
        return float(size == rule["value"])
    if rule["type"] == "range":
        return float(rule["min"] < size < rule["max"])
    raise ValueError(f"check_font_size rule type must be 'value' or 'range', got {rule['type']!r}")
