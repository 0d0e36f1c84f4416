"""A policy that plays a given sequence of actions: the fake model for tests and the
built-in tasks' scripted solutions."""

from __future__ import annotations

from collections.abc import Generator, Iterable

from kimicua.agent.policy import Prompt, Reply
from kimicua.env.actions import ACTION_TYPES, Action, Done, dumps

_END = object()  # not None: a script yielding None is a bug to report, not its end


class ScriptedPolicy:
    """Returns the next action per ``act()``, then ``Done`` forever once exhausted.

    The sequence is consumed lazily, one item per call, because scripted solutions are
    generators that resolve coordinates against the screen just before each step.
    """

    name = "scripted"
    notice: str | None = None

    def __init__(self, actions: Iterable[Action]):
        self._actions = iter(actions)
        self.exhausted = False

    def act(self, prompt: Prompt) -> Reply:
        """The next action as a Reply (its JSON as text); the prompt is not read."""
        action = _END if self.exhausted else next(self._actions, _END)
        if action is _END:
            self.exhausted = True
            action = Done()
        elif not isinstance(action, ACTION_TYPES):
            raise TypeError(f"scripted policy expected an Action, got {type(action).__name__}: {action!r}")
        return Reply(text=dumps(action), model=self.name, actions=(action,))

    def act_batch(self, prompts: list[Prompt]) -> list[Reply]:
        """The next len(prompts) actions, one per prompt in order (as ``act`` on each)."""
        return [self.act(prompt) for prompt in prompts]

    def check(self) -> None:
        """Nothing to reach: the actions are here."""

    def reset(self, seed: int | None) -> None:
        """The script is the script: no sampling to seed."""

    def close(self) -> None:
        """Close the script if it is a generator, so its cleanup (finally blocks) runs."""
        if isinstance(self._actions, Generator):
            self._actions.close()
