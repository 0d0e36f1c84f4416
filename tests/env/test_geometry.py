import pytest
from hypothesis import given
from hypothesis import strategies as st

from kimicua.env.geometry import Frame, OutsideScreen, Size, Space, pixel

SIZES = st.one_of(
    st.sampled_from([Size(1920, 1080), Size(3840, 2160), Size(1366, 768), Size(1, 1), Size(1279, 719)]),
    st.builds(Size, st.integers(1, 8000), st.integers(1, 8000)),
)


@st.composite
def frames(draw):
    screen = draw(SIZES)
    scale = draw(st.sampled_from([1, 1.25, 1.5, 2]))
    physical = Size(max(1, round(screen.width * scale)), max(1, round(screen.height * scale)))
    image = draw(SIZES)
    padded = Size(-(-image.width // 28) * 28, -(-image.height // 28) * 28)
    return Frame(screen=screen, physical=physical, image=image, padded=padded)


def _close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@given(frame=frames(), fx=st.floats(0, 1), fy=st.floats(0, 1),
       src=st.sampled_from(list(Space)), dst=st.sampled_from(list(Space)))
def test_round_trip_between_any_two_spaces(frame, fx, fy, src, dst):
    w, h = frame._extent(src)
    x, y = float(fx * w), float(fy * h)
    there = frame.convert(x, y, src, dst)
    back = frame.convert(*there, dst, src)
    assert _close(back[0], x) and _close(back[1], y)


@given(frame=frames(), px=st.integers(0, 7999), py=st.integers(0, 7999))
def test_integer_screen_pixels_survive_relative_round_trip(frame, px, py):
    px, py = px % frame.screen.width, py % frame.screen.height
    rel = frame.from_screen(px, py, Space.RELATIVE)
    x, y = frame.to_screen(*rel, Space.RELATIVE)
    assert (round(x), round(y)) == (px, py) and _close(x, px) and _close(y, py)


@given(frame=frames(), space=st.sampled_from(list(Space)),
       over=st.floats(1e-6, 10), axis=st.sampled_from("xy"))
def test_points_outside_are_typed_errors(frame, space, over, axis):
    w, h = frame._extent(space)
    point = (float(w) * (1 + over), 0.0) if axis == "x" else (0.0, float(h) * (1 + over))
    with pytest.raises(OutsideScreen):
        frame.to_screen(*point, space)
    with pytest.raises(OutsideScreen):
        frame.to_screen(-over, 0.0, space)


def test_known_values():
    f = Frame(screen=Size(1920, 1080), image=Size(1196, 672), padded=Size(1204, 672))
    assert f.to_screen(0.5, 0.5, Space.RELATIVE) == (960.0, 540.0)
    assert f.to_screen(500, 500, "relative1000") == (960.0, 540.0)
    assert f.to_screen(598, 336, Space.IMAGE) == (960.0, 540.0)
    # A point in the right padding of the model's image is not on the screen.
    with pytest.raises(OutsideScreen, match="image space"):
        f.to_screen(1200, 10, Space.IMAGE)


def test_high_dpi_physical_and_logical():
    f = Frame(screen=Size(1280, 800), physical=Size(2560, 1600))
    assert f.scale == 2.0
    assert f.to_screen(2000, 1000, Space.PHYSICAL) == (1000.0, 500.0)
    assert f.from_screen(1000, 500, Space.PHYSICAL) == (2000.0, 1000.0)


def test_image_space_needs_image_size():
    with pytest.raises(ValueError, match="image space needs"):
        Frame(screen=Size(10, 10)).to_screen(1, 1, Space.IMAGE)


def test_size_parse_and_pixel():
    assert Size.parse("3840x2160") == Size(3840, 2160)
    with pytest.raises(ValueError, match="expected a size like 1920x1080, got 'big'"):
        Size.parse("big")
    with pytest.raises(ValueError):
        Size(0, 5)
    assert pixel(1920.0, 1920) == 1919 and pixel(959.6, 1920) == 959
