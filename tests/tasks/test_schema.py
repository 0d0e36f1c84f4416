import json

import pytest

from kimicua.tasks.schema import Evaluator, Task, TaskError, load_task, parse_task

MINIMAL = {"id": "t1", "instruction": "Do it.", "evaluator": {"func": "exact_match"}}


def test_minimal_task_defaults_and_unknown_keys_are_kept():
    task = parse_task({**MINIMAL, "future_field": {"a": 1}})
    assert task.env_kind == "desktop" and task.config == [] and task.evaluator.conj == "and"
    assert task.model_dump()["future_field"] == {"a": 1}
    with pytest.raises(Exception):
        task.id = "other"  # frozen


def test_kimicua_extension_parses_solution_steps():
    task = parse_task({**MINIMAL, "kimicua": {"env": "browser", "domain": "web", "solution": [
        {"type": "click", "target": {"selector": "#b"}}, {"type": "type", "text": "hi"}]}})
    assert task.env_kind == "browser" and task.domain == "web"
    assert task.kimicua.solution[1].action_fields() == {"type": "type", "text": "hi"}


@pytest.mark.parametrize("patch, field", [
    ({"instruction": None}, "instruction"),
    ({"evaluator": {"func": ["a", "b"], "result": [{"type": "rule"}]}}, "evaluator"),
    ({"evaluator": {"func": "exact_match", "conj": "xor"}}, "evaluator.conj"),
    ({"config": [{"parameters": {}}]}, "config.0.type"),
    ({"kimicua": {"env": "phone"}}, "kimicua.env"),
    ({"kimicua": {"solution": [{"type": "done"}, {"type": "clik", "target": {"selector": "#a"}}]}},
     "kimicua.solution.1"),
    ({"kimicua": {"solution": [{"type": "click", "target": {"xpath": "//a"}}]}}, "kimicua.solution.0"),
    ({"kimicua": {"solution": [{"type": "scroll", "dy": 5000}]}}, "kimicua.solution.0"),
])
def test_malformed_task_gives_one_line_error_naming_file_and_field(tmp_path, patch, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**MINIMAL, **patch}))
    with pytest.raises(TaskError) as err:
        load_task(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}")


def test_missing_field_and_bad_json_and_non_object(tmp_path):
    missing = tmp_path / "m.json"
    missing.write_text(json.dumps({"id": "x", "instruction": "y"}))
    with pytest.raises(TaskError, match=r"m\.json: evaluator: Field required"):
        load_task(missing)
    broken = tmp_path / "b.json"
    broken.write_text('{"id": ')
    with pytest.raises(TaskError, match=r"b\.json: invalid JSON at line 1"):
        load_task(broken)
    with pytest.raises(TaskError, match="must be a JSON object"):
        parse_task([1, 2], "list.json")
    with pytest.raises(TaskError, match="no such file"):
        load_task(tmp_path / "absent.json")


def test_evaluator_aligned_spreads_single_values_and_broadcasts_options():
    ev = Evaluator(func=["a", "b"], result=[{"type": "r1"}, {"type": "r2"}],
                   expected={"type": "rule", "rules": {}}, options={"ignore_case": True})
    rows = ev.aligned()
    assert [r[0] for r in rows] == ["a", "b"]
    assert rows[1][1] == {"type": "r2"} and rows[0][2] == rows[1][2] == {"type": "rule", "rules": {}}
    assert rows[0][3] == rows[1][3] == {"ignore_case": True}
    ev2 = Evaluator(func=["a", "b"], options=[None, {"x": 1}])
    assert [r[3] for r in ev2.aligned()] == [{}, {"x": 1}]
    assert Evaluator(func="infeasible").infeasible and not ev.infeasible


def test_load_task_records_origin(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(MINIMAL))
    assert load_task(path).origin == path.resolve()
    assert isinstance(load_task(path), Task)
