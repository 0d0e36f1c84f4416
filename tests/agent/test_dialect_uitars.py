"""Golden tests of UI-TARS 1.0 (relative 0..1000) and 1.5 (resized-image pixels)."""

import pytest

from kimicua.agent.dialects import get_dialect
from kimicua.agent.parser import ParseError, parse
from kimicua.env.actions import Click, Done, Drag, Fail, Hotkey, Key, Move, Scroll, Type, Wait
from kimicua.env.geometry import Frame, Size

FHD = Frame(Size(1920, 1080))
HIDPI = Frame(Size(1280, 800), physical=Size(2560, 1600))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Thought: The OK button.\nAction: click(start_box='(500,500)')", [Click(x=960.0, y=540.0)]),
        ("Action: click(start_box='<|box_start|>(500,500)<|box_end|>')", [Click(x=960.0, y=540.0)]),
        ("Action: click(start_box=<|box_start|>(500,500)<|box_end|>)", [Click(x=960.0, y=540.0)]),
        ("Action: click(point='<point>250 750</point>')", [Click(x=480.0, y=810.0)]),
        # A box means its centre: (400+600)/2 = 500 per mille.
        ("Action: click(start_box='(400,400,600,600)')", [Click(x=960.0, y=540.0)]),
        ("Action: left_double(start_box='(0,0)')", [Click(x=0.0, y=0.0, count=2)]),
        ("Action: right_single(start_box='(1000,1000)')", [Click(x=1920.0, y=1080.0, button="right")]),
        ("Action: drag(start_box='(100,100)', end_box='(900,900)')",
         [Drag(start_x=192.0, start_y=108.0, x=1728.0, y=972.0)]),
        ("Action: hotkey(key='ctrl c')", [Hotkey(keys=("ctrl", "c"))]),
        ("Action: hotkey(key='Return')", [Key(key="enter")]),
        ("Action: type(content='hello\\n')", [Type(text="hello"), Key(key="enter")]),
        ("Action: type(content='\\n')", [Key(key="enter")]),
        ("Action: type(content='it's fine')", [Type(text="it's fine")]),
        ("Action: scroll(start_box='(500,500)', direction='down')", [Scroll(x=960.0, y=540.0, dy=-5)]),
        ("Action: scroll(direction='left')", [Scroll(dx=-5)]),
        ("Action: wait()", [Wait(seconds=5.0)]),
        ("Action: finished(content='The answer is 4')", [Done(answer="The answer is 4")]),
        ("Action: finished()", [Done()]),
        ("Action: call_user()", [Fail(reason="call_user")]),
        ("Action: hotkey(key='ctrl a')\n\nAction: hotkey(key='delete')",
         [Hotkey(keys=("ctrl", "a")), Key(key="delete")]),
        ("click(start_box='(500,500)')", [Click(x=960.0, y=540.0)]),
        ("<think>click(start_box='(1,1)')</think>Action: click(start_box='(500,500)')",
         [Click(x=960.0, y=540.0)]),
    ],
)
def test_uitars1(text, expected):
    assert parse(text, "uitars1", FHD) == expected


def test_uitars15_image_size_is_smart_resize():
    d = get_dialect("uitars")
    # 1920/28 = 68.6 -> 69*28 = 1932; 1080/28 = 38.6 -> 39*28 = 1092: within the pixel budget.
    assert d.image_size(Size(1920, 1080)) == Size(1932, 1092)
    # 5120x2880 is over 16384*28*28 pixels: scaled by sqrt(14745600/12845056) = 1.0714,
    # floored to multiples of 28: 4778.7 -> 4760, 2688.0 -> 2688.
    assert d.image_size(Size(5120, 2880)) == Size(4760, 2688)
    # Tiny images are scaled up to at least 100*28*28 pixels.
    small = d.image_size(Size(100, 100))
    assert small.width * small.height >= 100 * 28 * 28 and small.width % 28 == 0
    assert get_dialect("uitars1").image_size(Size(1920, 1080)) is None


def test_uitars15_pixels_of_the_resized_image_map_to_the_screen():
    # Without an image size in the frame the dialect's own resize is assumed: 1932x1092.
    assert parse("Action: click(start_box='(966,546)')", "uitars", FHD) == [Click(x=960.0, y=540.0)]
    # With the back end's size given, that size is used.
    frame = Frame(Size(1920, 1080), image=Size(1288, 728))
    assert parse("Action: click(start_box='(644,364)')", "uitars", frame) == [Click(x=960.0, y=540.0)]
    # High DPI: 2560x1600 screenshot -> 2548x1596 image; its centre is logical (640, 400).
    assert parse("Action: click(start_box='(1274,798)')", "uitars", HIDPI) == [Click(x=640.0, y=400.0)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("Action: click(start_box='(1200,10)')", "off-screen"),
        ("Action: click(start_box='(1,2,3)')", "expected a point"),
        ("Action: click()", "needs start_box"),
        ("Action: hotkey(key='ctrl hyper')", "unknown key 'hyper'"),
        ("Action: scroll(direction='sideways')", "direction"),
        ("Action: open_app(name='x')", "call of open_app is not allowed"),
        ("Action: click(start_box=__import__('os'))", "calls are not allowed as arguments"),
        ("Action: type(content=secret)", "names are not allowed"),
    ],
)
def test_uitars_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse(text, "uitars1", FHD)


def test_uitars15_padding_is_off_screen():
    # A point beyond the resized image (in its padding) is not on the screen.
    with pytest.raises(ParseError, match="off-screen"):
        parse("Action: click(start_box='(1940,100)')", "uitars", FHD)


@pytest.mark.parametrize("name", ["uitars", "uitars1"])
def test_history_round_trips(name):
    d = get_dialect(name)
    frame = d.frame_for(FHD)
    actions = [Click(x=960.0, y=540.0), Type(text="it's"), Hotkey(keys=("ctrl", "s")),
               Scroll(x=960.0, y=540.0, dy=-5), Wait(seconds=5.0), Done(answer="ok"),
               Drag(start_x=192.0, start_y=108.0, x=1728.0, y=972.0), Move(x=960.0, y=540.0)]
    text = d.format_history_step("Saving.", actions, frame)
    assert text.startswith("Thought: Saving.\nAction: ")
    assert d.thought(text) == "Saving."
    back = parse(text, d, frame)
    # 1.5 writes whole pixels of a 1932-wide image: within one image pixel of the original.
    assert [type(a) for a in back] == [type(a) for a in actions]
    for a, b in zip(back, actions):
        da, db = a.model_dump(), b.model_dump()
        for key in ("x", "y", "start_x", "start_y"):
            if db.get(key) is not None:
                assert da.pop(key) == pytest.approx(db.pop(key), abs=1.0)
        assert da == db
