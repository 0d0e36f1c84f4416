"""compare_table and its rules on small workbooks made here, with OSWorld's verdicts."""

import shutil
import zipfile
from types import SimpleNamespace

import openpyxl
import pytest
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from kimicua.tasks.metrics import METRICS
from kimicua.tasks.metrics.table import compare_conference_city_in_order, compare_table
from kimicua.tasks.metrics.value_rules import match_rule
from kimicua.tasks.metrics.xlsx_cells import RawBook
from kimicua.tasks.metrics.xlsx_parts import load_pivot_tables


def _book(path, rows, title="Sheet1", edit=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    if edit:
        edit(wb, ws)
    wb.save(path)
    return str(path)


ROWS = [["Name", "Score"], ["ann", 1.23456], ["bob", 2]]


def _data(idx0=0, idx1="EI0", **extra):
    return {"type": "sheet_data", "sheet_idx0": idx0, "sheet_idx1": idx1, **extra}


def test_registered_under_osworld_names():
    assert METRICS["compare_table"] is compare_table
    assert "compare_conference_city_in_order" in METRICS


def test_sheet_data_rounds_to_four_decimals(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", ROWS)
    close = _book(tmp_path / "close.xlsx", [ROWS[0], ["ann", 1.234561], ROWS[2]])
    off = _book(tmp_path / "off.xlsx", [ROWS[0], ["ann", 1.2347], ROWS[2]])
    renamed = _book(tmp_path / "renamed.xlsx", [["Name", "Points"], *ROWS[1:]])
    assert compare_table(close, gold, rules=[_data()]) == 1.0
    assert compare_table(off, gold, rules=[_data()]) == 0.0
    assert compare_table(renamed, gold, rules=[_data()]) == 0.0  # the header row is data too
    assert compare_table(off, gold, rules=[_data(precision=2)]) == 1.0


def test_sheet_indices_by_name_and_position(tmp_path):
    def two_sheets(wb, ws):
        other = wb.create_sheet("Data")
        other.append(["x"])
        other.append([5])

    gold = _book(tmp_path / "gold.xlsx", ROWS, edit=two_sheets)
    result = _book(tmp_path / "result.xlsx", ROWS, edit=two_sheets)
    assert compare_table(result, gold, rules=[_data("RNData", "ENData"), _data("RI1", "EI1")]) == 1.0
    assert compare_table(result, gold, rules=[_data("RNData", "EI0")]) == 0.0
    assert compare_table(result, gold, rules=[_data("RNMissing", "ENData")]) == 0.0
    assert compare_table(result, gold, rules=[_data(-1, "ENData")]) == 1.0  # Python indexing, as OSWorld
    with pytest.raises(ValueError, match="bad sheet index"):
        compare_table(result, gold, rules=[_data("XX0", "EI0")])


def test_sheet_name_rule(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", ROWS, edit=lambda wb, ws: wb.create_sheet("B"))
    same = _book(tmp_path / "same.xlsx", ROWS, edit=lambda wb, ws: wb.create_sheet("B"))
    other = _book(tmp_path / "other.xlsx", ROWS, edit=lambda wb, ws: wb.create_sheet("C"))
    assert compare_table(same, gold, rules=[{"type": "sheet_name"}]) == 1.0
    assert compare_table(other, gold, rules=[{"type": "sheet_name"}]) == 0.0


def test_missing_or_broken_result_scores_zero(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", ROWS)
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a zip")
    assert compare_table(None, gold, rules=[_data()]) == 0.0
    assert compare_table(str(tmp_path / "absent.xlsx"), gold, rules=[_data()]) == 0.0
    assert compare_table(str(broken), gold, rules=[_data()]) == 0.0
    with pytest.raises(ValueError, match="unknown compare_table rule type"):
        compare_table(gold, gold, rules=[{"type": "sheet_colour"}])


def test_sheet_print_compares_the_csv_exports(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", ROWS)
    result = _book(tmp_path / "result.xlsx", ROWS)
    (tmp_path / "gold-Sheet1.csv").write_text("Name,Score\nAnn,1.23\n\n")
    rule = {"type": "sheet_print", "sheet_idx0": "RNSheet1", "sheet_idx1": "ENSheet1"}
    assert compare_table(result, gold, rules=[rule]) == 0.0  # no export beside the result
    (tmp_path / "result-Sheet1.csv").write_text(" Name,Score \nann,1.23\n")
    assert compare_table(result, gold, rules=[rule]) == 0.0
    assert compare_table(result, gold, rules=[{**rule, "ignore_case": True}]) == 1.0


def test_sheet_fuzzy_rule_types_and_normalisation(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", [["Name", "Street", "Phone"], ["Ann", "Main Road", "555 1234"]])
    result = _book(tmp_path / "result.xlsx", [["name", "main rd", "+ (555) 1234 ext"], ["Ann", "Main Rd", "+555-1234 ext"]])

    def rule(*subrules):
        return {"type": "sheet_fuzzy", "sheet_idx0": "RNSheet1", "sheet_idx1": "ENSheet1", "rules": list(subrules)}

    exact = {"range": ["A2:A2"], "type": "exact_match"}
    assert compare_table(result, gold, rules=[rule(exact)]) == 1.0
    assert compare_table(result, gold, rules=[rule({"range": ["A1:A2"], "type": "exact_match"})]) == 0.0
    assert compare_table(result, gold, rules=[rule({"range": ["A1:A2"], "type": "exact_match", "ignore_case": True})]) == 1.0
    road = {"range": ["B2"], "type": "fuzzy_match", "threshold": 90, "normalization": [["Rd", "Road"]]}
    assert compare_table(result, gold, rules=[rule(road)]) == 1.0
    assert compare_table(result, gold, rules=[rule({**road, "normalization": []})]) == 0.0
    phone = {"range": ["C2"], "type": "includes", "trim_leadings": "+ ", "ignore_chars": " ()-"}
    assert compare_table(result, gold, rules=[rule(phone)]) == 1.0
    assert compare_table(result, gold, rules=[rule({**phone, "type": "included_by"})]) == 0.0
    assert compare_table(result, gold, rules=[rule({**phone, "range": ["C1:C2"]})]) == 0.0  # "Phone" is not in C1


def test_numbers_read_as_stored_floats(tmp_path):
    path = _book(tmp_path / "a.xlsx", [[1, "x", None, True]],
                 edit=lambda wb, ws: ws.__setitem__("E1", "=A1*2"))
    raw = RawBook(path)
    assert raw.value("Sheet1", "A1") == 1.0
    assert raw.value("Sheet1", "B1") == "x"
    assert raw.value("Sheet1", "C1") is None
    assert raw.value("Sheet1", "D1") is None  # booleans read as nothing, as in OSWorld
    assert raw.value("Sheet1", "E1") is None  # a formula without a cached value
    with pytest.raises(KeyError):
        raw.value("Nope", "A1")


def _chart(kind="bar", title="Sales"):
    def add(wb, ws):
        chart = BarChart() if kind == "bar" else LineChart()
        if kind == "bar":
            chart.type = "col"
        chart.title = title
        chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=3), titles_from_data=True)
        ws.add_chart(chart, "D2")
    return add


def test_chart_rule(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", ROWS, edit=_chart())
    same = _book(tmp_path / "same.xlsx", ROWS, edit=_chart())
    retitled = _book(tmp_path / "retitled.xlsx", ROWS, edit=_chart(title="Other"))
    line = _book(tmp_path / "line.xlsx", ROWS, edit=_chart("line"))
    none = _book(tmp_path / "none.xlsx", ROWS)
    rule = {"type": "chart", "sheet_idx0": 0, "sheet_idx1": "EI0", "chart_props": ["type", "title"]}
    assert compare_table(same, gold, rules=[rule]) == 1.0
    assert compare_table(retitled, gold, rules=[rule]) == 0.0
    assert compare_table(retitled, gold, rules=[{**rule, "chart_props": ["type"]}]) == 1.0
    assert compare_table(line, gold, rules=[rule]) == 0.0
    assert compare_table(none, gold, rules=[rule]) == 0.0
    direction = {**rule, "chart_props": ["type", "direction"]}
    assert compare_table(same, gold, rules=[direction]) == 1.0
    with pytest.raises(AttributeError):  # only bar charts have a direction; OSWorld fails too
        compare_table(line, line, rules=[direction])


def test_style_rule_with_plain_fills_and_font_colours(tmp_path):
    def paint(color):
        def edit(wb, ws):
            ws["B3"].fill = PatternFill("solid", fgColor=color)
            ws["B2"].font = Font(color="FF00FF00")
        return edit

    gold = _book(tmp_path / "gold.xlsx", ROWS, edit=paint("FFFF0000"))
    same = _book(tmp_path / "same.xlsx", ROWS, edit=paint("FFFF0000"))
    blue = _book(tmp_path / "blue.xlsx", ROWS, edit=paint("FF0000FF"))
    rule = {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["bgcolor", "font_color"]}
    assert compare_table(same, gold, rules=[rule]) == 1.0
    assert compare_table(blue, gold, rules=[rule]) == 0.0
    assert compare_table(blue, gold, rules=[{**rule, "props": ["font_color"]}]) == 1.0


def test_style_rule_applies_expression_conditional_formats(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", [[3], [7], [9]],
                 edit=lambda wb, ws: [setattr(ws[c], "fill", PatternFill("solid", fgColor="FFFF0000")) for c in ("A2", "A3")])

    def conditional(formula):
        return lambda wb, ws: ws.conditional_formatting.add(
            "A1:A3", FormulaRule(formula=[formula], fill=PatternFill(bgColor="FFFF0000")))

    right = _book(tmp_path / "right.xlsx", [[3], [7], [9]], edit=conditional("A1>5"))
    wrong = _book(tmp_path / "wrong.xlsx", [[3], [7], [9]], edit=conditional("A1>8"))
    rule = {"type": "style", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["bgcolor"]}
    assert compare_table(right, gold, rules=[rule]) == 1.0
    assert compare_table(wrong, gold, rules=[rule]) == 0.0
    cell_is = _book(tmp_path / "cellis.xlsx", [[3], [7], [9]], edit=lambda wb, ws: ws.conditional_formatting.add(
        "A1:A3", CellIsRule(operator="greaterThan", formula=["5"], fill=PatternFill(bgColor="FFFF0000"))))
    with pytest.raises(ValueError, match="only 'expression'"):
        compare_table(cell_is, gold, rules=[rule])


def test_freeze_and_zoom_rules(tmp_path):
    def freeze(cell, zoom=None):
        def edit(wb, ws):
            ws.freeze_panes = cell
            if zoom:
                ws.sheet_view.zoomScale = zoom
        return edit

    gold = _book(tmp_path / "gold.xlsx", ROWS, edit=freeze("A2"))
    same = _book(tmp_path / "same.xlsx", ROWS, edit=freeze("A2", zoom=80))
    other = _book(tmp_path / "other.xlsx", ROWS, edit=freeze("B2"))
    plain = _book(tmp_path / "plain.xlsx", ROWS)
    rule = {"type": "freeze", "sheet_idx0": 0, "sheet_idx1": "EI0"}
    assert compare_table(same, gold, rules=[rule]) == 1.0
    assert compare_table(other, gold, rules=[rule]) == 0.0
    assert compare_table(plain, gold, rules=[rule]) == 0.0
    zoom = {"type": "zoom", "sheet_idx": 0, "method": "lt", "ref": 100}
    assert compare_table(same, None, rules=[zoom]) == 1.0
    assert compare_table(plain, None, rules=[zoom]) == 0.0  # unset reads as 100


def test_data_validation_rule(tmp_path):
    def validate(formula, sqref="D2:D29"):
        def edit(wb, ws):
            dv = DataValidation(type="list", formula1=formula)
            dv.add(sqref)
            ws.add_data_validation(dv)
        return edit

    rule = {"type": "data_validation", "sheet_idx": 0, "dv_props": [{
        "ranges": {"method": "spreadsheet_range", "ref": ["D2:D29", "D2:D1048576"]},
        "type": {"method": "eq", "ref": "list"},
        "formula1": {"method": "str_set_eq", "ref": ["Pass", "Fail", "Held"]}}]}
    good = _book(tmp_path / "good.xlsx", ROWS, edit=validate('"Held,Pass,Fail"', "D2:D100"))
    short = _book(tmp_path / "short.xlsx", ROWS, edit=validate('"Pass,Fail,Held"', "D2:D20"))
    words = _book(tmp_path / "words.xlsx", ROWS, edit=validate('"Pass,Fail"'))
    none = _book(tmp_path / "none.xlsx", ROWS)
    assert compare_table(good, None, rules=[rule]) == 1.0
    assert compare_table(short, None, rules=[rule]) == 0.0
    assert compare_table(words, None, rules=[rule]) == 0.0
    assert compare_table(none, None, rules=[rule]) == 0.0


def test_row_and_column_props(tmp_path):
    def hide(row=None, col=None):
        def edit(wb, ws):
            if row:
                ws.row_dimensions[row].hidden = True
            if col:
                ws.column_dimensions[col].hidden = True
        return edit

    gold = _book(tmp_path / "gold.xlsx", ROWS, edit=hide(row=3, col="B"))
    same = _book(tmp_path / "same.xlsx", ROWS, edit=hide(row=3, col="B"))
    other = _book(tmp_path / "other.xlsx", ROWS, edit=hide(row=2, col="B"))
    rows = {"type": "row_props", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["hidden"]}
    cols = {"type": "col_props", "sheet_idx0": 0, "sheet_idx1": "EI0", "props": ["hidden"]}
    assert compare_table(same, gold, rules=[rows, cols]) == 1.0
    assert compare_table(other, gold, rules=[rows]) == 0.0
    assert compare_table(other, gold, rules=[cols]) == 1.0


def test_filter_rule(tmp_path):
    def autofilter(ref, values):
        def edit(wb, ws):
            ws.auto_filter.ref = ref
            ws.auto_filter.add_filter_column(0, values)
        return edit

    gold = _book(tmp_path / "gold.xlsx", ROWS, edit=autofilter("A1:B3", ["ann"]))
    same = _book(tmp_path / "same.xlsx", ROWS, edit=autofilter("A1:B3", ["ann"]))
    other = _book(tmp_path / "other.xlsx", ROWS, edit=autofilter("A1:B3", ["bob"]))
    rule = {"type": "filter", "sheet_idx0": 0, "sheet_idx1": "EI0"}
    assert compare_table(same, gold, rules=[rule]) == 1.0
    assert compare_table(other, gold, rules=[rule]) == 0.0


def test_check_cell_values_styles_and_merges(tmp_path):
    def edit(wb, ws):
        ws.merge_cells("A5:C5")
        ws["A5"] = "Summary"
        ws["A5"].font = Font(bold=True, color="FFFFFFFF")

    path = _book(tmp_path / "a.xlsx", ROWS, edit=edit)

    def cell(coordinate, **props):
        return {"type": "check_cell", "sheet_idx": 0, "coordinate": coordinate, "props": props}

    assert compare_table(path, None, rules=[cell("B2", value={"method": "approx:0.001", "ref": 1.2346})]) == 1.0
    assert compare_table(path, None, rules=[cell("B2", value={"method": "approx:0.00001", "ref": 1.2346})]) == 0.0
    assert compare_table(path, None, rules=[cell("A5", value={"method": "eq", "ref": "Summary"},
                                                 font_bold={"method": "eq", "ref": True},
                                                 font_color={"method": "eq", "ref": "FFFFFFFF"})]) == 1.0
    assert compare_table(path, None, rules=[cell("B5", merge={"method": "eq", "ref": True}),
                                            cell("D5", merge={"method": "eq", "ref": False})]) == 1.0
    assert compare_table(path, None, rules=[cell("A5", merge={"method": "eq", "ref": True})]) == 0.0
    # A comparison that cannot be made fails the rule (None < 3), as in OSWorld.
    assert compare_table(path, None, rules=[cell("Z9", value={"method": "lt", "ref": 3})]) == 0.0
    assert compare_table(path, None, rules=[cell("A2", value={"method": "re.I", "ref": "^AN"})]) == 1.0


@pytest.mark.filterwarnings("ignore:Sparkline Group extension")
def test_sparkline_rule_reads_x14_extensions(tmp_path):
    gold = _book(tmp_path / "gold.xlsx", ROWS)
    ext = ('<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" '
           'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
           '<x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
           '<x14:sparklineGroup><x14:sparklines><x14:sparkline><xm:f>Sheet1!B2:B3</xm:f><xm:sqref>C2</xm:sqref>'
           '</x14:sparkline></x14:sparklines></x14:sparklineGroup></x14:sparklineGroups></ext></extLst>')
    result = tmp_path / "result.xlsx"
    with zipfile.ZipFile(gold) as src, zipfile.ZipFile(result, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", ext.encode() + b"</worksheet>")
            dst.writestr(item, data)
    assert RawBook(str(result)).sparklines("Sheet1") == {"C2": "Sheet1!B2:B3"}
    rule = {"type": "sparkline", "sheet_idx0": 0, "sheet_idx1": "EI0"}
    assert compare_table(str(result), gold, rules=[rule]) == 0.0
    shutil.copy(result, tmp_path / "gold2.xlsx")
    assert compare_table(str(result), str(tmp_path / "gold2.xlsx"), rules=[rule]) == 1.0


def _pivot(items, cols, rows, data, pages, ref="A1:E9"):
    fields = [SimpleNamespace(items=[SimpleNamespace(h=None, x=x) for x in f]) for f in items]
    return SimpleNamespace(
        name="P", pivotFields=fields, pageFields=[SimpleNamespace(fld=p) for p in pages],
        colFields=[SimpleNamespace(x=c) for c in cols], rowFields=[SimpleNamespace(x=r) for r in rows],
        dataFields=[SimpleNamespace(fld=d, name="Sum", subtotal="sum", showDataAs=None) for d in data],
        cache=SimpleNamespace(cacheSource=SimpleNamespace(
            type="worksheet", worksheetSource=SimpleNamespace(ref=ref, sheet="Sheet1"))))


class _Book(dict):
    sheetnames = ["S"]


def test_pivot_fields_count_from_the_first_used_column():
    props = ["col_fields", "filter", "row_fields", "data_fields"]
    # A source with an unused first column (no items selected) is the same pivot as the
    # source without it: indices and the range shift by one.
    shifted = _pivot([[], [0, 1], [0]], cols=[-2], rows=[1], data=[2], pages=[1])
    plain = _pivot([[0, 1], [0]], cols=[-3], rows=[0], data=[1], pages=[1], ref="B1:E9")
    swapped = _pivot([[0, 1], [0]], cols=[-3], rows=[1], data=[0], pages=[1], ref="B1:E9")
    a = load_pivot_tables(_Book(S=SimpleNamespace(_pivots=[shifted])), "S", props)
    b = load_pivot_tables(_Book(S=SimpleNamespace(_pivots=[plain])), "S", props)
    c = load_pivot_tables(_Book(S=SimpleNamespace(_pivots=[swapped])), "S", props)
    assert list(a) == ["worksheet;(1, 2):(9, 5);Sheet1"]
    assert a == b
    assert a != c
    assert load_pivot_tables(_Book(), "Missing", props) == {}
    with pytest.raises(ValueError, match="unknown pivot_props"):
        load_pivot_tables(_Book(S=SimpleNamespace(_pivots=[])), "S", ["colour"])


@pytest.mark.parametrize("value, rule, verdict", [
    (5, {"method": "eq", "ref": 5}, True),
    (5, {"method": "gt", "ref": 5}, False),
    ("7", {"method": "approx:0.5", "ref": 7.4}, True),
    ("x", {"method": "approx:0.5", "ref": 7.4}, False),
    (2, {"method": "range.te", "ref": [1, 2]}, True),
    (1, {"method": "range.te", "ref": [1, 2]}, False),
    ("Hello", {"method": "re", "ref": "^h"}, False),
    ("Hello", {"method": "re.IGNORECASE", "ref": "^h"}, True),
    ('"b,a"', {"method": "str_set_eq", "ref": ["a", "b"]}, True),
    ('"b,a"', {"method": "str_list_eq", "ref": ["a", "b"]}, False),
    ("D2:D50", {"method": "spreadsheet_range", "ref": ["D2:D29", "D2:D1048576"]}, True),
    ("D3:D50", {"method": "spreadsheet_range", "ref": ["D2:D29", "D2:D1048576"]}, False),
])
def test_value_rules(value, rule, verdict):
    assert match_rule(value, rule) is verdict


def test_value_rule_errors():
    with pytest.raises(ValueError, match="unknown value-rule method"):
        match_rule(1, {"method": "about", "ref": 1})
    with pytest.raises(ValueError, match="unknown regex flag"):
        match_rule("a", {"method": "re.NOPE", "ref": "a"})


def test_compare_conference_city_in_order(tmp_path):
    cities = ["Scottsdale", "Montréal, Canada", "NYC"] + ["X"] * 18

    def fill(values):
        def edit(wb, ws):
            for i, v in enumerate(values, start=2):
                ws[f"C{i}"] = v
        return edit

    expected = {"expected": ["Scottsdale", ["Montreal", "Montréal"], ["New York", "NYC"]] + ["x"] * 18}
    good = _book(tmp_path / "good.xlsx", [], edit=fill(cities))
    bad = _book(tmp_path / "bad.xlsx", [], edit=fill(["Scottsdale", "Toronto"] + cities[2:]))
    assert compare_conference_city_in_order(good, expected) == 1.0
    assert compare_conference_city_in_order(bad, expected) == 0.0
    assert compare_conference_city_in_order(None, expected) == 0.0
