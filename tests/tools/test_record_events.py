"""Raw input events folded into actions: synthetic streams as X RECORD delivers them."""

from __future__ import annotations

from kimicua.env.actions import Click, Drag, Hotkey, Key, KeyDown, KeyUp, Scroll, Type
from kimicua.tools.record.events import ButtonEvent, Folder, KeyEvent, MotionEvent, fold

# Level 0 and level 1 symbols of a US keyboard's keys, as xrecord names them.
US = {"a": "A", "d": "D", "l": "L", "s": "S", "1": "!", "2": "@", "'": '"', ".": ">", " ": " ",
      "Return": "Return", "Tab": "ISO_Left_Tab", "BackSpace": "BackSpace", "Shift_L": "Shift_L",
      "Control_L": "Control_L", "Alt_L": "Alt_L", "Super_L": "Super_L", "Caps_Lock": "Caps_Lock",
      "F5": "F5", "Home": "Home", "t": "T", "c": "C"}


class Stream:
    """Builds an event stream with a running X clock (ms)."""

    def __init__(self):
        self.t = 1000
        self.events = []

    def at(self, ms: int) -> Stream:
        self.t += ms
        return self

    def down(self, sym: str) -> Stream:
        self.events.append(KeyEvent(True, sym, US[sym], self.t, tag=f"k{self.t}"))
        self.t += 10
        return self

    def up(self, sym: str) -> Stream:
        self.events.append(KeyEvent(False, sym, US[sym], self.t))
        self.t += 10
        return self

    def tap(self, *syms: str) -> Stream:
        for sym in syms:
            self.down(sym).up(sym)
        return self

    def press(self, button: int, x: float, y: float) -> Stream:
        self.events.append(ButtonEvent(True, button, x, y, self.t, tag=f"b{self.t}"))
        self.t += 10
        return self

    def release(self, button: int, x: float, y: float) -> Stream:
        self.events.append(ButtonEvent(False, button, x, y, self.t))
        self.t += 10
        return self

    def move(self, x: float, y: float) -> Stream:
        self.events.append(MotionEvent(x, y, self.t))
        self.t += 10
        return self

    def click(self, x: float, y: float, button: int = 1) -> Stream:
        return self.press(button, x, y).release(button, x, y)

    def actions(self):
        return [r.action for r in fold(self.events)]


def test_typing_with_shift_merges_into_one_type_action():
    s = Stream().tap("a", "d", "a", " ").down("Shift_L").tap("l").up("Shift_L").tap("a")
    s.down("Shift_L").tap("2", "1").up("Shift_L").tap("'", ".")
    assert s.actions() == [Type(text="ada La@!'.")]


def test_typed_text_keeps_the_first_keys_time_and_tag():
    s = Stream().at(5).tap("a", "d")
    (rec,) = fold(s.events)
    assert (rec.start_ms, rec.end_ms, rec.tag) == (1005, 1025, "k1005")


def test_caps_lock_swaps_the_case_of_letters_only():
    s = Stream().tap("Caps_Lock", "a", "1").down("Shift_L").tap("a").up("Shift_L").tap("Caps_Lock", "a")
    assert s.actions() == [Key(key="capslock"), Type(text="A1a"), Key(key="capslock"), Type(text="a")]


def test_named_keys_are_keys_and_end_the_typed_text():
    s = Stream().tap("a", "Return", "F5", "s", "BackSpace")
    assert s.actions() == [Type(text="a"), Key(key="enter"), Key(key="f5"), Type(text="s"),
                           Key(key="backspace")]


def test_modifier_chords_are_hotkeys_in_the_order_pressed():
    s = Stream().tap("a").down("Control_L").tap("s").up("Control_L")
    s.down("Control_L").down("Shift_L").tap("t").up("Shift_L").up("Control_L")
    s.down("Alt_L").tap("F5").up("Alt_L")
    assert s.actions() == [Type(text="a"), Hotkey(keys=("ctrl", "s")), Hotkey(keys=("ctrl", "shift", "t")),
                           Hotkey(keys=("alt", "f5"))]


def test_two_keys_under_one_held_modifier_are_two_hotkeys():
    s = Stream().down("Control_L").tap("a", "c").up("Control_L")
    assert s.actions() == [Hotkey(keys=("ctrl", "a")), Hotkey(keys=("ctrl", "c"))]


def test_shift_with_a_named_key_is_a_hotkey():
    s = Stream().down("Shift_L").tap("Tab").up("Shift_L").down("Shift_L").tap("Home").up("Shift_L")
    assert s.actions() == [Hotkey(keys=("shift", "tab")), Hotkey(keys=("shift", "home"))]


def test_a_modifier_tapped_alone_is_a_key():
    assert Stream().tap("Super_L").actions() == [Key(key="super")]
    assert Stream().down("Shift_L").tap("a").up("Shift_L").actions() == [Type(text="A")]


def test_unknown_keys_are_counted_not_recorded():
    folder = Folder()
    for e in (KeyEvent(True, "XF86Launch1", None, 1), KeyEvent(True, None, None, 2)):
        folder.feed(e)
    assert folder.finish() == [] and folder.ignored == 2


def test_press_move_release_far_apart_is_a_drag():
    s = Stream().press(1, 100, 100).move(120, 110).move(300, 200).release(1, 300, 200)
    assert s.actions() == [Drag(start_x=100, start_y=100, x=300, y=200)]
    (rec,) = fold(s.events)
    assert rec.tag == "b1000" and rec.end_ms > rec.start_ms


def test_a_shaky_click_is_still_a_click_at_the_press():
    s = Stream().press(1, 100, 100).move(103, 102).release(1, 103, 102)
    assert s.actions() == [Click(x=100, y=100)]


def test_two_quick_clicks_at_one_spot_are_a_double_click():
    s = Stream().click(50, 60).at(100).click(51, 61)
    assert s.actions() == [Click(x=50, y=60, count=2)]
    assert Stream().click(50, 60).click(50, 60).click(50, 60).actions() == [Click(x=50, y=60, count=3)]


def test_slow_or_distant_second_clicks_are_separate_clicks():
    assert Stream().click(50, 60).at(800).click(50, 60).actions() == [Click(x=50, y=60), Click(x=50, y=60)]
    assert Stream().click(50, 60).click(90, 60).actions() == [Click(x=50, y=60), Click(x=90, y=60)]
    assert Stream().click(50, 60).click(50, 60, button=3).actions() == [
        Click(x=50, y=60), Click(x=50, y=60, button="right")]


def test_a_click_then_typing_keeps_their_order_and_frames():
    s = Stream().click(10, 20).tap("a", "s")
    recs = fold(s.events)
    assert [r.action for r in recs] == [Click(x=10, y=20), Type(text="as")]
    assert recs[0].tag == "b1000" and recs[1].tag == "k1020"


def test_wheel_notches_merge_into_scrolls_by_direction_and_place():
    s = Stream().press(5, 200, 300).release(5, 200, 300).press(5, 200, 300).release(5, 200, 300)
    s.press(5, 200, 300).release(5, 200, 300).press(4, 200, 300).release(4, 200, 300)
    s.press(7, 200, 300).press(7, 200, 300).press(5, 400, 300)
    assert s.actions() == [Scroll(x=200, y=300, dy=-3), Scroll(x=200, y=300, dy=1),
                           Scroll(x=200, y=300, dx=2), Scroll(x=400, y=300, dy=-1)]


def test_pointer_actions_with_held_modifiers_are_wrapped_in_key_down_and_up():
    s = Stream().down("Control_L").click(10, 10).click(40, 10).up("Control_L")
    assert s.actions() == [KeyDown(key="ctrl"), Click(x=10, y=10), Click(x=40, y=10), KeyUp(key="ctrl")]
    s = Stream().down("Shift_L").press(1, 10, 10).release(1, 90, 10).up("Shift_L").tap("a")
    assert s.actions() == [KeyDown(key="shift"), Drag(start_x=10, start_y=10, x=90, y=10),
                           KeyUp(key="shift"), Type(text="a")]


def test_a_key_under_a_modifier_already_down_is_a_plain_key():
    s = Stream().down("Control_L").click(10, 10).tap("c").up("Control_L")
    assert s.actions() == [KeyDown(key="ctrl"), Click(x=10, y=10), Key(key="c"), KeyUp(key="ctrl")]


def test_finish_releases_what_is_still_held():
    s = Stream().down("Control_L").click(10, 10)
    assert s.actions() == [KeyDown(key="ctrl"), Click(x=10, y=10), KeyUp(key="ctrl")]


def test_feed_returns_only_the_actions_an_event_closed():
    folder = Folder()
    s = Stream().tap("a").click(5, 5)
    closed = [folder.feed(e) for e in s.events]
    assert [len(c) for c in closed] == [0, 0, 1, 0]  # the press closed the text; the click stays open
    assert [r.action for r in folder.finish()] == [Click(x=5, y=5)]


def test_a_pointer_action_begins_where_the_pointer_set_off_towards_it():
    s = Stream().tap("a").move(100, 100).move(200, 150).click(300, 200)
    s.events[-4:] = [MotionEvent(e.x, e.y, e.time_ms, tag=f"m{e.time_ms}") for e in s.events[-4:-2]] + s.events[-2:]
    recs = fold(s.events)
    assert [r.action for r in recs] == [Type(text="a"), Click(x=300, y=200)]
    assert (recs[1].start_ms, recs[1].tag) == (1020, "m1020")  # the first move, not the press


def test_moves_before_a_key_do_not_begin_the_next_click():
    s = Stream().move(100, 100).tap("a").click(300, 200)
    s.events[0] = MotionEvent(100, 100, 1000, tag="m1000")
    recs = fold(s.events)
    assert recs[1].tag == "b1030" and recs[1].start_ms == 1030


def test_a_double_click_keeps_the_first_clicks_beginning():
    s = Stream().move(10, 10).click(50, 60).click(50, 60)
    s.events[0] = MotionEvent(10, 10, 1000, tag="m1000")
    (rec,) = fold(s.events)
    assert rec.action == Click(x=50, y=60, count=2) and rec.tag == "m1000"
