"""A person's episode, recorded in the agent's trajectory format.

``Recording`` plays the part of the episode loop for a person: it resets the env,
runs the task's setup, records the display (``Recorder``) until told to stop, ends
with Done (or Fail), evaluates and finishes the trajectory. Each line is one action
of our action space with ``response`` empty and ``source: "human"``; its frames
follow the schema: ``prompt_images`` is the screen the person saw before the action
(the frame grabbed just before its first input event), ``screenshot_file`` the
screen after it, which is the screen the next action was taken on (or, for the
last, the screen once still at the end). ``initial_screenshot`` is the screen
before the first action.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kimicua.agent.episode import osworld_action
from kimicua.agent.trajectory import Outcome, StepRecord, Timings, TrajectoryWriter, timestamp
from kimicua.env.actions import Action, Done, Fail
from kimicua.env.core import Env, EnvError
from kimicua.env.geometry import Space
from kimicua.tools.record.recorder import Recorder, Step
from kimicua.tools.record.screen import Shot

SOURCE = "human"
NO_EVALUATOR = "no evaluator"


class RecordError(ValueError):
    """A recording that cannot start (no X screen to record, no RECORD): one line."""


@dataclass(frozen=True)
class RecordResult:
    directory: Path
    status: str  # "done" | "fail" | "error"
    score: float | None
    steps: int
    seconds: float
    actions: tuple[Action, ...]
    verdict: str | None = None
    error: str | None = None
    ignored: int = 0  # input that made no action


class HumanTrajectory:
    """Writes recorded steps as trajectory lines; each line waits for the next step,
    whose screen is its after-frame."""

    def __init__(self, writer: TrajectoryWriter, env: Env):
        self.writer, self.env = writer, env
        self.shown: str | None = None  # the frame file of the screen the person sees now
        self._shot: Shot | None = None  # ... and its pixels
        self._waiting: Step | None = None
        self._wall = time.time() - time.monotonic()
        self.actions: list[Action] = []

    def add(self, steps: list[Step]) -> None:
        for step in steps:
            if self.shown is None:
                self._shot, self.shown = step.before, self.writer.initial(step.before.rgb, self._wall + step.start)
            if self._waiting is not None:
                self._write(self._waiting, step.before)
            self._waiting = step

    def end(self, final: Shot, last: Action | None) -> None:
        """Write the step still waiting (its after-frame is ``final``) and ``last``."""
        if self.shown is None:
            self._shot, self.shown = final, self.writer.initial(final.rgb)
        if self._waiting is not None:
            self._write(self._waiting, final)
            self._waiting = None
        if last is not None:
            now = time.monotonic()
            self._line(last, now, now, self._shot, done=True)

    def _write(self, step: Step, after: Shot) -> None:
        self._line(step.action, step.start, step.end, after, done=False)

    def _line(self, action: Action, start: float, end: float, after: Shot, *, done: bool) -> None:
        same = after is self._shot  # nothing drew: the line names the frame already written
        record = StepRecord(
            step_num=self.writer.steps + 1, action_timestamp=timestamp(self._wall + start),
            action=osworld_action(action), response="", done=done, info={"ok": True},
            screenshot_file=self.shown if same else None, parsed_action=action,
            turn=self.writer.steps + 1, prompt_images=[self.shown],
            timings=Timings(execute_s=round(end - start, 3)),
            screen=(self.env.screen.width, self.env.screen.height), scale=self.env.scale,
            coordinate_space=str(Space.LOGICAL), source=SOURCE,
        )
        written = self.writer.step(record, None if same else after.rgb)
        self.shown, self._shot = written.screenshot_file, after
        self.actions.append(action)


class Recording:
    """One task (anything with ``id``, ``instruction``, ``setup`` and ``evaluate``)
    recorded as a person does it on ``env``'s display. ``open_writer`` makes the
    episode's TrajectoryWriter once setup went well (a failed setup leaves no folder).
    Use it as a context manager: leaving it stops the recording and closes the writer."""

    def __init__(self, env: Env, task, open_writer: Callable[[], TrajectoryWriter],
                 verdict: Callable[[], str | None] | None = None):
        if getattr(env, "display", None) is None:
            raise RecordError(f"the {env.kind} env has no X screen to record here (it needs Xvfb)")
        self.env, self.task, self.open_writer, self.verdict = env, task, open_writer, verdict
        self.recorder: Recorder | None = None
        self.writer: TrajectoryWriter | None = None
        self.lines: HumanTrajectory | None = None
        self._running = False
        self._t0 = time.perf_counter()

    def start(self) -> None:
        """A fresh env, the task's setup, then recording (RecordError: the display has
        no RECORD or went away)."""
        self.env.reset()
        self.task.setup(self.env)
        self.env.observe()  # setup's last changes shown before the person starts
        try:
            self.recorder = Recorder(self.env.display, self.env.scale)
            self.recorder.start()
        except EnvError as err:
            raise RecordError(str(err)) from None
        self._running = True
        self.writer = self.open_writer()
        self.lines = HumanTrajectory(self.writer, self.env)

    def pump(self) -> None:
        """Hand the actions finished so far to the trajectory (frames leave memory)."""
        self.lines.add(self.recorder.take())

    def wait(self, *, idle_s: float | None = None, duration_s: float | None = None,
             keep_alive: Callable[[], None] | None = None) -> str:
        """Record until Ctrl-C, ``idle_s`` without input or ``duration_s``; says which.

        Ctrl-C only sets a flag here (in the main thread), so it never lands halfway
        through handing a line to the writer."""
        stopped: list[int] = []  # a handler must not take locks (Event.set would, and may deadlock)
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, lambda *_: stopped.append(1)) if main else None
        try:
            while not stopped:
                time.sleep(0.1)
                self.pump()
                if keep_alive is not None:
                    keep_alive()
                if self.recorder.error:
                    return "error"
                if idle_s is not None and self.recorder.idle_s() >= idle_s:
                    return "idle"
                if duration_s is not None and time.monotonic() - self.recorder.started >= duration_s:
                    return "duration"
            return "interrupt"
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)

    def finish(self, end: str = "done") -> RecordResult:
        """Stop recording, end with Done (``end="fail"``: Fail), evaluate, write it all."""
        if end not in ("done", "fail"):
            raise ValueError(f"a recording ends with done or fail, not {end!r}")
        self._running = False
        steps, final = self.recorder.stop()
        error = self.recorder.error
        self.lines.add(steps)
        self.lines.end(final, None if error else (Done() if end == "done" else Fail()))
        actions = self.lines.actions
        score = verdict = None
        status = "error" if error else end
        if error is None:
            try:
                score = self.task.evaluate(self.env, actions)
            except EnvError as err:
                status, error = "error", f"{type(err).__name__}: {err}".splitlines()[0]
            else:
                verdict = NO_EVALUATOR if score is None else (self.verdict() if self.verdict else None)
        self.writer.finish(Outcome(status=status, score=score, steps=len(actions), turns=len(actions),
                                   error=error, verdict=verdict))
        return RecordResult(self.writer.directory, status, score, len(actions), time.perf_counter() - self._t0,
                            tuple(actions), verdict, error, self.recorder.ignored)

    def close(self) -> None:
        """Stop what still runs (a recording left by an error: its lines so far are kept,
        without result.txt) and close the writer."""
        if self._running:
            self._running = False
            try:
                steps, final = self.recorder.stop()
                self.lines.add(steps)
                self.lines.end(final, None)
            except EnvError:
                pass  # the display is gone: what was written stays
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
