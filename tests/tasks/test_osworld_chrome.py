"""OSWorld's Chrome tasks and getters on the local desktop's Chromium, over CDP, with
loopback pages in place of the web: tabs closed by setup and restored by the agent,
a bookmark that reaches the profile through postconfig's ``pkill chrome``, and the
page getters on pages of known content."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from kimicua.env.actions import Done, Hotkey, Key
from kimicua.tasks.context import RunContext
from kimicua.tasks.getters import GETTERS
from kimicua.tasks.run import TaskRun
from kimicua.tasks.schema import parse_task
from osworld_files import OSWORLD, FileServer, task_file

DISPLAY_TOOLS = ("Xvfb", "xauth", "xdotool", "wmctrl", "openbox", "bwrap")
pytestmark = [pytest.mark.display, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.skipif(not OSWORLD.is_dir(), reason="OSWorld task files not present"),
              pytest.mark.skipif(any(shutil.which(t) is None for t in DISPLAY_TOOLS),
                                 reason=f"needs {', '.join(DISPLAY_TOOLS)}")]


@pytest.fixture(scope="module")
def env():
    from kimicua.env.core import make_env

    with make_env("desktop") as desktop:
        yield desktop


@pytest.fixture
def site(tmp_path):
    files = FileServer(tmp_path / "site")
    yield files
    files.close()


def page(site, name: str, body: str = "") -> str:
    folder = site.root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(f"<title>{name}</title><h1>{name}</h1>{body}")
    return f"{site.url}{name}/"


def chrome_task(task_id: str, site, sites: dict[str, str]):
    """The OSWorld Chrome task with its websites replaced by loopback pages."""
    text = task_file("chrome", task_id).read_text()
    for url, name in sites.items():
        text = text.replace(url, page(site, name))
    return parse_task(json.loads(text))


def score(env, site, task, solution=()) -> float:
    env.reset()
    env.expose_port(int(site.url.rstrip("/").rsplit(":", 1)[1]))
    with TaskRun(task, env) as run:
        run.setup(env)
        played = []
        for action in solution:
            if action == "pause":  # let the bubble or tab settle before the next key
                time.sleep(1.5)
                continue
            _, _, _, _, info = env.step(action)
            assert info["result"].ok, info["result"].error
            played.append(action)
        value = run.evaluate(env, played + [Done()])
        assert not run.last_evaluation.errors, run.last_evaluation.describe()
        return value


def test_a_tab_closed_in_setup_is_restored_by_the_agent(env, site):
    task = chrome_task("06fe7178-4491-4589-810f-2e2bc9502122", site, {
        "https://www.lonelyplanet.com": "lonelyplanet", "https://www.airbnb.com": "airbnb",
        "https://www.tripadvisor.com": "tripadvisor"})
    assert score(env, site, task) == 0.0
    assert score(env, site, task, [Hotkey(keys=("ctrl", "shift", "t")), "pause"]) == 1.0


def test_a_bookmark_reaches_the_profile_through_pkill_chrome(env, site):
    task = chrome_task("7a5a7856-f1b6-42a4-ade9-1ca81ca0f263", site, {
        "https://blog.eleuther.ai/rotary-embeddings/": "rotary",
        "https://jalammar.github.io/illustrated-transformer/": "transformer"})
    assert score(env, site, task) == 0.0
    # Ctrl+D, the folder set to the bookmarks bar, Done.
    bookmark = [Hotkey(keys=("ctrl", "d")), "pause", Key(key="tab"), Key(key="up"), "pause",
                Key(key="tab"), Key(key="tab"), Key(key="enter"), "pause"]
    assert score(env, site, task, bookmark) == 1.0


FORM = """
<div class="route">SEA<div class="sep"></div>NYC</div>
<span class="fare">$120</span><span class="fare">$95</span>
<p>Departure: <b id="when">Mon, Jan 29</b></p>
<input id="q" value=" diamond lake ">
<ul class="cats"><li class="catAllProducts"><span>Shirts</span></li></ul>
<a id="next" href="../details/">more</a>
"""


def test_page_getters_read_known_pages(env, site, tmp_path):
    env.reset()
    env.expose_port(int(site.url.rstrip("/").rsplit(":", 1)[1]))
    page(site, "details", '<p id="info">Lake Diamond, 12 sites</p>')
    start = page(site, "fares", FORM)
    env.open_tabs([start])
    ctx = RunContext(tmp_path / "work")

    def get(name, **spec):
        return GETTERS[name](env, ctx, {"type": name, **spec})

    assert get("open_tabs_info")[-1] == {"title": "fares", "url": start}
    assert get("active_tab_html_parse", category="class", class_singleObject={"fare": "first"},
               class_multiObject={"fare": {"1": "second"}}, class_multiObject_child={"route": {"0": "from", "1": "to"}}) \
        == {"first": "$120", "second": "$95", "from": "SEA", "to": "NYC"}
    assert get("active_tab_html_parse", category="xpath", xpathObject={"//b[@id='when']": "date", "//i": "none"}) \
        == {"date": "Mon, Jan 29", "none": ""}
    assert get("active_tab_html_parse", category="input", inputObject={"//input[@id='q']": "query"}) == \
        {"query": "diamond lake"}
    assert get("active_tab_html_parse", category="class&url", class_multiObject_li={"cats": ["Shirts"]},
               url_include_expected=["fares", "cart"]) == {"shirts": True, "is_other_exist": False,
                                                            "fares": True, "cart": False}
    info = get("page_info", url=start)
    assert info["title"] == "fares" and info["url"] == start and "catAllProducts" in info["content"]
    assert get("info_from_website", url=start, infos=[
        {"action": "inner_text", "selector": "#when"}, {"action": "attribute", "selector": "#next", "attribute": "href"},
        {"action": "click_and_inner_text", "selector": ["#next", "#info"]}], backups=["b"]) == \
        ["Mon, Jan 29", "../details/", "Lake Diamond, 12 sites"]
    assert get("info_from_website", url=start, infos=[{"action": "inner_text", "selector": "#absent"}],
               backups=["backup"]) == ["backup"]
    pdf = get("pdf_from_url", path=start, dest="fares.pdf")
    assert open(pdf, "rb").read(5) == b"%PDF-"
    # The getters' own tabs are closed again: the agent's tabs are as they were.
    assert [t["url"] for t in get("open_tabs_info")][-1] == start and env.page_url() == start


def test_a_profile_prepared_before_chrome_starts_is_the_one_it_uses(env):
    """OSWorld's tasks write Chrome's files under ~/.config/google-chrome before launching
    it; the local Chromium keeps its profile there, and across a restart."""
    bookmarks = {"version": 1, "roots": {
        "bookmark_bar": {"children": [{"name": "Prepared", "type": "url", "url": "http://127.0.0.1:9/p"}],
                         "name": "Bookmarks bar", "type": "folder"},
        "other": {"children": [], "name": "Other bookmarks", "type": "folder"},
        "synced": {"children": [], "name": "Mobile bookmarks", "type": "folder"}}}
    task = parse_task({"id": "prepared-profile", "instruction": "i", "evaluator": {
        "func": "exact_match", "result": {"type": "bookmarks"}, "expected": {"type": "rule", "rules": {}}},
        "config": [
            {"type": "execute", "parameters": {"command": "mkdir -p ~/.config/google-chrome/Default",
                                                "shell": True}},
            {"type": "launch", "parameters": {"command": ["google-chrome", "--remote-debugging-port=1337"]}}]})
    env.reset()
    with TaskRun(task, env) as run:
        source = run.workdir / "Bookmarks"  # put in place before Chrome starts, as a download step does
        source.write_text(json.dumps(bookmarks))
        env.put_file(source, "~/.config/google-chrome/Default/Bookmarks")
        run.setup(env)
        got = GETTERS["bookmarks"](env, run.ctx, {"type": "bookmarks"})
    names = [b["name"] for b in got["bookmark_bar"]["children"]]
    assert names == ["Prepared"]
