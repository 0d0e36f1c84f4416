"""The model's side of one grounding sample: the dialect's grounding prompt in, a point
(or a decline) out.

The answer goes through the same safe parser as an episode's, with the image itself as
the screen (a Frame of the image's size, scale 1), so the point comes back in image
pixels from whatever space the dialect writes (Kimi's relative 0..1, UI-TARS's resized
pixels, ...).

What counts as a decline (the element is not on the screenshot), for Pro's negative
samples and OSWorld-G's refusals. The official scripts leave it to each model's
wrapper: ScreenSpot-Pro's reads a model's "negative" result (a phrase such as
"Target not existent"), OSWorld-G's a refusal answer (negative coordinates, or a
``wait`` in Aguvis's pyautogui answers). Here, per dialect:

- the answer's first action without a point is the dialect's failure action:
  ``computer.terminate(status='failure')`` (kimi), ``FAIL`` (pyautogui),
  ``call_user()`` (uitars, uitars1), ``terminate`` with status failure (qwen25vl);
- or the answer has no action at all and says so in words (DECLINE_PHRASES, e.g.
  "target not existent", "is not present", "cannot find").

An answer with a point is never a decline, and a point off the image is unparseable.
"""

from __future__ import annotations

import re

import numpy as np

from kimicua.agent.dialects import Dialect, get_dialect
from kimicua.agent.dialects.base import strip_thinking
from kimicua.agent.parser import ParseError, parse
from kimicua.agent.policy import Prompt
from kimicua.env.actions import Action, Fail
from kimicua.env.geometry import Frame, Size
from kimicua.tasks.screenspot.scoring import Answer

DECLINE_PHRASES = re.compile(
    r"\b(?:target\s+not\s+exist(?:ent|s)?"
    r"|(?:is|are)\s+not\s+(?:present|visible|shown|found|available|on\s+(?:the|this)\s+screen(?:shot)?)"
    r"|(?:does|do)(?:\s+not|n't)\s+exist"
    r"|no\s+such\s+(?:element|button|item|icon|option|field|link)"
    r"|(?:cannot|can't|can\s+not|unable\s+to|could\s+not|couldn't)\s+(?:find|locate|see|identify))\b",
    re.IGNORECASE,
)
_MAX_DECLINE_TEXT = 20_000  # a longer answer is a runaway generation, not a decline


def grounding_prompt(dialect: str | Dialect, instruction: str, image: np.ndarray) -> Prompt:
    """The dialect's grounding prompt for ``instruction`` on ``image`` (RGB uint8
    [H, W, 3], at native resolution: the backend sizes it as it does an episode's)."""
    size = Size(int(image.shape[1]), int(image.shape[0]))
    return Prompt(messages=get_dialect(dialect).grounding_messages(instruction, image=size), images=[image])


def read_answer(text: str, dialect: str | Dialect, image: Size,
                model_image: Size | None = None) -> tuple[Answer, str | None]:
    """The point in image pixels (or the decline) in ``text``, and why there is neither.

    ``model_image`` is the size the model saw the image at, when the backend says
    (the local model does); image-space dialects otherwise take their own resize rule.
    """
    d = get_dialect(dialect)
    try:
        actions = parse(d.grounding_answer(text), d, Frame(screen=image, image=model_image))
    except ParseError as err:
        if declines(text):
            return Answer(declined=True), None
        return Answer(), str(err)
    for action in actions:
        point = point_of(action)
        if point is not None:
            return Answer(point=point), None
        if isinstance(action, Fail):
            return Answer(declined=True), None
    return Answer(), f"no point in the answer (actions: {', '.join(a.type for a in actions)})"


def point_of(action: Action) -> tuple[float, float] | None:
    """Where an action points: a drag's start, else its (x, y); None when it has no point."""
    for kx, ky in (("start_x", "start_y"), ("x", "y")):
        x, y = getattr(action, kx, None), getattr(action, ky, None)
        if x is not None and y is not None:
            return float(x), float(y)
    return None


def declines(text: str) -> bool:
    """Whether an answer with no action says the element is not there."""
    if not isinstance(text, str) or len(text) > _MAX_DECLINE_TEXT:
        return False
    return DECLINE_PHRASES.search(strip_thinking(text, strict=False)) is not None
