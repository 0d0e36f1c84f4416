"""The episode loop on a real headless Chromium, with a replayed model answer list."""

import json

import pytest

from kimicua.agent.episode import run_episode
from kimicua.agent.events import ActionExecuted, EpisodeEnded, EpisodeStarted, ModelAnswered, StepStarted
from kimicua.agent.policy import Reply
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter, read_episode
from kimicua.env.actions import Click, Type
from kimicua.env.core import make_env
from kimicua.env.geometry import Size

pytestmark = pytest.mark.browser

PAGE = ("data:text/html,<body style='margin:0'><input id=q style='position:absolute;left:200px;top:100px;"
        "width:300px;height:40px'><p id=out></p><button id=go style='position:absolute;left:600px;"
        "top:100px;width:100px;height:40px' onclick=\"out.textContent=q.value\">go</button></body>")


class Replay:
    """A fake model: answers from a list, remembering every prompt it was given."""

    name = "replay"

    def __init__(self, answers):
        self.answers, self.prompts = list(answers), []

    def act(self, prompt):
        self.prompts.append(prompt)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return Reply(text=answer, model=self.name, token_ids=[1, 2, 3], logprobs=[-0.1, -0.2, -0.3],
                     timings={"preprocess_s": 0.001})

    def close(self):
        pass


class PageTask:
    """Type 'hello' into the box and press go; scored from the page's state."""

    id = "page-task"
    instruction = "Type hello into the box and press go."

    def setup(self, env):
        env.open_tabs([PAGE])

    def evaluate(self, env, actions):
        return float(env.evaluate("document.getElementById('out').textContent") == "hello")


@pytest.fixture(scope="module")
def env():
    e = make_env("browser", size=Size(1280, 800))
    yield e
    e.close()


def kimi(code, thought="Acting."):
    return f"## Thought\n{thought}\n## Action\nDo it.\n## Code\n```python\n{code}\n```"


def rel(x, y, size=Size(1280, 800)):
    return f"x={x / size.width:.4f}, y={y / size.height:.4f}"


def play(env, tmp_path, answers, **kw):
    policy, events = Replay(answers), []
    meta = EpisodeMeta(task_id=PageTask.id, instruction=PageTask.instruction, model="replay", seed=1)
    with TrajectoryWriter(tmp_path / "ep", meta) as writer:
        result = run_episode(env, PageTask(), policy, writer, kw.pop("max_steps", 10), events.append, **kw)
    return result, policy, events, read_episode(tmp_path / "ep")


SOLVE = [
    kimi(f"pyautogui.click({rel(350, 120)})\npyautogui.write('hello')"),
    kimi(f"pyautogui.click({rel(650, 120)})"),
    kimi("computer.terminate(status='success', answer='done')"),
]


def test_solves_and_records_a_complete_trajectory(env, tmp_path):
    result, policy, events, ep = play(env, tmp_path, SOLVE)
    assert (result.status, result.score, result.steps, result.turns) == ("done", 1.0, 4, 3)
    assert ep.result == 1.0 and ep.meta.outcome.status == "done"
    assert [s.parsed_action.type for s in ep.steps] == ["click", "type", "click", "done"]
    click = ep.steps[0].parsed_action
    assert isinstance(click, Click) and (click.x, click.y) == pytest.approx((350, 120), abs=0.1)
    assert ep.steps[1].parsed_action == Type(text="hello")
    assert all(ep.frame(s) is not None for s in ep.steps)
    assert (ep.directory / ep.meta.initial_screenshot).exists()
    # Per-answer facts on the answer's first line; per-action timings on every line.
    assert ep.steps[0].token_ids == [1, 2, 3] and ep.steps[1].token_ids is None
    first = ep.steps[0].timings
    assert first.model_s is not None and first.parse_s is not None and first.preprocess_s == 0.001
    assert all(s.timings.execute_s is not None and s.timings.capture_s is not None
               and s.timings.write_s is not None for s in ep.steps)
    assert ep.steps[0].coordinate_space == "relative" and ep.steps[0].screen == (1280, 800)
    assert ep.steps[-1].done and ep.steps[0].action["action_type"] == "CLICK"
    # The history: the third prompt shows 3 images and the earlier actions as text.
    third = policy.prompts[2]
    assert len(third.images) == 3
    assert "hello" in json.dumps(third.messages)
    kinds = [type(e) for e in events]
    assert kinds[:2] == [EpisodeStarted, StepStarted] and kinds[-1] is EpisodeEnded
    assert ActionExecuted in kinds and events[0].instruction == PageTask.instruction


def test_unparseable_answer_is_a_recorded_step_fed_back(env, tmp_path):
    result, policy, events, ep = play(env, tmp_path, ["I would like to click somewhere.", *SOLVE])
    assert result.status == "done" and result.score == 1.0
    bad = ep.steps[0]
    assert bad.parsed_action is None and bad.error and bad.response.startswith("I would like")
    assert bad.screenshot_file is None
    next_prompt = json.dumps(policy.prompts[1].messages)
    assert "could not be parsed" in next_prompt
    assert any(isinstance(e, ModelAnswered) and e.error for e in events)


def test_bounded_consecutive_failures_end_the_episode(env, tmp_path):
    result, _, _, ep = play(env, tmp_path, ["no", "still no", "nope", kimi("computer.wait()")],
                            max_parse_failures=3)
    assert result.status == "parse_failures" and result.score == 0.0
    assert len(ep.steps) == 3 and all(s.error for s in ep.steps)


def test_approve_can_edit_and_veto(env, tmp_path):
    def approve(action, reply):
        if action.type == "type":
            return Type(text="hello")  # edited
        if action.type == "click" and action.x > 600:
            return None  # vetoed: the button is never pressed
        return action

    answers = [kimi(f"pyautogui.click({rel(350, 120)})\npyautogui.write('wrong')"),
               kimi(f"pyautogui.click({rel(650, 120)})"), kimi("computer.terminate(status='success')")]
    result, _, events, ep = play(env, tmp_path, answers, approve=approve)
    assert result.score == 0.0 and result.status == "done"
    assert ep.steps[1].parsed_action == Type(text="hello")
    vetoed = ep.steps[2]
    assert vetoed.error == "vetoed by the user" and vetoed.parsed_action is None
    assert any(isinstance(e, ActionExecuted) and e.result is None for e in events)


def test_ctrl_c_ends_cleanly_with_everything_written(env, tmp_path):
    answers = [kimi(f"pyautogui.click({rel(350, 120)})"), KeyboardInterrupt()]
    result, _, _, ep = play(env, tmp_path, answers)
    assert result.status == "interrupted" and result.score is None
    assert len(ep.steps) == 1 and ep.result is None  # no result.txt: a resume reruns it
    assert ep.meta.outcome.status == "interrupted" and "Ctrl-C" in ep.errors[0]


def test_budget_truncates_and_still_evaluates(env, tmp_path):
    answers = [kimi(f"pyautogui.click({rel(350, 120)})")] * 5
    result, _, _, ep = play(env, tmp_path, answers, max_steps=2)
    assert result.status == "truncated" and result.score == 0.0 and result.steps == 2
    assert ep.steps[-1].done


def test_a_failing_setup_is_an_error_outcome(env, tmp_path):
    class Broken(PageTask):
        def setup(self, env):
            raise RuntimeError("cannot open the page\nsecond line")

    meta = EpisodeMeta(task_id="broken", instruction="x", model="replay")
    with TrajectoryWriter(tmp_path / "b", meta) as writer:
        result = run_episode(env, Broken(), Replay([]), writer, 5)
    assert result.status == "error" and result.error == "RuntimeError: cannot open the page"
    assert read_episode(tmp_path / "b").result is None
