"""Property: a step written back by format_history_step parses to the same actions
(points within the rounding of the dialect's space), for every dialect."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kimicua.agent.dialects import get_dialect
from kimicua.agent.parser import parse
from kimicua.env.actions import (
    Click, Done, Drag, Fail, Hotkey, Key, KeyDown, KeyUp, MouseDown, MouseUp, Move, Scroll, Type,
    Wait,
)
from kimicua.env.geometry import Frame, Size
from kimicua.env.keys import KEYS

FRAMES = [Frame(Size(1920, 1080)), Frame(Size(1280, 800), physical=Size(2560, 1600)),
          Frame(Size(1366, 768), image=Size(1008, 560))]
KEY = st.sampled_from(sorted(KEYS))
TEXT = st.text(min_size=1, max_size=30).filter(lambda t: not t.endswith("\n"))
BUTTON = st.sampled_from(["left", "right", "middle"])


def actions_for(name: str, frame: Frame):
    w, h = frame.screen.width, frame.screen.height
    xs, ys = st.floats(0, w), st.floats(0, h)
    at = st.fixed_dictionaries({"x": xs, "y": ys})
    maybe_at = at | st.just({})
    start = st.fixed_dictionaries({"start_x": xs, "start_y": ys})
    hotkey = st.lists(KEY, min_size=2, max_size=4).map(lambda ks: Hotkey(keys=tuple(ks)))
    if name in ("kimi", "pyautogui"):
        ending = st.text(max_size=20) | st.none() if name == "kimi" else st.none()
        return st.one_of(
            at.map(lambda p: Move(**p)),
            st.builds(lambda p, b, n: Click(**p, button=b, count=n), maybe_at, BUTTON, st.integers(1, 3)),
            BUTTON.map(lambda b: MouseDown(button=b)), BUTTON.map(lambda b: MouseUp(button=b)),
            st.builds(lambda p, b: Drag(**p, button=b), at, BUTTON),
            st.builds(lambda p, d: Scroll(**p, dy=d), maybe_at, st.integers(-50, 50)),
            st.builds(lambda p, d: Scroll(**p, dx=d), maybe_at, st.integers(-50, 50).filter(bool)),
            TEXT.map(lambda t: Type(text=t)), KEY.map(lambda k: Key(key=k)),
            KEY.map(lambda k: KeyDown(key=k)), KEY.map(lambda k: KeyUp(key=k)), hotkey,
            st.floats(0, 60).map(lambda s: Wait(seconds=s)),
            ending.map(lambda a: Done(answer=a)), ending.map(lambda r: Fail(reason=r)),
        )
    if name in ("uitars", "uitars1"):
        five = st.sampled_from([("dy", 5), ("dy", -5), ("dx", 5), ("dx", -5)])
        return st.one_of(
            at.map(lambda p: Move(**p)),
            st.builds(lambda p, c: Click(**p, button=c[0], count=c[1]), at,
                      st.sampled_from([("left", 1), ("left", 2), ("right", 1)])),
            st.builds(lambda p, s: Drag(**p, **s), at, start),
            st.builds(lambda p, d: Scroll(**p, **{d[0]: d[1]}), maybe_at, five),
            TEXT.map(lambda t: Type(text=t)), KEY.map(lambda k: Key(key=k)), hotkey,
            st.just(Wait(seconds=5.0)), st.text(min_size=1, max_size=20).map(lambda a: Done(answer=a)),
            st.just(Done()), st.just(Fail(reason="call_user")),
        )
    if name == "qwen25vl":
        return st.one_of(
            at.map(lambda p: Move(**p)),
            st.builds(lambda p, c: Click(**p, button=c[0], count=c[1]), maybe_at,
                      st.sampled_from([("left", 1), ("left", 2), ("right", 1), ("middle", 1)])),
            st.builds(lambda p, s: Drag(**p, **s), at, start | st.just({})),
            st.builds(lambda p, d: Scroll(**p, dy=d), maybe_at, st.integers(-50, 50)),
            TEXT.map(lambda t: Type(text=t)), KEY.map(lambda k: Key(key=k)), hotkey,
            st.floats(0, 60).map(lambda s: Wait(seconds=s)), st.just(Done()), st.just(Fail()),
        )
    assert name == "computer13"
    return st.one_of(
        at.map(lambda p: Move(**p)),
        st.builds(lambda p, b, n: Click(**p, button=b, count=n), maybe_at, BUTTON, st.integers(1, 3)),
        BUTTON.map(lambda b: MouseDown(button=b)), BUTTON.map(lambda b: MouseUp(button=b)),
        at.map(lambda p: Drag(**p)),
        st.builds(lambda dx, dy: Scroll(dx=dx, dy=dy), st.integers(-50, 50), st.integers(-50, 50)),
        TEXT.map(lambda t: Type(text=t)), KEY.map(lambda k: Key(key=k)),
        KEY.map(lambda k: KeyDown(key=k)), KEY.map(lambda k: KeyUp(key=k)), hotkey,
        st.just(Wait()), st.just(Done()), st.just(Fail()),
    )


def assert_same(back, actions, tol: float):
    assert [type(a) for a in back] == [type(a) for a in actions]
    for a, b in zip(back, actions):
        da, db = a.model_dump(), b.model_dump()
        for key in ("x", "y", "start_x", "start_y"):
            if db.get(key) is not None:
                assert da.pop(key) == pytest.approx(db.pop(key), abs=tol)
        assert da == db


# How far a written-back point may move: rounding to 4 relative digits, to whole
# screenshot pixels, to whole 0..1000 units, or to whole resized-image pixels.
TOLERANCE = {"kimi": 0.2, "pyautogui": 0.5, "computer13": 0.5, "uitars1": 1.0, "uitars": 1.0,
             "qwen25vl": 1.5}


@pytest.mark.parametrize("name", sorted(TOLERANCE))
@pytest.mark.parametrize("frame", FRAMES, ids=["fhd", "hidpi", "odd"])
def test_history_step_round_trips(name, frame):
    d = get_dialect(name)
    frame = d.frame_for(frame)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(actions=st.lists(actions_for(name, frame), min_size=1, max_size=4),
           thought=st.text(alphabet="abc .", min_size=1, max_size=20).filter(str.strip))
    def run(actions, thought):
        text = d.format_history_step(thought, actions, frame)
        assert_same(parse(text, d, frame), actions, TOLERANCE[name])

    run()
