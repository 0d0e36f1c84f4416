from kimicua.tasks.metrics import vlc as m


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def status(state, **meta):
    infos = "".join(f'<info name="{k}">{v}</info>' for k, v in meta.items())
    return f'<?xml version="1.0" encoding="utf-8"?><root><state>{state}</state><information>' \
           f'<category name="meta">{infos}</category></information></root>'


SONG = "Rick Astley - Never Gonna Give You Up (Official Music Video).mp4"


def test_is_vlc_playing_by_file_name(tmp_path):
    rule = {"type": "file_name", "file_name": SONG}
    assert m.is_vlc_playing(write(tmp_path / "s.xml", status("playing", filename=SONG)), rule) == 1.0
    assert m.is_vlc_playing(write(tmp_path / "p.xml", status("playing", filename=f"/home/user/{SONG}")), rule) == 1.0
    assert m.is_vlc_playing(write(tmp_path / "x.xml", status("paused", filename=SONG)), rule) == 0.0
    assert m.is_vlc_playing(write(tmp_path / "o.xml", status("playing", filename="other.mp4")), rule) == 0.0
    assert m.is_vlc_playing(write(tmp_path / "n.xml", status("playing")), rule) == 0.0


def test_is_vlc_playing_by_url(tmp_path):
    url = "https://devstreaming-cdn.apple.com/videos/streaming/examples/img_bipbop_adv_example_fmp4/master.m3u8"
    rule = {"type": "url", "url": url}
    assert m.is_vlc_playing(write(tmp_path / "a.xml", status("playing", url=url)), rule) == 1.0
    assert m.is_vlc_playing(write(tmp_path / "b.xml", status("playing", filename="master.m3u8")), rule) == 1.0
    assert m.is_vlc_playing(write(tmp_path / "c.xml", status("playing", filename="other.m3u8")), rule) == 0.0


VLCRC = """[qt] # Qt interface
# Show background cone (boolean)
#qt-bgcone=1
qt-bgcone=0
#qt-max-volume=125
#qt-slider-colours=153;210;153;20;210;20;255;199;15;245;39;29
qt-slider-colours=0;0;0;20;20;20;30;30;30;99;1;2
# Play/Pause (string)
global-key-play-pause=Ctrl+Space
#one-instance-when-started-from-file=1
input-record-path=/home/user/Desktop
"""


def test_vlcrc_checks(tmp_path):
    rc = write(tmp_path / "vlcrc", VLCRC)
    assert m.check_qt_bgcone(rc, {"expected_qt_bgcone": 0}) == 1.0
    assert m.check_qt_bgcone(rc, {"expected_qt_bgcone": 1}) == 0.0
    assert m.check_qt_max_volume(rc, {"expected_qt_max_volume": 125}) == 1.0  # the commented default counts
    assert m.check_qt_max_volume(rc, {"expected_qt_max_volume": 200}) == 0.0
    assert m.check_qt_minimal_view(rc, {"expected_qt_minimal_view": 0}) == 1.0  # never mentioned: VLC's default
    assert m.check_play_and_exit(rc, {"expected_play_and_exit": 0}) == 1.0
    assert m.check_one_instance_when_started_from_file(rc, {"expected_one_instance_when_started_from_file": 0}) == 0.0
    assert m.check_global_key_play_pause(rc, {"expected_global_key_play_pause": 1}) == 1.0
    assert m.check_global_key_play_pause(write(tmp_path / "e", "global-key-play-pause=\n"),
                                         {"expected_global_key_play_pause": 1}) == 0.0
    assert m.is_vlc_recordings_folder(rc, {"recording_file_path": "/home/user/Desktop"}) == 1.0
    assert m.is_vlc_recordings_folder(rc, {"recording_file_path": "/home/user/Videos"}) == 0.0
    assert m.is_vlc_recordings_folder(write(tmp_path / "d", "#input-record-path=/x\n"),
                                      {"recording_file_path": "/x"}) == 0.0


def test_check_qt_slider_colours(tmp_path):
    rc = write(tmp_path / "vlcrc", VLCRC)
    assert m.check_qt_slider_colours(rc, {"type": "blackish"}) == 1.0
    light = write(tmp_path / "light", "qt-slider-colours=0;0;0;200;20;20\n")
    assert m.check_qt_slider_colours(light, {"type": "blackish"}) == 0.0
    assert m.check_qt_slider_colours(write(tmp_path / "none", ""), {"type": "blackish"}) == 0.0  # default is green
    assert m.check_qt_slider_colours(light, {"type": "match", "expected_qt_slider_colours": "0;0;0;200;20;20"}) == 1.0


def test_is_vlc_fullscreen():
    screen = {"width": 1920, "height": 1080}
    assert m.is_vlc_fullscreen({"width": 1920, "height": 1080}, screen) == 1.0
    assert m.is_vlc_fullscreen({"width": 1920, "height": 1050}, screen) == 0.0
    assert m.is_vlc_fullscreen(None, screen) == 0.0
