"""Every call that OSWorld's task files make to the office metrics binds to our functions
(result, expected when the task has one, every option), and every compare_table rule and
compare_pptx_files option they use is one we implement."""

from kimicua.tasks.metrics import METRICS
from kimicua.tasks.metrics.slides import PptxOptions
from kimicua.tasks.metrics.table import _RULES
from kimicua.tasks.metrics.xlsx_cells import STYLE_PROPS
from kimicua.tasks.metrics.xlsx_parts import CHART_PROPS, PIVOT_PROPS
from metric_calls import calls, needs_tasks, unbound

OFFICE = """compare_table compare_csv check_csv compare_unique_train_records compare_conference_city_in_order
compare_result_files compare_docx_files compare_docx_files_and_ignore_new_lines compare_docx_tables
compare_docx_images compare_line_spacing compare_font_names compare_subscript_contains check_font_size
has_page_numbers_in_footers check_italic_font_size_14 evaluate_strike_through_last_paragraph
evaluate_colored_words_in_tables is_first_line_centered find_default_font contains_page_break check_tabstops
check_highlighted_words compare_references compare_epub compare_pptx_files check_slide_orientation_Portrait
check_presenter_console_disable check_page_number_colors check_left_panel check_auto_saving_time
check_image_stretch_and_center check_transition evaluate_presentation_fill_to_rgb_distance
check_textbox_on_leftside check_triangle_position compare_pdfs check_pdf_pages compare_pdf_images""".split()


def test_every_office_metric_is_registered():
    assert [name for name in OFFICE if name not in METRICS] == []


@needs_tasks
def test_every_task_call_binds():
    seen = list(calls(OFFICE))
    assert len(seen) > 180
    assert unbound(seen) == []


@needs_tasks
def test_every_compare_pptx_files_option_is_known():
    for _, func, _, options in calls(OFFICE):
        if func == "compare_pptx_files":
            PptxOptions.parse(options)


def _rule_problems(rule: dict) -> list[str]:
    kind = rule["type"]
    if kind not in _RULES:
        return [f"rule type {kind}"]
    problems = [f"chart prop {p}" for p in rule.get("chart_props", []) if p not in CHART_PROPS]
    problems += [f"pivot prop {p}" for p in rule.get("pivot_props", []) if p not in PIVOT_PROPS]
    if kind == "style":
        problems += [f"style prop {p}" for p in rule["props"] if p not in STYLE_PROPS]
    if kind == "check_cell":
        problems += [f"cell prop {p}" for p in rule["props"] if p not in STYLE_PROPS | {"value"}]
    if kind == "sheet_fuzzy":
        problems += [f"fuzzy type {r['type']}" for r in rule["rules"]
                     if r["type"] not in ("includes", "included_by", "fuzzy_match", "exact_match")]
    return problems


@needs_tasks
def test_every_compare_table_rule_is_implemented():
    problems = [f"{task}: {p}" for task, func, _, options in calls(OFFICE) if func == "compare_table"
                for rule in options["rules"] for p in _rule_problems(rule)]
    assert problems == []
