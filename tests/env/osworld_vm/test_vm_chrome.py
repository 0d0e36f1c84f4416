"""The VM's Chrome over CDP, on the loopback VM (its google-chrome is Chromium and its
socat a relay): started through /setup/launch as OSWorld's setup does, tabs opened by
setup steps, the front tab's URL, page JavaScript and element boxes on the screen."""

from __future__ import annotations

import pytest

from kimicua.env import EnvError
from kimicua.env.actions import Click, Navigate
from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.local import active_tab_url, page_eval
from kimicua.tasks.schema import SetupStep
from kimicua.tasks.setup import run_steps

pytestmark = [pytest.mark.display, pytest.mark.browser, pytest.mark.slow]

PAGE = ("<title>vm page</title><button id=b style='margin:100px'>hi</button>"
        "<script>window.log = []; addEventListener('click', e => log.push([e.screenX, e.screenY]))</script>")


def test_no_chrome_until_one_is_asked_for(vm_env):
    assert vm_env.page_url() is None and vm_env.observe().url is None
    with pytest.raises(EnvError, match="open_tabs first"):
        vm_env.evaluate("1")


def test_setup_opens_tabs_in_the_vms_chrome_and_getters_read_them(vm_env, loopback_vm, tmp_path):
    (tmp_path / "page.html").write_text(PAGE)
    vm_env.put_file(tmp_path / "page.html", "~/page.html")
    ctx = RunContext(tmp_path / "work", home=vm_env.home, screen=vm_env.screen)
    run_steps([SetupStep(type="launch", parameters={"command": ["google-chrome", "--remote-debugging-port=1337"]}),
               SetupStep(type="chrome_open_tabs", parameters={"urls_to_open": ["about:blank#first",
                                                                              "file:///home/user/page.html"]})],
              vm_env, ctx)
    assert ("POST", "/setup/launch") in loopback_vm.calls  # Chrome and its relay, on the VM
    assert active_tab_url(vm_env, ctx, {}) == "file:///home/user/page.html" == vm_env.observe().url
    assert page_eval(vm_env, ctx, {"expression": "document.title"}) == "vm page"
    assert any("vm page" in w.name for w in vm_env.windows())


def test_element_boxes_are_screen_pixels_that_clicks_hit(vm_env):
    x, y, w, h = vm_env.element_box("#b")
    assert vm_env.step(Click(x=x + w / 2, y=y + h / 2))[4]["result"].ok
    (sx, sy), = vm_env.evaluate("window.log")
    assert abs(sx - (x + w / 2)) <= 1 and abs(sy - (y + h / 2)) <= 1


def test_navigate_goes_through_cdp_and_reset_lets_go(vm_env):
    _, _, _, _, info = vm_env.step(Navigate(url="about:blank#navigated"))
    assert info["result"].ok and vm_env.page_url() == "about:blank#navigated"
    vm_env.reset()  # disconnects; the VM's Chrome keeps running, as in OSWorld
    assert vm_env.page_url() is None
    assert vm_env.chrome(start=False) is not None  # found again without starting another
    assert vm_env.page_url() == "about:blank#navigated"
