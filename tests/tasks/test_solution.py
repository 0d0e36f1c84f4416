import pytest

from kimicua.env.actions import Click, Done, Drag, Hotkey, Scroll, Type
from kimicua.env.geometry import Size
from kimicua.env.core import Window
from kimicua.tasks.context import RunContext
from kimicua.tasks.schema import SolutionStep, parse_task
from kimicua.tasks.solution import SolutionError, resolve_step, solution_actions, target_box
from task_fakes import FakeEnv


@pytest.fixture
def ctx(tmp_path):
    return RunContext(tmp_path)


def task_with(steps):
    return parse_task({"id": "t", "instruction": "i", "evaluator": {"func": "exact_match"},
                       "kimicua": {"env": "browser", "solution": steps}})


def test_selector_target_is_the_box_centre_or_a_fraction_plus_offset(ctx):
    env = FakeEnv(boxes={"#b": (100, 200, 50, 20)})
    assert resolve_step(SolutionStep(type="click", target={"selector": "#b"}), env, ctx) == Click(x=125, y=210)
    step = SolutionStep(type="click", target={"selector": "#b", "at": [0, 1], "offset": [3, -4]}, button="right")
    assert resolve_step(step, env, ctx) == Click(x=103, y=216, button="right")


def test_window_and_screen_targets_scale_with_the_screen(ctx):
    env = FakeEnv(screen=Size(1920, 1080),
                  window_list=[Window(1, "Scratch", "xterm", 600, 380, 400, 200),
                               Window(2, "notes.txt - Mousepad", "mousepad", 10, 20, 640, 480)])
    assert resolve_step(SolutionStep(type="click", target={"window": "notes.txt", "at": [0.5, 0.6]}),
                        env, ctx) == Click(x=330, y=308)
    assert resolve_step(SolutionStep(type="click", target={"window": "XTERM", "by_class": True}),
                        env, ctx) == Click(x=800, y=480)
    assert resolve_step(SolutionStep(type="scroll", target={"screen": True}, dy=-5), env, ctx) == \
        Scroll(x=960, y=540, dy=-5)
    env.screen = Size(1280, 800)
    assert resolve_step(SolutionStep(type="scroll", target={"screen": True}, dy=-5), env, ctx) == \
        Scroll(x=640, y=400, dy=-5)


def test_drag_uses_start_target_and_text_gets_placeholders(ctx):
    env = FakeEnv(boxes={"#from": (0, 0, 10, 10), "#to": (100, 100, 10, 10)})
    step = SolutionStep(type="drag", target={"selector": "#to"}, start_target={"selector": "#from"})
    assert resolve_step(step, env, ctx) == Drag(x=105, y=105, start_x=5, start_y=5)
    typed = resolve_step(SolutionStep(type="type", text="cat {workdir}/a"), env, ctx)
    assert typed == Type(text=f"cat {ctx.workdir}/a")


def test_steps_resolve_lazily_against_the_page_as_it_is_then(ctx):
    boxes = {"#first": (0, 0, 10, 10)}
    env = FakeEnv(boxes=boxes)
    actions = solution_actions(task_with([{"type": "click", "target": {"selector": "#first"}},
                                          {"type": "click", "target": {"selector": "#later"}},
                                          {"type": "hotkey", "keys": ["ctrl", "s"]}, {"type": "done"}]),
                               env, ctx)
    assert next(actions) == Click(x=5, y=5)
    boxes["#later"] = (40, 40, 20, 20)  # appears only after the first click
    assert list(actions) == [Click(x=50, y=50), Hotkey(keys=("ctrl", "s")), Done()]


def test_missing_target_and_missing_solution_are_errors(ctx, monkeypatch):
    monkeypatch.setattr("kimicua.tasks.solution.TARGET_TIMEOUT_S", 0.05)
    with pytest.raises(SolutionError, match="element '#nope' not found"):
        resolve_step(SolutionStep(type="click", target={"selector": "#nope"}), FakeEnv(), ctx)
    with pytest.raises(SolutionError, match="window 'Gimp' not found"):
        resolve_step(SolutionStep(type="click", target={"window": "Gimp"}), FakeEnv(), ctx)
    with pytest.raises(SolutionError, match="target needs"):
        target_box(FakeEnv(), {"xpath": "//a"})
    no_solution = parse_task({"id": "t", "instruction": "i", "evaluator": {"func": "exact_match"}})
    with pytest.raises(SolutionError, match="has no scripted solution"):
        next(solution_actions(no_solution, FakeEnv(), ctx))


def test_a_query_that_fails_mid_navigation_is_retried(ctx, monkeypatch):
    calls = []

    def box():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Execution context was destroyed, most likely because of a navigation")
        return (0, 0, 4, 4)

    env = FakeEnv(boxes={"#next": box})
    assert resolve_step(SolutionStep(type="click", target={"selector": "#next"}), env, ctx) == Click(x=2, y=2)
    monkeypatch.setattr("kimicua.tasks.solution.TARGET_TIMEOUT_S", 0.05)

    def broken():
        raise RuntimeError("page crashed")

    with pytest.raises(SolutionError, match=r"not found after 0.05s \(last error: page crashed\)"):
        resolve_step(SolutionStep(type="click", target={"selector": "#x"}), FakeEnv(boxes={"#x": broken}), ctx)
