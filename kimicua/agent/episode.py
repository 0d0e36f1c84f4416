"""The episode loop: observe, prompt, answer, parse, act, record, evaluate.

The loop owns no policy, world or task of its own: it takes an Env, a task object
(anything with ``id``, ``instruction``, ``setup(env)`` and ``evaluate(env, actions)``,
so agent never imports tasks), a Policy and a TrajectoryWriter. A task without an
evaluator (a free-form instruction) scores None: no result.txt, and the outcome's
verdict says "no evaluator". A bad answer is a recorded step with its text and
error, fed back to the model on the next turn; Ctrl-C and a dead environment end the
episode with everything written. Each line records what the model was shown: the
frame files of the prompt's screenshots, and on the turn's first line the prompt's
messages (and token ids, when the backend has them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from kimicua.agent.dialects import Dialect, get_dialect
from kimicua.agent.events import (
    ActionExecuted, EpisodeEnded, EpisodeResult, EpisodeStarted, Event, ModelAnswered, StepStarted,
)
from kimicua.agent.parser import ParseError, parse
from kimicua.agent.policy import Policy, Reply
from kimicua.agent.policy import Prompt
from kimicua.agent.prompts import Turn, build_prompt, image_files
from kimicua.agent.trajectory import Outcome, StepRecord, Timings, TrajectoryWriter, timestamp
from kimicua.env.actions import Action, ActionError, Done, action_to_json, to_computer13
from kimicua.env.core import Env, TimeLimit
from kimicua.env.geometry import Frame
from kimicua.env.observation import Observation

NO_EVALUATOR = "no evaluator"  # the verdict of an episode whose task has none


class TaskLike(Protocol):
    id: str
    instruction: str

    def setup(self, env: Env) -> None: ...

    def evaluate(self, env: Env, actions: list[Action]) -> float | None:
        """The score, or None when the task has no evaluator."""
        ...


# Sees each proposed action with the answer it came from and the screen it will act
# on; returns the action to run (the same, or an edited one), None to skip it, or
# raises StopEpisode to end the episode (recorded as "stopped", not evaluated).
Approve = Callable[[Action, Reply, Observation], Action | None]


class StopEpisode(Exception):
    """Raised by an approve hook (or a UI) to end the episode now, keeping its record."""


def osworld_action(action: Action):
    """The step's ``action`` field: computer_13 where it has one form, else ours."""
    try:
        items = to_computer13(action)
    except ActionError:
        return action_to_json(action)
    return items[0] if len(items) == 1 else items


class _Episode:
    """The state of one running episode; ``run_episode`` is its public face."""

    def __init__(self, env: Env, task: TaskLike, policy: Policy, recorder: TrajectoryWriter,
                 max_steps: int, on_event: Callable[[Event], None] | None, approve: Approve | None,
                 dialect: Dialect, max_images: int, max_parse_failures: int):
        self.env, self.task, self.policy, self.recorder = TimeLimit(env, max_steps), task, policy, recorder
        self.max_steps, self.on_event, self.approve = max_steps, on_event, approve
        self.dialect, self.max_images, self.max_parse_failures = dialect, max_images, max_parse_failures
        self.history: list[Turn] = []
        self.actions: list[Action] = []
        self.steps = self.turns = self.failures = 0
        self.feedback: str | None = None
        self.evaluated = False  # the task's evaluate() ran (a None score then means no evaluator)
        self.shown: str | None = None  # the frame file of the screen the agent sees now

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def frame(self, obs: Observation, reply: Reply | None) -> Frame:
        frame = obs.frame
        if reply is not None and reply.image_size is not None:
            frame = Frame(screen=frame.screen, physical=frame.physical, image=reply.image_size)
        return frame

    def _thought(self, text: str) -> str | None:
        try:
            return self.dialect.thought(text)
        except Exception:  # the reasoning is context for later turns, never worth the episode
            return None

    def record(self, obs: Observation | None, prompt: Prompt, reply: Reply, index: int, **fields) -> None:
        """One line; ``obs`` is the screen after its action, None when nothing ran
        (the line then names the frame the agent sees, which is that screen)."""
        first = index == 0  # per-answer facts go on the answer's first line only
        rec = StepRecord(
            step_num=self.recorder.steps + 1, action_timestamp=timestamp(time.time()),
            response=reply.text, action_index=index, turn=self.turns,
            screenshot_file=self.shown if obs is None else None, prompt_images=image_files(prompt),
            prompt_messages=prompt.messages if first else None,
            prompt_token_ids=reply.prompt_token_ids if first else None,
            token_ids=reply.token_ids if first else None, logprobs=reply.logprobs if first else None,
            screen=(self.env.screen.width, self.env.screen.height), scale=self.env.scale,
            coordinate_space=str(self.dialect.space), **fields,
        )
        routing = reply.routing if first else None  # --record-routing
        written = self.recorder.step(rec, None if obs is None else obs.screenshot, routing)
        self.shown = written.screenshot_file

    def turn(self, obs: Observation) -> tuple[Observation, str | None]:
        """One model call and its actions; returns the new observation and the
        episode's status when it ended."""
        self.turns += 1
        self.emit(StepStarted(turn=self.turns, step=self.steps))
        shown = self.shown
        prompt = build_prompt(self.dialect, self.task.instruction, self.history, obs,
                              max_images=self.max_images, feedback=self.feedback, screenshot_file=shown)
        t = time.perf_counter()
        reply = self.policy.act(prompt)
        model_s = time.perf_counter() - t
        frame = self.frame(obs, reply)
        t = time.perf_counter()
        try:
            actions = list(reply.actions) if reply.actions is not None else parse(reply.text, self.dialect, frame)
            error = None
        except ParseError as err:
            actions, error = [], str(err)
        except Exception as err:  # any parser bug is a failed turn too, never a lost answer
            actions, error = [], f"{self.dialect.name}: {type(err).__name__}: {' '.join(str(err).split())}"[:500]
        parse_s = time.perf_counter() - t
        self.emit(ModelAnswered(self.turns, reply.text, tuple(actions), error, model_s))
        stage = {"preprocess_s": reply.timings.get("preprocess_s"), "parse_s": parse_s,
                 "model_s": reply.timings.get("model_s", model_s - reply.timings.get("preprocess_s", 0.0))}
        if error is not None:
            self.failures += 1
            self.feedback = error
            self.record(None, prompt, reply, 0, error=error, timings=Timings(**stage))
            self.history.append(Turn(self._thought(reply.text), (), obs.screenshot, frame, error, shown))
            return obs, "parse_failures" if self.failures >= self.max_parse_failures else None
        self.failures, self.feedback = 0, None
        thought = self._thought(reply.text) if reply.actions is None else None
        self.history.append(Turn(thought, tuple(actions), obs.screenshot, frame, None, shown))
        for index, proposed in enumerate(actions):
            action = self.approve(proposed, reply, obs) if self.approve else proposed
            if action is None:
                self.record(None, prompt, reply, index, error="vetoed by the user", timings=Timings(**stage))
                self.emit(ActionExecuted(self.recorder.steps, proposed, None))
                continue
            obs, _, terminated, truncated, info = self.env.step(action)
            result = info["result"]
            self.actions.append(action)
            self.steps += 1
            timings = Timings(**(stage if index == 0 else {}), capture_s=info.get("capture_s"),
                              execute_s=info.get("execute_s"), settle_s=info.get("settle_s"))
            self.record(obs, prompt, reply, index, action=osworld_action(action), parsed_action=action,
                        done=terminated or truncated, error=result.error, timings=timings,
                        info={"ok": result.ok, **({"url": obs.url} if obs.url else {})})
            self.emit(ActionExecuted(self.recorder.steps, action, result))
            if terminated:
                return obs, "done" if isinstance(action, Done) else "fail"
            if truncated:
                return obs, "truncated"
        return obs, "truncated" if self.turns >= self.max_steps else None

    def run(self) -> tuple[str, float | None, str | None]:
        obs, _ = self.env.reset(seed=self.recorder.meta.seed)
        self.policy.reset(self.recorder.meta.seed)
        self.task.setup(self.env)
        obs = self.env.observe()
        self.shown = self.recorder.initial(obs.screenshot)
        self.emit(EpisodeStarted(self.task.id, self.task.instruction))
        status = None
        while status is None:
            obs, status = self.turn(obs)
        score = self.task.evaluate(self.env, self.actions)
        self.evaluated = True
        return status, score, None


def run_episode(env: Env, task: TaskLike, policy: Policy, recorder: TrajectoryWriter, max_steps: int = 15,
                on_event: Callable[[Event], None] | None = None, approve: Approve | None = None, *,
                dialect: str | Dialect = "kimi", max_images: int = 3,
                max_parse_failures: int = 3, verdict: Callable[[], str | None] | None = None) -> EpisodeResult:
    """Play ``task`` in ``env`` with ``policy`` for at most ``max_steps`` actions
    (and model turns), recording every step; evaluate unless interrupted or broken.
    ``verdict`` says, after the evaluation, how the score came about (recorded)."""
    ep = _Episode(env, task, policy, recorder, max_steps, on_event, approve,
                  get_dialect(dialect) if isinstance(dialect, str) else dialect, max_images, max_parse_failures)
    start = time.perf_counter()
    score = error = None
    try:
        status, score, error = ep.run()
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted by the user (Ctrl-C)"
    except StopEpisode as stop:
        status, error = "stopped", str(stop) or "stopped by the user"
    except Exception as err:  # setup, env or backend failure: recorded, never lost
        status, error = "error", f"{type(err).__name__}: {err}".splitlines()[0]
    said = verdict() if verdict is not None and score is not None else None
    if ep.evaluated and score is None:
        said = NO_EVALUATOR
    recorder.finish(Outcome(status=status, score=score, steps=ep.steps, turns=ep.turns, error=error,
                            verdict=said))
    result = EpisodeResult(task.id, status, score, ep.steps, ep.turns, recorder.directory,
                           time.perf_counter() - start, error)
    ep.emit(EpisodeEnded(result))
    return result
