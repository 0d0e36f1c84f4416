import pytest

from kimicua.tasks.metrics import thunderbird as m


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


PREFS = """// Mozilla User Preferences
user_pref("mail.server.default.applyIncomingFilters", true);
user_pref("mail.imap.use_status_for_biff", false);
user_pref("extensions.activeThemeID", "thunderbird-compact-dark@mozilla.org");
user_pref("mail.identity.id1.htmlSigText", "Anonym\\nXYZ Lab");
user_pref("mail.server.default.autosync_offline_stores", true);
"""


def test_check_thunderbird_prefs(tmp_path):
    prefs = write(tmp_path / "prefs.js", PREFS)
    rules = {"expect": {"mail.server.default.applyIncomingFilters": {"method": "eq", "ref": True},
                        "mail.imap.use_status_for_biff": {"method": "eq", "ref": False}},
             "unexpect": {"mail.server.default.autosync_offline_stores": {"method": "eq", "ref": False}}}
    assert m.check_thunderbird_prefs(prefs, rules) == 1.0
    assert m.check_thunderbird_prefs(prefs, {"expect": {"extensions.activeThemeID": {"method": "re", "ref": "dark"}}}) == 1.0
    assert m.check_thunderbird_prefs(prefs, {"expect": {"mail.identity.id1.htmlSigText": {
        "method": "re.S", "ref": "Anonym\\nXYZ Lab"}}}) == 1.0
    # An expected pref that is not in the file fails; so does a forbidden value.
    assert m.check_thunderbird_prefs(prefs, {"expect": {"mail.identity.id1.auto_quote": {"method": "eq", "ref": False}}}) == 0.0
    assert m.check_thunderbird_prefs(prefs, {"unexpect": {"mail.server.default.autosync_offline_stores": {
        "method": "eq", "ref": True}}}) == 0.0
    assert m.check_thunderbird_prefs(None, rules) == 0.0
    broken = write(tmp_path / "broken.js", PREFS + 'user_pref("x.y", undefined);\n')
    with pytest.raises(ValueError):
        m.check_thunderbird_prefs(broken, rules)


FILTERS = """version="9"
logging="no"
name="Promotions"
enabled="yes"
type="17"
action="Move to folder"
actionValue="mailbox://nobody@Local%20Folders/Promotions"
condition="AND (subject,contains,discount)"
name="Forward all"
enabled="no"
type="17"
action="Forward"
actionValue="anonym-x2024@gmail.com"
condition="ALL"
"""


def test_check_thunderbird_filter(tmp_path):
    path = write(tmp_path / "msgFilterRules.dat", FILTERS)
    filters = m.read_filters(path)
    assert [f["name"] for f in filters] == ["Promotions", "Forward all"]
    assert filters[0]["condition"] == ["AND (subject,contains,discount)"] and filters[1]["condition"] == ["ALL"]
    move = {"enabled": "yes", "action": "Move to folder", "actionValue": "mailbox://nobody@Local%20Folders/Promotions",
            "condition": ["AND (subject,contains,discount)"]}
    assert m.check_thunderbird_filter(path, {"expect": [move]}) == 1.0
    forward = {"enabled": "yes", "action": "Forward", "actionValue": "anonym-x2024@gmail.com", "condition": ["ALL"]}
    assert m.check_thunderbird_filter(path, {"expect": [forward]}) == 0.0  # that filter is disabled
    assert m.check_thunderbird_filter(path, {"expect": [move], "unexpect": [{"action": "Forward"}]}) == 0.0
    assert m.check_thunderbird_filter(None, {"expect": [move]}) == 0.0


def mbox(*messages):
    return "".join(f"FROM - Mon Jan 1 00:00:00 2024\nX-Mozilla-Status: {status}\nSubject: {subject}\n\nbody\n"
                   for subject, status in messages)


def test_check_thunderbird_folder(tmp_path):
    gold = write(tmp_path / "Bills_gold", mbox(("A", "0001"), ("B", "0001")))
    reordered = write(tmp_path / "Bills", mbox(("B", "0001"), ("A", "0001"), ("A", "0001"), ("C", "0009")))
    assert m.check_thunderbird_folder(reordered, gold) == 1.0  # duplicates and deleted messages dropped
    assert m.check_thunderbird_folder(reordered, gold, remove_deleted=False) == 0.0
    assert m.check_thunderbird_folder(reordered, gold, remove_duplicate=False) == 0.0
    missing = write(tmp_path / "Bills2", mbox(("A", "0001")))
    assert m.check_thunderbird_folder([reordered, missing], [gold, gold]) == 0.0
    assert m.check_thunderbird_folder([reordered, reordered], [gold, gold]) == 1.0
    read = write(tmp_path / "Bills3", mbox(("A", "0000"), ("B", "0001")))
    assert m.check_thunderbird_folder(read, gold) == 0.0
    assert m.check_thunderbird_folder(read, gold, ignore_status=True) == 1.0
    assert m.check_thunderbird_folder([None], [gold]) == 0.0
