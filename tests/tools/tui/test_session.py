"""The worker side of a run: pause, step and stop reach the loop at its hooks, the
approver's answers come back from the UI, and a free-form instruction plays with no
evaluator. The loop here is the real one on a small fake world (a thread, no Textual)."""

from __future__ import annotations

import queue
import threading

import pytest

from kimicua.agent.episode import StopEpisode, run_episode
from kimicua.agent.events import EpisodeEnded, StepStarted
from kimicua.agent.policy import Reply
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter, read_episode
from kimicua.env.actions import Click, Done, Wait
from kimicua.env.geometry import Size
from kimicua.env.observation import ActionResult, Observation
from kimicua.tools.runner import RunOptions
from kimicua.tools.tui.choice import RunChoice
from kimicua.tools.tui.freeform import FreeTask
from kimicua.tools.tui.messages import LoopEvent, Paused, Proposed, RunEnded
from kimicua.tools.tui.session import Control, Decision, RunSession
from tui_helpers import screen_image

GIVE_UP_S = 60  # a bound on waiting for the loop's thread, never a measure


class World:
    """A fake env: every action changes nothing but is a step."""

    kind, screen, scale = "desktop", Size(320, 200), 1.0

    def observe(self):
        return Observation(screen_image(0), self.screen, self.scale, 0.0)

    def reset(self, *, seed=None, options=None):
        return self.observe(), {}

    def step(self, action):
        info = {"result": ActionResult(action, ok=True), "execute_s": 0.0, "capture_s": 0.0}
        return self.observe(), 0.0, action.type in ("done", "fail"), False, info


class Script:
    name, notice = "script", None

    def __init__(self, actions):
        self.actions = list(actions)

    def act(self, prompt):
        action = self.actions.pop(0) if self.actions else Done()
        return Reply(text=action.type, model=self.name, actions=(action,))

    def reset(self, seed):
        pass

    def close(self):
        pass


class Task:
    id, instruction = "fake", "Do things."

    def setup(self, env):
        pass

    def evaluate(self, env, actions):
        return 1.0


class Loop:
    """The real episode loop in a thread, with a session's hooks; its messages in a queue."""

    def __init__(self, tmp_path, mode, actions):
        self.messages: queue.Queue = queue.Queue()
        self.session = RunSession(RunChoice(tasks="x", mode=mode), [], post=self.messages.put)
        self.dir = tmp_path / "ep"
        meta = EpisodeMeta(task_id="fake", instruction="Do things.", model="script")

        def play():
            with TrajectoryWriter(self.dir, meta) as writer:
                self.result = run_episode(World(), Task(), Script(actions), writer, 10, self.session.on_event,
                                          self.session.approve)

        self.thread = threading.Thread(target=play, daemon=True)
        self.thread.start()

    def until(self, wanted):
        """The next message that ``wanted`` accepts (others are skipped)."""
        while True:
            message = self.messages.get(timeout=GIVE_UP_S)
            if wanted(message):
                return message

    def end(self):
        self.thread.join(GIVE_UP_S)
        assert not self.thread.is_alive()
        return self.result, read_episode(self.dir)


def is_turn(n):
    return lambda m: isinstance(m, LoopEvent) and isinstance(m.event, StepStarted) and m.event.turn == n


def test_step_mode_pauses_after_each_turn_until_next(tmp_path):
    loop = Loop(tmp_path, "step", [Click(x=10, y=10), Click(x=20, y=20)])
    loop.until(is_turn(1))
    assert loop.until(lambda m: isinstance(m, Paused)).paused  # before turn 2, which is not shown yet
    assert not any(is_turn(2)(m) for m in list(loop.messages.queue))
    loop.session.control.next_turn()
    loop.until(is_turn(2))
    assert loop.until(lambda m: isinstance(m, Paused) and m.paused)  # and again before turn 3
    loop.session.control.resume()
    result, ep = loop.end()
    assert (result.status, result.steps, result.turns) == ("done", 3, 3)


def test_stop_run_is_ctrl_c_and_keeps_the_trajectory(tmp_path):
    loop = Loop(tmp_path, "autonomous", [Click(x=10, y=10)] * 5)
    control = loop.session.control
    loop.until(lambda m: isinstance(m, Proposed))  # the first action is on its way
    control.pause()
    loop.until(lambda m: isinstance(m, Paused) and m.paused)
    control.stop("run")
    result, ep = loop.end()
    assert result.status == "interrupted" and result.score is None
    assert ep.meta.outcome.status == "interrupted" and len(ep.steps) == result.steps >= 1


def test_approve_accept_skip_edit_and_stop_the_episode(tmp_path):
    loop = Loop(tmp_path, "approve", [Click(x=10, y=10), Click(x=20, y=20), Wait(seconds=1.0), Click(x=1, y=1)])
    control = loop.session.control
    asked = lambda m: isinstance(m, Proposed)  # noqa: E731
    first = loop.until(asked)
    assert first.ask and first.action == Click(x=10, y=10) and first.obs.screen == Size(320, 200)
    control.answer(Decision("accept"))
    assert loop.until(asked).action == Click(x=20, y=20)
    control.answer(Decision("skip"))
    assert loop.until(asked).action == Wait(seconds=1.0)
    control.answer(Decision("edit", Wait(seconds=0.1)))
    loop.until(asked)
    control.stop("episode")
    result, ep = loop.end()
    assert result.status == "stopped" and result.error == "stopped by the user (tui)"
    assert [(s.parsed_action, s.error) for s in ep.steps] == [
        (Click(x=10, y=10), None), (None, "vetoed by the user"), (Wait(seconds=0.1), None)]


def test_autonomous_mode_shows_each_action_without_asking(tmp_path):
    loop = Loop(tmp_path, "autonomous", [Click(x=10, y=10)])
    shown = loop.until(lambda m: isinstance(m, Proposed))
    assert not shown.ask and shown.action == Click(x=10, y=10)
    result, _ = loop.end()
    assert result.status == "done" and result.score == 1.0


def test_a_stop_before_anything_waits_is_used_once():
    control = Control("autonomous")
    control.stop("episode")
    with pytest.raises(StopEpisode):
        control.check()
    control.check()  # used up: the next episode runs
    control.stop("run")
    control.stop("episode")  # a run stop is never weakened to an episode stop
    with pytest.raises(KeyboardInterrupt):
        control.check()


def test_free_form_task_has_no_evaluator_and_its_own_folder():
    task = FreeTask("  Open   the terminal ", "desktop", when=0)
    assert task.instruction == "Open the terminal" and task.evaluate(None, []) is None
    assert task.id.startswith("desktop-") and task.id != FreeTask("Something else", "desktop", when=0).id
    with pytest.raises(ValueError, match="instruction"):
        FreeTask("   ", "browser")
    with pytest.raises(ValueError, match="desktop or in the browser"):
        FreeTask("x", "osworld")


@pytest.mark.display
def test_a_free_form_episode_plays_on_the_real_desktop_with_no_score(tmp_path):
    messages = []
    choice = RunChoice(source="desktop", tasks="Look at the desktop.",
                       options=RunOptions(results=tmp_path, screen=Size(1280, 800)))
    outcome = RunSession(choice, [], post=messages.append).run()
    (record,) = outcome.records
    # The scripted model has nothing to play for a typed instruction: it is done at once.
    assert (record.domain, record.status, record.score, record.steps) == ("freeform", "done", None, 1)
    ep = read_episode(record.directory)
    assert ep.meta.instruction == "Look at the desktop." and ep.meta.outcome.verdict == "no evaluator"
    assert not (record.directory / "result.txt").exists()
    assert isinstance(messages[-1], RunEnded) and messages[-1].outcome is outcome
    ended = [m.event for m in messages if isinstance(m, LoopEvent) and isinstance(m.event, EpisodeEnded)]
    assert [e.result.status for e in ended] == ["done"]
    results = (tmp_path / "kimi" / "screenshot" / "scripted" / "results.json").read_text()
    assert record.task_id in results
