import json

import pytest

from kimicua.tasks.metrics import configs as m


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_json_settings(tmp_path):
    settings = write(tmp_path / "settings.json", json.dumps({"files.autoSave": "afterDelay", "files.autoSaveDelay": 500,
                                                            "files.exclude": {"**/__pycache__": True, "x": False}}))
    assert m.check_json_settings(settings, {"expected": {"files.autoSave": "afterDelay", "files.autoSaveDelay": 500}}) == 1.0
    assert m.check_json_settings(settings, {"expected": {"files.autoSaveDelay": 1000}}) == 0.0
    assert m.check_json_settings(settings, {"expected": {"editor.wordWrapColumn": 50}}) == 0.0
    # A nested value must be equal as a whole, not a subset.
    assert m.check_json_settings(settings, {"expected": {"files.exclude": {"**/__pycache__": True}}}) == 0.0
    assert m.check_json_settings(write(tmp_path / "bad.json", "{"), {"expected": {}}) == 0.0
    assert m.check_json_settings(None, {"expected": {}}) == 0.0


def test_check_json_keybindings_skips_a_comment_line(tmp_path):
    binding = {"key": "ctrl+j", "command": "workbench.action.focusActiveEditorGroup", "when": "terminalFocus"}
    path = write(tmp_path / "keybindings.json", "// Place your key bindings in this file\n" + json.dumps([binding]))
    assert m.check_json_keybindings(path, {"expected": binding}) == 1.0
    assert m.check_json_keybindings(path, {"expected": {**binding, "when": "editorFocus"}}) == 0.0
    assert m.check_json_keybindings(write(tmp_path / "obj.json", "{}"), {"expected": binding}) == 0.0
    assert m.check_json_keybindings(None, {"expected": binding}) == 0.0


def test_check_json_value_rules(tmp_path):
    manifest = write(tmp_path / "manifest.json", json.dumps({
        "name": "happy-extension", "version": "0.0.1", "background": {"scripts": ["background_script.js"]}}))
    rules = {"expect": [{"key": ["name"], "method": "eq", "ref": "happy-extension"},
                        {"key": ["background", "scripts"], "method": "eq", "ref": ["background_script.js"]}]}
    assert m.check_json(manifest, rules) == 1.0
    assert m.check_json(manifest, {"expect": [{"key": ["version"], "method": "eq", "ref": "1.0"}]}) == 0.0
    assert m.check_json(manifest, {"expect": [{"key": ["author"], "method": "eq", "ref": "x"}]}) == 0.0
    assert m.check_json(manifest, {"unexpect": [{"key": ["name"], "method": "re", "ref": "happy"}]}) == 0.0
    assert m.check_json(manifest, {"unexpect": [{"key": ["author"], "method": "eq", "ref": None}]}) == 1.0
    xul = write(tmp_path / "xulstore.json", json.dumps({"chrome://messenger/content/messenger.xhtml": {
        "folderTree": {"mode": "all,smart"}}}))
    rule = {"key": ["chrome://messenger/content/messenger.xhtml", "folderTree", "mode"], "method": "re", "ref": r"\bsmart\b"}
    assert m.check_json(xul, {"expect": [rule]}) == 1.0
    assert m.check_json(None, rules) == 0.0


def test_check_json_reads_yaml(tmp_path):
    config = write(tmp_path / "_config.yml", "name: Test Account\nauthor:\n  name: Test Account\n  email: Test@gmail.com\n")
    rules = {"expect": [{"key": ["author", "email"], "method": "eq", "ref": "Test@gmail.com"}]}
    assert m.check_json(config, rules, is_yaml=True) == 1.0
    assert m.check_json(config, {"expect": [{"key": ["author", "name"], "method": "eq", "ref": "Other"}]}, is_yaml=True) == 0.0


def test_compare_config_containment_by_default(tmp_path):
    settings = write(tmp_path / "settings.json", '{"workbench.colorTheme": "Visual Studio Dark", "editor.fontSize": 14}')
    rule = {"expected": '{"workbench.colorTheme": "Visual Studio Dark"}\n'}
    assert m.compare_config(settings, rule, containment_ok=True) == 1.0
    assert m.compare_config(settings, {"expected": '{"workbench.colorTheme": "Default Light"}'}) == 0.0
    opened = write(tmp_path / "OpenProject.txt", "project\n")
    assert m.compare_config(opened, {"expected": "project"}) == 1.0  # not JSON: text containment
    assert m.compare_config(opened, {"expected": "other"}) == 0.0


def test_compare_config_strict(tmp_path):
    settings = write(tmp_path / "settings.json", '{"a": 1, "b": 2}')
    assert m.compare_config(settings, {"expected": '{"a": 1}'}, containment_ok=False) == 0.0
    assert m.compare_config(settings, {"expected": '{"b": 2,  "a": 1}'}, containment_ok=False) == 1.0
    assert m.compare_config(settings, {"expected": '{"a": 1, "b": 2}'}, containment_ok=False) == 1.0
    assert m.compare_config(None, {"expected": "x"}) == 0.0
    assert m.compare_config(settings, {"expected": ""}) == 0.0


def test_is_extension_installed():
    assert m.is_extension_installed("ms-python.python\n", {"type": "contain", "expected": "ms-python.python"}) == 1.0
    assert m.is_extension_installed("", {"type": "contain", "expected": "ms-python.python"}) == 0.0
    assert m.is_extension_installed("", {"type": "not_contain", "expected": "x"}) == 1.0
    with pytest.raises(ValueError):
        m.is_extension_installed("", {"type": "regex", "expected": "x"})


def test_check_config_status(tmp_path):
    gimprc = write(tmp_path / "gimprc", "# GIMP gimprc\n\n(theme \"Light\")\n(undo-levels 100)\n"
                                        "(session-info \"toplevel\"\n    (factory-entry \"gimp-toolbox\"))\n")
    assert m.check_config_status(gimprc, {"type:": "key-value", "key": "theme", "value": '"Light"'}) == 1.0
    assert m.check_config_status(gimprc, {"key": "undo-levels", "value": "100"}) == 1.0
    assert m.check_config_status(gimprc, {"key": "undo-levels", "value": "5"}) == 0.0
    assert m.check_config_status(gimprc, {"key": ["factory-entry", '"gimp-toolbox"'], "value": '"gimp-toolbox"'}) == 1.0
    sessionrc = write(tmp_path / "sessionrc", "(hide-docks yes)\n")
    assert m.check_config_status(sessionrc, {"key": "hide-docks", "value": "yes"}) == 1.0
    assert m.check_config_status(None, {"key": "x", "value": "y"}) == 0.0
