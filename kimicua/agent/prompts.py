"""Prompts for the multi-step loop: system prompt, task, history, current screenshot.

Layout (OpenAI-style messages; image items take ``Prompt.images`` in order)::

    system     dialect.system_prompt(screen)
    user       task instruction (+ older steps as text, their screenshots dropped)
    user       [screenshot of step i]          } for the last max_images - 1 steps
    assistant  step i in the dialect's format  }
    user       [current screenshot] (+ feedback on the last unparseable answer)

Screenshots go in at native resolution; the processor / back end sizes them. An
image item names the frame file its screenshot was saved as, when known
(``{"type": "image", "file": "step_3_....png"}``): back ends ignore the key, and the
messages are then the trajectory's record of the prompt, with no pixels in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kimicua.agent.dialects import Dialect, get_dialect
from kimicua.agent.policy import Prompt
from kimicua.env.actions import Action
from kimicua.env.geometry import Frame, Size
from kimicua.env.observation import Observation


# eq=False: comparing screenshots element-wise is neither cheap nor meaningful.
@dataclass(frozen=True, slots=True, eq=False)
class Turn:
    """One previous step: what the model thought and did, and what it saw.

    ``error`` is the parse error of an answer that gave no actions;
    ``screenshot_file`` the frame file the screenshot was saved as.
    """

    thought: str | None
    actions: tuple[Action, ...]
    screenshot: np.ndarray | None
    frame: Frame
    error: str | None = None
    screenshot_file: str | None = None


def thought_of(text: str, dialect: str | Dialect) -> str | None:
    """The visible reasoning in a model answer, in ``dialect``'s format."""
    return get_dialect(dialect).thought(text)


def history_text(dialect: Dialect, turn: Turn) -> str:
    """A previous step as text, with its parse error when it had one."""
    text = dialect.format_history_step(turn.thought, turn.actions, dialect.frame_for(turn.frame))
    if turn.error:
        text += f"\n(This answer could not be executed: {turn.error})"
    return text


def feedback_text(error: str) -> str:
    return (f"Your previous answer could not be parsed: {error}\n"
            "Answer again in the required format.")


def image_item(file: str | None) -> dict:
    return {"type": "image"} if file is None else {"type": "image", "file": file}


def image_files(prompt: Prompt) -> list[str | None]:
    """The frame file of each image in ``prompt``, in ``prompt.images`` order."""
    return [item.get("file") for m in prompt.messages if isinstance(m["content"], list)
            for item in m["content"] if item["type"] == "image"]


def build_prompt(
    dialect: str | Dialect,
    instruction: str,
    history: Sequence[Turn],
    observation: Observation,
    *,
    max_images: int = 3,
    feedback: str | None = None,
    screenshot_file: str | None = None,
) -> Prompt:
    """The prompt for the next step: up to ``max_images`` screenshots, the current
    one last; older steps appear as text only. ``screenshot_file`` names the
    current screenshot's frame file (the history's come with each Turn)."""
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1 (the current screenshot), got {max_images}")
    d = get_dialect(dialect)
    shot = observation.screenshot
    size = Size(shot.shape[1], shot.shape[0])
    n_recent = min(len(history), max_images - 1)
    older, recent = history[: len(history) - n_recent], history[len(history) - n_recent:]

    task = f"Task: {instruction}"
    if older:
        steps = "\n\n".join(f"Step {i}:\n{history_text(d, t)}" for i, t in enumerate(older, 1))
        task += f"\n\nPrevious steps (screenshots not shown):\n{steps}"
    messages: list[dict] = [
        {"role": "system", "content": d.system_prompt(screen=size)},
        {"role": "user", "content": task},
    ]
    images: list[np.ndarray] = []
    for turn in recent:
        if turn.screenshot is not None:
            messages.append({"role": "user", "content": [image_item(turn.screenshot_file)]})
            images.append(turn.screenshot)
        messages.append({"role": "assistant", "content": history_text(d, turn)})

    current: list[dict] = [image_item(screenshot_file)]
    images.append(shot)
    note = feedback_text(feedback) if feedback else "What is the next step?"
    current.append({"type": "text", "text": note})
    messages.append({"role": "user", "content": current})
    return Prompt(messages=messages, images=images)
