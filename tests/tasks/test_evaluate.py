import pytest

from kimicua.env.actions import Click, Done, Fail, Type
from kimicua.tasks.context import RunContext
from kimicua.tasks.evaluate import UnsupportedEvaluator, evaluate
from kimicua.tasks.schema import Evaluator
from task_fakes import FakeEnv

URL = {"type": "active_tab_url"}


def rule(**r):
    return {"type": "rule", "rules": r}


@pytest.fixture
def ctx(tmp_path):
    return RunContext(tmp_path, pages="http://127.0.0.1:9", files=(tmp_path,))


def test_infeasible_scores_only_a_final_fail(ctx):
    ev = Evaluator(func="infeasible")
    env = FakeEnv()
    assert evaluate(ev, env, ctx, [Click(x=1, y=1), Fail()]).score == 1.0
    assert evaluate(ev, env, ctx, [Fail(), Done()]).score == 0.0
    assert evaluate(ev, env, ctx, [Done()]).score == 0.0
    assert evaluate(ev, env, ctx, []).score == 0.0


def test_a_final_fail_scores_zero_on_a_feasible_task_even_when_the_state_is_right(ctx):
    ev = Evaluator(func="exact_match", result=URL, expected=rule(expected="http://x/"))
    env = FakeEnv(url="http://x/")
    assert evaluate(ev, env, ctx, [Done()]).score == 1.0
    assert evaluate(ev, env, ctx, []).score == 1.0  # state, not actions, is judged
    assert evaluate(ev, env, ctx, [Type(text="x"), Fail()]).score == 0.0


def test_conj_and_is_mean_and_short_circuits_on_zero(ctx):
    calls = []
    env = FakeEnv(js={"a": lambda: calls.append("a") or "x", "b": lambda: calls.append("b") or "long text"})
    ev = Evaluator(func=["exact_match", "fuzzy_match"],
                   result=[{"type": "page_eval", "expression": "a"}, {"type": "page_eval", "expression": "b"}],
                   expected=[rule(expected="x"), rule(expected="long texts")])
    got = evaluate(ev, env, ctx, [])
    assert got.score == pytest.approx((1.0 + 18 / 19) / 2) and calls == ["a", "b"]
    calls.clear()
    ev0 = Evaluator(func=["exact_match", "fuzzy_match"],
                    result=[{"type": "page_eval", "expression": "a"}, {"type": "page_eval", "expression": "b"}],
                    expected=[rule(expected="y"), rule(expected="long text")])
    assert evaluate(ev0, env, ctx, []).score == 0.0 and calls == ["a"]  # b never read


def test_conj_or_is_max_and_short_circuits_on_one(ctx):
    env = FakeEnv(url="https://www.drugs.com/npp/")
    ev = Evaluator(func=["is_expected_active_tab", "is_expected_active_tab"], conj="or",
                   result=[URL, URL],
                   expected=[rule(type="url", url="https://www.drugs.com/npc/"),
                             rule(type="url", url="https://www.drugs.com/npp/")])
    got = evaluate(ev, env, ctx, [])
    assert got.score == 1.0 and got.parts == [0.0, 1.0]
    env.url = "https://www.drugs.com/other/"
    assert evaluate(ev, env, ctx, []).score == 0.0
    fuzzy = Evaluator(func=["fuzzy_match", "fuzzy_match"], conj="or", result=[URL, URL],
                      expected=[rule(expected="abcd"), rule(expected="abcx")])
    env.url = "abce"
    assert evaluate(fuzzy, env, ctx, []).score == pytest.approx(0.75)


def test_list_func_uses_aligned_options(ctx):
    env = FakeEnv(js={"t": "HELLO", "l": ["A", "b"]})
    ev = Evaluator(func=["literal_match", "literal_match"],
                   result=[{"type": "page_eval", "expression": "t"}, {"type": "page_eval", "expression": "l"}],
                   expected=[{"type": "rule", "rules": "hello"}, {"type": "rule", "rules": ["a", "b"]}],
                   options=[{"ignore_case": True}, {"type": "list", "ignore_case": True}])
    assert evaluate(ev, env, ctx, []).score == 1.0
    strict = ev.model_copy(update={"options": [{"ignore_case": True}, {"type": "list"}]})
    assert evaluate(strict, env, ctx, []).score == 0.0


def test_postconfig_runs_before_the_getters(ctx, tmp_path):
    target = tmp_path / "made.txt"
    ev = Evaluator(func="check_include_exclude",
                   result={"type": "vm_command_line", "command": "cat {workdir}/made.txt", "shell": True},
                   expected=rule(include=["made by postconfig"]),
                   postconfig=[{"type": "execute", "parameters": {
                       "command": "echo 'made by postconfig' > {workdir}/made.txt", "shell": True}}])
    assert evaluate(ev, FakeEnv(), ctx, []).score == 1.0
    assert target.read_text() == "made by postconfig\n"


def test_a_broken_getter_scores_zero_with_a_reason(ctx):
    ev = Evaluator(func="exact_match", result={"type": "page_eval", "expression": "missing"},
                   expected=rule(expected=1))
    got = evaluate(ev, FakeEnv(), ctx, [])
    assert got.score == 0.0 and "RuntimeError" in got.errors[0] and "\n" not in got.errors[0]


def test_unsupported_metric_or_getter_is_named(ctx):
    with pytest.raises(UnsupportedEvaluator, match="metric 'compare_tables_on_mars'"):
        evaluate(Evaluator(func="compare_tables_on_mars", result={"type": "vm_file", "path": "x"}), FakeEnv(), ctx, [])
    with pytest.raises(UnsupportedEvaluator, match="getter 'telepathy'"):
        evaluate(Evaluator(func="exact_match", result={"type": "telepathy"}), FakeEnv(), ctx, [])


def test_file_getters_and_cloud_file(ctx, tmp_path):
    (tmp_path / "out.txt").write_text("same\n")
    expected = tmp_path / "elsewhere" / "exp.txt"
    expected.parent.mkdir()
    expected.write_text("same\n")
    ev = Evaluator(func="compare_text_file",
                   result={"type": "vm_file", "path": "{workdir}/out.txt", "dest": "out.txt"},
                   expected={"type": "cloud_file", "path": expected.as_uri(), "dest": "exp.txt"})
    assert evaluate(ev, FakeEnv(), ctx, []).score == 1.0
    assert (ctx.cache / "out.txt").read_text() == "same\n"  # a snapshot, as OSWorld downloads it
    (tmp_path / "out.txt").unlink()
    assert evaluate(ev, FakeEnv(), ctx, []).score == 0.0  # a missing file is None -> 0


def test_getters_wait_for_a_navigation_in_flight(ctx):
    env = FakeEnv(url="http://x/form.html")
    states = iter(["loading", RuntimeError("Execution context was destroyed"), "complete"])

    def ready_state():
        state = next(states)
        if isinstance(state, Exception):
            raise state
        if state == "complete":
            env.url = "http://x/welcome.html"  # the submitted form's page has committed
        return state

    env.js["document.readyState"] = ready_state
    ev = Evaluator(func="is_expected_url_pattern_match", result=URL, expected=rule(expected=[r"/welcome\.html$"]))
    assert evaluate(ev, env, ctx, [Done()]).score == 1.0
