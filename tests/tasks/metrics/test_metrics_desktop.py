import pytest

from kimicua.tasks.metrics import desktop as m

TIMEDATECTL = """               Local time: Thu 2024-01-25 12:56:06 {zone}
           Universal time: Thu 2024-01-25 12:56:06 UTC
                 RTC time: Thu 2024-01-25 12:56:05
                Time zone: {name} ({zone}, {offset})
System clock synchronized: yes
"""


def test_is_utc_0():
    assert m.is_utc_0(TIMEDATECTL.format(zone="WET", name="Atlantic/Faroe", offset="+0000")) == 1.0
    assert m.is_utc_0(TIMEDATECTL.format(zone="CET", name="Europe/Paris", offset="+0100")) == 0.0
    with pytest.raises(ValueError):
        m.is_utc_0("Failed to connect to bus")


def test_is_in_vm_clickboard():
    assert m.is_in_vm_clickboard({"expected": "/home/user/Data3/List3/secret.docx"},
                                 "/home/user/Data3/List3/secret.docx") == 1.0
    assert m.is_in_vm_clickboard({"expected": "/home/user/Data3/List3/secret.docx"}, "/home/user/Data3") == 0.0
    assert m.is_in_vm_clickboard({"expected": ["a", "b"]}, "a and b") == 1.0
    assert m.is_in_vm_clickboard({"expected": ["a", "c"]}, "a and b") == 0.0


def test_check_gnome_favorite_apps():
    rule = {"expected": ["google-chrome.desktop", "thunderbird.desktop"]}
    assert m.check_gnome_favorite_apps("['thunderbird.desktop', 'google-chrome.desktop']\n", rule) == 1.0
    assert m.check_gnome_favorite_apps("['thunderbird.desktop', 'google-chrome.desktop', 'vim.desktop']\n", rule) == 0.0
    assert m.check_gnome_favorite_apps("['thunderbird.desktop', 'thunderbird.desktop']", rule) == 0.0
    with pytest.raises(ValueError):
        m.check_gnome_favorite_apps("__import__('os').system('true')", rule)  # parsed, never run


def test_check_moved_jpgs():
    rule = {"expected": ["emnlp2023.jpg", "hk_group_photo.jpg"]}
    tree = {"name": "cpjpg", "type": "directory", "children": [{"name": "hk_group_photo.jpg", "type": "file"},
                                                               {"name": "emnlp2023.jpg", "type": "file"}]}
    assert m.check_moved_jpgs(tree, rule) == 1.0
    assert m.check_moved_jpgs(["emnlp2023.jpg", "hk_group_photo.jpg"], rule) == 1.0
    assert m.check_moved_jpgs(["emnlp2023.jpg"], rule) == 0.0
    assert m.check_moved_jpgs({"children": [{"name": "x.jpg"}, {"name": "emnlp2023.jpg"}]}, rule) == 0.0


TREE = """<desktop-frame xmlns:attr="https://accessibility.ubuntu.example.org/ns/attributes"
    xmlns:st="https://accessibility.ubuntu.example.org/ns/state" name="main">
  <application name="Thunderbird">
    <page-tab-list attr:id="tabmail-tabs">
      <page-tab name="About Profiles" st:selected="true">About Profiles</page-tab>
    </page-tab-list>
    <tool-bar attr:id="MsgHeadersToolbar">
      <label name="To">To</label>
      <section attr:class="address-pill"><label attr:class="pill-label" name="fox@someuniversity.edu">fox</label></section>
      <section attr:class="address-pill"><label attr:class="pill-label" name="iron@someuniversity.edu">iron</label></section>
    </tool-bar>
    <entry name="Email address">anonym-x2024@outlook.com</entry>
  </application>
</desktop-frame>"""


def pill(address):
    return {"selectors": ['tool-bar[attr|id=MsgHeadersToolbar] label[name=To]~[attr|class="address-pill"]'
                          f'>label[attr|class="pill-label"][name*="{address}"]']}


def test_check_accessibility_tree_css_selectors():
    pytest.importorskip("cssselect")
    assert m.check_accessibility_tree(TREE, [pill("fox@someuniversity.edu"), pill("iron@someuniversity.edu")]) == 1.0
    assert m.check_accessibility_tree(TREE, [pill("fox@someuniversity.edu"), pill("nancy@someuniversity.edu")]) == 0.0
    tab = {"selectors": ['application[name=Thunderbird] page-tab-list[attr|id="tabmail-tabs"]>page-tab[name="About Profiles"]']}
    assert m.check_accessibility_tree(TREE, [tab]) == 1.0


def test_check_accessibility_tree_xpath_and_text():
    account = {"xpath": "//application[@name='Thunderbird']//*[contains(text(), 'anonym-x2024@outlook.com') "
                        "or contains(@name, 'anonym-x2024@outlook.com')]"}
    password = {"xpath": "//application[@name='Thunderbird']//*[contains(@name, 'password') or contains(@name, 'Password')]"}
    assert m.check_accessibility_tree(TREE, [account]) == 1.0
    assert m.check_accessibility_tree(TREE, [account, password]) == 0.0
    assert m.check_accessibility_tree(TREE, [{"xpath": "//entry", "text": "anonym-x2024@outlook.com"}]) == 1.0
    assert m.check_accessibility_tree(TREE, [{"xpath": "//entry", "text": "anonym@outlook.com"}]) == 0.0
    fuzzy = m.check_accessibility_tree(TREE, [{"xpath": "//entry", "text": "anonym-x2024@outlook.co", "exact": False}])
    assert 0.9 < fuzzy < 1.0
    with pytest.raises(ValueError):
        m.check_accessibility_tree(TREE, [{"text": "x"}])
