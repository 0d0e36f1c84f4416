"""The episode loop with a replayed model answer list: on a small fake world (what
each line records of the prompt) and on a real headless Chromium."""

import json

import numpy as np
import pytest
from PIL import Image

from kimicua.agent import episode as episode_module
from kimicua.agent.episode import run_episode
from kimicua.agent.events import ActionExecuted, EpisodeEnded, EpisodeStarted, ModelAnswered, StepStarted
from kimicua.agent.policy import Reply
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter, read_episode
from kimicua.env.actions import Click, Hotkey, Type
from kimicua.env.core import make_env
from kimicua.env.geometry import Size

from episode_fakes import ClickTask, Screens

browser = pytest.mark.browser

PAGE = ("<body style='margin:0'><input id=q style='position:absolute;left:200px;top:100px;"
        "width:300px;height:40px'><p id=out></p><button id=go style='position:absolute;left:600px;"
        "top:100px;width:100px;height:40px' onclick=\"out.textContent=q.value\">go</button></body>")


class Replay:
    """A fake model: answers from a list, remembering every prompt it was given."""

    name = "replay"

    def __init__(self, answers, prompt_token_ids=None):
        self.answers, self.prompts, self.prompt_token_ids = list(answers), [], prompt_token_ids
        self.seeds = []

    def act(self, prompt):
        self.prompts.append(prompt)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return Reply(text=answer, model=self.name, token_ids=[1, 2, 3], logprobs=[-0.1, -0.2, -0.3],
                     prompt_token_ids=self.prompt_token_ids, timings={"preprocess_s": 0.001})

    def reset(self, seed):
        self.seeds.append(seed)

    def close(self):
        pass


class PageTask:
    """Type 'hello' into the box and press go; scored from the page's state."""

    id = "page-task"
    instruction = "Type hello into the box and press go."

    def setup(self, env):
        # The episode's own files are the pages the URL policy lets the browser open.
        env.host_path("~/page.html").write_text(PAGE)
        env.open_tabs([f"file://{env.home}/page.html"])

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


@browser
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


@browser
def test_unparseable_answer_is_a_recorded_step_fed_back(env, tmp_path):
    result, policy, events, ep = play(env, tmp_path, ["I would like to click somewhere.", *SOLVE])
    assert result.status == "done" and result.score == 1.0
    bad = ep.steps[0]
    assert bad.parsed_action is None and bad.error and bad.response.startswith("I would like")
    # It names the screen it answered: the initial one, shown again in the next prompt.
    assert bad.screenshot_file == bad.prompt_images[-1] == ep.meta.initial_screenshot
    assert ep.steps[1].prompt_images[-1] == ep.meta.initial_screenshot
    next_prompt = json.dumps(policy.prompts[1].messages)
    assert "could not be parsed" in next_prompt
    assert any(isinstance(e, ModelAnswered) and e.error for e in events)


@browser
def test_bounded_consecutive_failures_end_the_episode(env, tmp_path):
    result, _, _, ep = play(env, tmp_path, ["no", "still no", "nope", kimi("computer.wait()")],
                            max_parse_failures=3)
    assert result.status == "parse_failures" and result.score == 0.0
    assert len(ep.steps) == 3 and all(s.error for s in ep.steps)


@browser
def test_approve_can_edit_and_veto(env, tmp_path):
    def approve(action, reply, obs):
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


@browser
def test_ctrl_c_ends_cleanly_with_everything_written(env, tmp_path):
    answers = [kimi(f"pyautogui.click({rel(350, 120)})"), KeyboardInterrupt()]
    result, _, _, ep = play(env, tmp_path, answers)
    assert result.status == "interrupted" and result.score is None
    assert len(ep.steps) == 1 and ep.result is None  # no result.txt: a resume reruns it
    assert ep.meta.outcome.status == "interrupted" and "Ctrl-C" in ep.errors[0]


@browser
def test_budget_truncates_and_still_evaluates(env, tmp_path):
    answers = [kimi(f"pyautogui.click({rel(350, 120)})")] * 5
    result, _, _, ep = play(env, tmp_path, answers, max_steps=2)
    assert result.status == "truncated" and result.score == 0.0 and result.steps == 2
    assert ep.steps[-1].done


@browser
def test_a_failing_setup_is_an_error_outcome(env, tmp_path):
    class Broken(PageTask):
        def setup(self, env):
            raise RuntimeError("cannot open the page\nsecond line")

    meta = EpisodeMeta(task_id="broken", instruction="x", model="replay")
    with TrajectoryWriter(tmp_path / "b", meta) as writer:
        result = run_episode(env, Broken(), Replay([]), writer, 5)
    assert result.status == "error" and result.error == "RuntimeError: cannot open the page"
    assert read_episode(tmp_path / "b").result is None


def play_fake(tmp_path, answers, **kw):
    policy = Replay(answers, prompt_token_ids=kw.pop("prompt_token_ids", None))
    meta = EpisodeMeta(task_id=ClickTask.id, instruction=ClickTask.instruction, model="replay")
    with TrajectoryWriter(tmp_path / "ep", meta) as writer:
        result = run_episode(Screens(), ClickTask(), policy, writer, 10, **kw)
    return result, policy, read_episode(tmp_path / "ep")


def tag(path):
    return int(np.asarray(Image.open(path))[0, 0, 0])


CLICK = kimi("pyautogui.click(x=0.5, y=0.5)")
FAKE_PLAY = [kimi("pyautogui.click(x=0.1, y=0.1)\npyautogui.click(x=0.2, y=0.2)"), CLICK,
             "I do not know what to do.", CLICK, kimi("computer.terminate(status='success')")]


def test_each_line_names_the_frames_its_prompt_showed_in_order(tmp_path):
    result, policy, ep = play_fake(tmp_path, FAKE_PLAY, max_images=3)
    assert (result.status, result.turns, result.steps) == ("done", 5, 5)
    assert [s.turn for s in ep.steps] == [1, 1, 2, 3, 4, 5]
    for step in ep.steps:
        prompt = policy.prompts[step.turn - 1]
        frames = ep.prompt_frames(step)
        assert None not in frames and len(frames) == len(prompt.images)
        assert [tag(f) for f in frames] == [int(img[0, 0, 0]) for img in prompt.images]
    # Turn 3 saw the first turn's screen, the second's and the current one (after step 3).
    assert [tag(f) for f in ep.prompt_frames(ep.steps[3])] == [0, 2, 3]
    assert ep.steps[0].prompt_images == [ep.meta.initial_screenshot]
    assert ep.steps[2].prompt_images[-1] == ep.steps[1].screenshot_file


def test_the_turns_first_line_holds_its_prompt_with_image_references(tmp_path):
    _, policy, ep = play_fake(tmp_path, FAKE_PLAY, max_images=3)
    first, second = ep.steps[0], ep.steps[1]
    assert first.prompt_messages == policy.prompts[0].messages  # what the model got, minus pixels
    assert first.prompt_messages[0]["role"] == "system" and "## Code" in first.prompt_messages[0]["content"]
    assert first.prompt_messages[1]["content"] == f"Task: {ClickTask.instruction}"
    images = [item for m in ep.steps[3].prompt_messages if isinstance(m["content"], list)
              for item in m["content"] if item["type"] == "image"]
    assert images == [{"type": "image", "file": f} for f in ep.steps[3].prompt_images]
    assert second.prompt_messages is None and ep.prompt_messages(second) == first.prompt_messages


def test_a_parse_failed_turn_records_its_text_error_and_frame(tmp_path):
    _, policy, ep = play_fake(tmp_path, FAKE_PLAY)
    bad = ep.steps[3]
    assert bad.response == "I do not know what to do." and bad.error.startswith("kimi: ")
    assert bad.parsed_action is None and bad.prompt_messages == policy.prompts[2].messages
    # The screen it answered (and the screen after it): the one after step 3.
    assert bad.screenshot_file == bad.prompt_images[-1] == ep.steps[2].screenshot_file
    assert tag(ep.frame(bad)) == 3


def test_an_answer_whose_parse_raises_anything_is_a_failed_turn(tmp_path, monkeypatch):
    real = episode_module.parse
    calls = []

    def buggy(text, dialect, frame):
        calls.append(text)
        if len(calls) == 1:
            Hotkey(keys=("ctrl",) * 9)  # a pydantic ValidationError, as a 9-key hotkey gave
        return real(text, dialect, frame)

    monkeypatch.setattr(episode_module, "parse", buggy)
    answers = [kimi("pyautogui.hotkey('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i')"), *FAKE_PLAY[:2], FAKE_PLAY[-1]]
    result, policy, ep = play_fake(tmp_path, answers)
    assert result.status == "done" and result.error is None and result.score == 1.0
    bad = ep.steps[0]
    assert bad.response == answers[0] and "ValidationError" in bad.error and "\n" not in bad.error
    assert bad.screenshot_file == ep.meta.initial_screenshot
    assert "could not be parsed: kimi: ValidationError" in json.dumps(policy.prompts[1].messages)


def test_prompt_token_ids_round_trip_on_the_turns_first_line(tmp_path):
    _, _, ep = play_fake(tmp_path, FAKE_PLAY, prompt_token_ids=[101, 7, 7, 102])
    firsts = [s for s in ep.steps if s.action_index == 0]
    assert [s.prompt_token_ids for s in firsts] == [[101, 7, 7, 102]] * 5
    assert ep.steps[1].action_index == 1 and ep.steps[1].prompt_token_ids is None
    _, _, without = play_fake(tmp_path / "none", FAKE_PLAY)
    assert all(s.prompt_token_ids is None for s in without.steps)


def test_a_vetoed_action_names_the_screen_as_it_stands(tmp_path):
    vetoed = []

    def approve(action, reply, obs):
        if 15 < action.x < 25:  # the first turn's second click (x=0.2 of 96 px)
            vetoed.append(action)
            return None
        return action

    _, _, ep = play_fake(tmp_path, FAKE_PLAY[:2] + FAKE_PLAY[-1:], approve=approve)
    first, veto = ep.steps[0], ep.steps[1]
    assert len(vetoed) == 1 and veto.error == "vetoed by the user" and veto.parsed_action is None
    assert veto.screenshot_file == first.screenshot_file and tag(ep.frame(veto)) == 1
    assert veto.prompt_images == first.prompt_images  # the same turn, the same prompt


def test_approve_sees_the_screen_and_can_stop_the_episode_keeping_its_record(tmp_path):
    from kimicua.agent.episode import StopEpisode

    seen = []

    def approve(action, reply, obs):
        seen.append(int(obs.screenshot[0, 0, 0]))
        if len(seen) == 3:
            raise StopEpisode("stopped by the user at step 3")
        return action

    result, _, ep = play_fake(tmp_path, FAKE_PLAY, approve=approve)
    assert result.status == "stopped" and result.score is None and result.error == "stopped by the user at step 3"
    assert seen == [0, 1, 2]  # each action is shown on the screen it will act on
    assert len([s for s in ep.steps if s.parsed_action]) == 2 and ep.result is None
    assert ep.meta.outcome.status == "stopped"


def test_a_task_without_an_evaluator_ends_with_no_score_and_says_so(tmp_path):
    class FreeForm(ClickTask):
        def evaluate(self, env, actions):
            return None

    meta = EpisodeMeta(task_id="free", instruction="Anything.", model="replay")
    with TrajectoryWriter(tmp_path / "ep", meta) as writer:
        result = run_episode(Screens(), FreeForm(), Replay([CLICK, FAKE_PLAY[-1]]), writer, 10,
                             verdict=lambda: "never asked: there is no score to explain")
    ep = read_episode(tmp_path / "ep")
    assert (result.status, result.score, result.steps) == ("done", None, 2)
    assert not (tmp_path / "ep" / "result.txt").exists() and ep.result is None
    assert ep.meta.outcome.score is None and ep.meta.outcome.verdict == "no evaluator"
    # A scored episode keeps the evaluator's own verdict.
    with TrajectoryWriter(tmp_path / "scored", meta) as writer:
        run_episode(Screens(), ClickTask(), Replay([CLICK, CLICK, FAKE_PLAY[-1]]), writer, 10,
                    verdict=lambda: "two clicks")
    assert read_episode(tmp_path / "scored").meta.outcome.verdict == "two clicks"
