"""Every call that OSWorld's task files make to the non-office metrics binds to our
functions: the same positional arguments (result, and expected when the task has one)
and every option name."""

from kimicua.tasks.metrics import METRICS
from metric_calls import calls, needs_tasks, unbound

NON_OFFICE = """compare_images check_structure_sim check_structure_sim_with_threshold check_structure_sim_resized
check_brightness_decrease_and_structure_sim check_contrast_increase_and_structure_sim
check_saturation_increase_and_structure_sim check_palette_and_structure_sim check_image_mirror
check_green_background check_image_size check_image_file_size compare_image_list check_moved_jpgs
check_file_exists_and_structure_sim compare_image_text compare_audios compare_videos check_mp3_meta
compare_archive compare_zip_files check_list check_python_file_by_test_suite check_line_number
compare_python_pure_text run_sqlite3 fuzzy_place_math check_json_settings check_json check_json_keybindings
check_config_status compare_config is_expected_tabs is_expected_bookmarks is_extension_installed
is_expected_search_query is_cookie_deleted check_history_deleted is_expected_active_tab_approximate
is_expected_installed_extensions compare_htmls check_thunderbird_prefs check_thunderbird_folder
check_thunderbird_filter is_vlc_playing is_vlc_recordings_folder is_vlc_fullscreen check_qt_slider_colours
check_qt_bgcone check_qt_minimal_view check_qt_max_volume check_play_and_exit
check_one_instance_when_started_from_file check_global_key_play_pause is_in_vm_clickboard is_utc_0
check_gnome_favorite_apps is_shortcut_on_desktop is_added_to_steam_cart check_accessibility_tree""".split()


def test_every_non_office_metric_is_registered():
    assert [name for name in NON_OFFICE if name not in METRICS] == []


@needs_tasks
def test_every_task_call_binds():
    seen = list(calls(NON_OFFICE))
    assert len(seen) > 90
    assert unbound(seen) == []
