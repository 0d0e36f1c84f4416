"""Settings metrics on registrymodifications.xcu files written here, and Chrome's font size."""

import pytest

from kimicua.tasks.metrics.prefs import (check_auto_saving_time, check_font_size, check_presenter_console_disable,
                                         find_default_font)

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry">'


def _xcu(tmp_path, *items):
    path = tmp_path / "registrymodifications.xcu"
    path.write_text(HEAD + "".join(
        f'<item oor:path="{where}"><prop oor:name="{name}" oor:op="fuse"><value>{value}</value></prop></item>'
        for where, name, value in items) + "</oor:items>")
    return str(path)


def test_find_default_font(tmp_path):
    times = _xcu(tmp_path, ("/org.openoffice.Office.Writer/DefaultFont", "Standard", "Times New Roman"))
    assert find_default_font(times, {"font_name": "Times New Roman"}) == 1.0
    assert find_default_font(times, {"font_name": "Arial"}) == 0.0
    other = _xcu(tmp_path, ("/org.openoffice.Office.Writer/DefaultFont", "Heading", "Times New Roman"))
    assert find_default_font(other, {"font_name": "Times New Roman"}) == 0.0
    assert find_default_font(None, {"font_name": "Arial"}) == 0.0
    assert find_default_font(str(tmp_path / "absent.xcu"), {"font_name": "Arial"}) == 0.0


def test_check_presenter_console_disable(tmp_path):
    where = "/org.openoffice.Office.Impress/Misc/Start"
    assert check_presenter_console_disable(_xcu(tmp_path, (where, "EnablePresenterScreen", "false"))) == 1.0
    assert check_presenter_console_disable(_xcu(tmp_path, (where, "EnablePresenterScreen", "true"))) == 0.0
    assert check_presenter_console_disable(_xcu(tmp_path, (where, "Other", "false"))) == 0.0
    assert check_presenter_console_disable(None) == 0.0


def test_check_auto_saving_time(tmp_path):
    where = "/org.openoffice.Office.Common/Save/Document"
    assert check_auto_saving_time(_xcu(tmp_path, (where, "AutoSaveTimeIntervall", "3")), {"minutes": 3}) == 1.0
    assert check_auto_saving_time(_xcu(tmp_path, (where, "AutoSaveTimeIntervall", "10")), {"minutes": 3}) == 0.0
    assert check_auto_saving_time(_xcu(tmp_path, (where, "AutoSaveTimeIntervall", "x")), {"minutes": 3}) == 0.0
    assert check_auto_saving_time(_xcu(tmp_path, ("/elsewhere", "AutoSaveTimeIntervall", "3")), {"minutes": 3}) == 0.0


def test_check_font_size():
    assert check_font_size({"default_font_size": 20}, {"type": "range", "min": 16, "max": 99999}) == 1.0
    assert check_font_size({"default_font_size": 16}, {"type": "range", "min": 16, "max": 99999}) == 0.0  # strict
    assert check_font_size({"default_font_size": 16}, {"type": "value", "value": 16}) == 1.0
    assert check_font_size(None, {"type": "value", "value": 16}) == 0.0
    with pytest.raises(ValueError, match="'value' or 'range'"):
        check_font_size({"default_font_size": 16}, {"type": "exact"})
