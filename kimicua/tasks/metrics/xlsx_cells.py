"""Cells of an .xlsx as OSWorld's spreadsheet checks see them.

- ``RawBook.value``: the value stored in the file's XML (the cached result of a formula,
  never the formula), as OSWorld's ``read_cell_value``: a float for a number, the text
  for a shared, inline or formula string, None for an empty cell, a boolean, an error
  or a date cell.
- ``cell_style``: one style property of an openpyxl cell (or of a conditional format's
  differential style applied to it), as OSWorld's ``_read_cell_style``.
"""

from __future__ import annotations

import posixpath
import zipfile
from typing import Any

from lxml import etree
from openpyxl.cell.cell import MergedCell

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS = {"m": _MAIN}
_X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
_XM = "http://schemas.microsoft.com/office/excel/2006/main"


def _text(element) -> str:
    """The text of every ``<t>`` under an element, joined (rich-text runs included)."""
    return "".join(t.text or "" for t in element.iter(f"{{{_MAIN}}}t"))


class RawBook:
    """An .xlsx read as XML, sheet by sheet on demand (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sheets: dict[str, dict[str, Any]] = {}
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            self._shared = ([_text(si) for si in etree.fromstring(zf.read("xl/sharedStrings.xml"))
                             .iterfind("m:si", NS)] if "xl/sharedStrings.xml" in names else [])
            workbook = etree.fromstring(zf.read("xl/workbook.xml"))
            rels = {}
            if "xl/_rels/workbook.xml.rels" in names:
                for rel in etree.fromstring(zf.read("xl/_rels/workbook.xml.rels")).iterfind(
                        f"{{{_PKG_REL}}}Relationship"):
                    target = rel.get("Target", "")
                    rels[rel.get("Id")] = (target.lstrip("/") if target.startswith("/")
                                           else posixpath.normpath(posixpath.join("xl", target)))
            # The sheet's part through the workbook's relationships (OSWorld assumes
            # sheet{sheetId}.xml, which is the same part in the files Calc and Excel write).
            self._parts = {
                sheet.get("name"): rels.get(sheet.get(f"{{{_REL}}}id"),
                                            f"xl/worksheets/sheet{sheet.get('sheetId')}.xml")
                for sheet in workbook.iterfind("m:sheets/m:sheet", NS)
            }

    def _cell_value(self, cell) -> Any:
        kind = cell.get("t", "n")
        v = cell.find("m:v", NS)
        if kind == "inlineStr":
            inline = cell.find("m:is", NS)
            return None if inline is None else _text(inline)
        if v is None or v.text is None:
            return None
        if kind == "n":
            try:
                return float(v.text)
            except ValueError:
                return None
        if kind == "s":
            return self._shared[int(v.text)]
        if kind == "str":
            return v.text
        return None  # b, e, d: OSWorld reads these as nothing

    def _sheet_xml(self, sheet: str):
        if sheet not in self._parts:
            raise KeyError(f"no sheet {sheet!r} in {self.path}")
        with zipfile.ZipFile(self.path) as zf:
            return etree.fromstring(zf.read(self._parts[sheet]))

    def _sheet(self, sheet: str) -> dict[str, Any]:
        if sheet not in self._sheets:
            root = self._sheet_xml(sheet)
            self._sheets[sheet] = {c.get("r"): self._cell_value(c)
                                   for c in root.iterfind("m:sheetData/m:row/m:c", NS)}
        return self._sheets[sheet]

    def sparklines(self, sheet: str) -> dict[str, str]:
        """``{location: data range}`` of the sheet's sparklines, e.g. {"F3": "Sheet1!C3:E3"}."""
        found = {}
        for line in self._sheet_xml(sheet).iter(f"{{{_X14}}}sparkline"):
            where, data = line.find(f"{{{_XM}}}sqref"), line.find(f"{{{_XM}}}f")
            found[where.text if where is not None else None] = data.text if data is not None else None
        return found

    def value(self, sheet: str, coordinate: str) -> Any:
        """The stored value of ``coordinate`` (e.g. "B3") on ``sheet``; None when empty."""
        return self._sheet(sheet).get(coordinate)


# Properties whose value is read from the font (of the cell or the differential style).
_FONT = {"font_name": "name", "font_family": "family", "font_bold": "b", "font_italic": "i",
         "font_underline": "u", "font_size": "sz"}
STYLE_PROPS = frozenset({"number_format", "font_color", "fill_type", "bgcolor", "fgcolor",
                         "hyperlink", "merge", *_FONT})


def cell_style(name: str, cell, dxf=None) -> Any:
    """One style property of ``cell`` (``dxf``: a conditional format's style that applies).

    Colours are aRGB strings ("FFFF0000" is red); ``bgcolor`` is the fill's foreground
    colour for a plain cell and the background colour for a differential style, as in
    OSWorld. ``merge`` is True for a cell covered by a merge (not its top-left cell).
    """
    if name not in STYLE_PROPS:
        raise ValueError(f"unknown cell style property {name!r}")
    styled = dxf if dxf is not None else cell
    if name == "merge":
        return isinstance(cell, MergedCell)
    if name in ("bgcolor", "fgcolor"):
        try:
            return dxf.fill.bgColor.rgb if dxf is not None else cell.fill.fgColor.rgb
        except AttributeError:
            return None
    if name == "fill_type":
        try:
            return styled.fill.tagname
        except AttributeError:
            return None
    if cell.value is None:
        return None
    if name == "number_format":
        if cell.data_type != "n":
            return None
        return cell.number_format if dxf is None else dxf.numFmt.formatCode
    if name == "hyperlink":
        return cell.hyperlink or ""
    if name == "font_color":
        return styled.font.color.rgb
    return getattr(styled.font, _FONT[name])
