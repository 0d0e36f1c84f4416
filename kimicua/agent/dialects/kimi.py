"""Kimi-VL / OpenCUA: ``## Thought`` / ``## Action`` / ``## Code`` answers whose code
holds pyautogui calls in relative 0..1 coordinates (a value above 1 means pixels of
the screenshot), ``computer.wait()`` and ``computer.terminate(...)``."""

from __future__ import annotations

import re
from typing import Any, Sequence

from kimicua.agent.dialects.base import image_and_text, strip_thinking
from kimicua.agent.dialects.pyautogui_code import PyAutoGUICode
from kimicua.env.actions import Action, Done, Fail, Wait
from kimicua.env.geometry import Frame, Size, Space

GROUNDING_PROMPT = (
    "Please observe the screenshot, please locate the following elements with action and "
    "point.<instruction> {instruction}"
)

# One run of blanks on each side of the optional colon: "[ \t]*:?[ \t]*$" can split a run
# of n blanks between its two halves n ways, and tries each before failing (quadratic).
_SECTION = re.compile(r"^[ \t]*##[ \t]*(Thought|Action|Code)[ \t]*(?::[ \t]*)?$", re.M | re.I)


def sections(text: str) -> dict[str, str]:
    """The ``## Thought`` / ``## Action`` / ``## Code`` sections by lower-case name."""
    marks = list(_SECTION.finditer(text))
    out: dict[str, str] = {}
    for m, nxt in zip(marks, marks[1:] + [None]):
        out.setdefault(m.group(1).lower(), text[m.end(): nxt.start() if nxt else len(text)].strip())
    return out


class Kimi(PyAutoGUICode):
    """The Kimi-VL OS-agent and grounding format."""

    name = "kimi"
    space = Space.RELATIVE
    ndigits = 4

    def system_prompt(self, *, screen: Size) -> str:
        return (
            "You are a GUI agent. You operate a computer (an Ubuntu desktop) through its "
            "screen, mouse and keyboard to complete the user's task. Each turn you get a "
            "screenshot and decide the single next step.\n\n"
            "Answer in exactly this format:\n"
            "## Thought\nWhat you see, what has been done so far, and what to do next.\n"
            "## Action\nThe next action in one short sentence.\n"
            "## Code\n```python\npyautogui.click(x=0.5120, y=0.3340)\n```\n\n"
            "Coordinates are relative to the screenshot: x from 0 (left) to 1 (right), "
            "y from 0 (top) to 1 (bottom).\n"
            "Available calls: pyautogui.click(x, y, clicks=1, button='left'), "
            "pyautogui.doubleClick(x, y), computer.triple_click(x, y), "
            "pyautogui.rightClick(x, y), pyautogui.moveTo(x, y), pyautogui.dragTo(x, y), "
            "pyautogui.scroll(clicks) (positive scrolls up), pyautogui.hscroll(clicks), "
            "pyautogui.write(text), pyautogui.press(key), pyautogui.hotkey(key, key, ...), "
            "pyautogui.keyDown(key), pyautogui.keyUp(key), computer.wait(), and "
            "computer.terminate(status='success' or 'failure', answer=...) when the task is "
            "done or cannot be done.\n"
            "Use literal arguments only; no variables, loops or imports."
        )

    def grounding_prompt(self, instruction: str) -> str:
        """The model card's single-step grounding prompt."""
        return GROUNDING_PROMPT.format(instruction=instruction)

    def grounding_messages(self, instruction: str, *, image: Size) -> list[dict]:
        # The model card's example: one user turn, the screenshot then the prompt, and
        # the chat template's default system message. The answer is a pyautogui call in
        # relative coordinates of the screenshot, so ``image`` is not needed here.
        return [{"role": "user", "content": image_and_text(self.grounding_prompt(instruction))}]

    def point(self, x: Any, y: Any, frame: Frame) -> tuple[float, float]:
        # The model card's rule: a value above 1 is pixels of the screenshot. Decided
        # per point, since a point half in pixels and half relative is meaningless.
        big = any(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 1 for v in (x, y))
        return self.to_screen(x, y, frame, Space.PHYSICAL if big else Space.RELATIVE)

    def parse(self, text: str, frame: Frame) -> list[Action]:
        text = strip_thinking(text)
        code = sections(text).get("code")
        # Prefer the ## Code section: the thought may quote example calls.
        if code is not None:
            text = code
        return super().parse(text, frame)

    def thought(self, text: str) -> str | None:
        text = strip_thinking(text, strict=False)
        parts = sections(text)
        if "thought" in parts:
            return parts["thought"] or None
        return super().thought(_SECTION.split(text, maxsplit=1)[0])

    def special(self, action: Action) -> str | None:
        match action:
            case Wait(seconds=1.0):
                return "computer.wait()"
            case Wait(seconds=s):
                return f"computer.wait(seconds={s!r})"
            case Done(answer=a):
                tail = f", answer={a!r}" if a is not None else ""
                return f"computer.terminate(status='success'{tail})"
            case Fail(reason=r):
                tail = f", answer={r!r}" if r is not None else ""
                return f"computer.terminate(status='failure'{tail})"
        return None

    def format_history_step(self, thought: str | None, actions: Sequence[Action], frame: Frame) -> str:
        code = "\n".join(self.code_of(a, frame) for a in actions) or "# (no action)"
        summary = "; ".join(describe(a) for a in actions) or "none"
        return (f"## Thought\n{(thought or '').strip()}\n## Action\n{summary}\n"
                f"## Code\n```python\n{code}\n```")


def describe(action: Action) -> str:
    """A few words for an action, for the ``## Action`` line of a history step."""
    data = action.model_dump(exclude_none=True)
    kind = data.pop("type").replace("_", " ")
    for coord in ("x", "y", "start_x", "start_y"):
        data.pop(coord, None)
    detail = ", ".join(f"{k}={v!r}" for k, v in data.items())
    return f"{kind} ({detail})" if detail else kind
