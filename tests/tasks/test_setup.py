import pytest

from kimicua.env.core import Window
from kimicua.tasks.context import RunContext
from kimicua.tasks.pages import PageServer
from kimicua.tasks.schema import SetupStep
from kimicua.tasks.setup import SetupError, UnsupportedStep, run_step, run_steps
from task_fakes import FakeEnv


def step(type_, **parameters):
    return SetupStep(type=type_, parameters=parameters)


@pytest.fixture
def env():
    return FakeEnv()


@pytest.fixture
def ctx(tmp_path, env):
    # {workdir} is the env's home; file:// sources may come from the test's own folder.
    return RunContext(tmp_path / "work", pages="http://127.0.0.1:9", home=env.home, files=(tmp_path,))


def test_launch_command_forms(ctx, env):
    run_step(step("launch", command="xterm -title 'My term'"), env, ctx)
    run_step(step("launch", command=["xterm", "-e", "~/x"]), env, ctx)
    run_step(step("launch", command="sleep 1 && xterm", shell=True), env, ctx)
    assert env.launched == [
        (["xterm", "-title", "My term"], False),
        (["xterm", "-e", env.home + "/x"], False),  # OSWorld expands a leading ~/ to the VM user's home
        ("sleep 1 && xterm", True),
    ]


def test_launch_of_a_missing_program_names_it(ctx, env):
    with pytest.raises(SetupError, match="launch: program 'no-such-program-kimicua' is not installed"):
        run_step(step("launch", command=["no-such-program-kimicua", "--flag"]), env, ctx)


def test_google_chrome_is_the_envs_chromium_and_its_cdp_relay_a_no_op(ctx, env):
    # OSWorld launches Chrome with DevTools on 1337 and relays 9222 to it with socat.
    run_step(step("launch", command=["google-chrome", "--remote-debugging-port=1337", "http://x.test/a"]), env, ctx)
    run_step(step("launch", command=["socat", "tcp-listen:9222,fork", "tcp:localhost:1337"]), env, ctx)
    assert env.tabs == ["http://x.test/a"] and env.launched == []


def test_execute_and_command_run_to_completion_with_placeholders(ctx, env):
    home = env.host_path(env.home)
    run_step(step("execute", command=["touch", "{workdir}/a.txt"]), env, ctx)
    run_step(step("command", command="echo {SCREEN_WIDTH} > {workdir}/b.txt", shell=True),
             env, RunContext(ctx.workdir, screen=env.screen, home=env.home))
    run_step(step("execute", command="echo out; echo err >&2", shell=True, stdout="o.txt", stderr="e.txt"), env, ctx)
    assert (home / "a.txt").exists()
    assert (home / "b.txt").read_text() == "1280\n"
    assert (ctx.cache / "o.txt").read_text() == "out\n" and (ctx.cache / "e.txt").read_text() == "err\n"


def test_sleep_and_activate_window(ctx, monkeypatch):
    slept = []
    monkeypatch.setattr("kimicua.tasks.setup.time.sleep", slept.append)
    env = FakeEnv(window_list=[Window(1, "notes.txt - Mousepad", "mousepad", 0, 0, 10, 10)])
    run_step(step("sleep", seconds=2), env, ctx)
    assert slept == [2.0]
    run_step(step("activate_window", window_name="notes.txt"), env, ctx)
    assert env.focused == "notes.txt - Mousepad"
    monkeypatch.setattr("kimicua.tasks.setup.WINDOW_TIMEOUT_S", 0.0)
    with pytest.raises(SetupError, match="activate_window: no window matching 'Gedit'"):
        run_step(step("activate_window", window_name="Gedit"), env, ctx)
    with pytest.raises(SetupError, match="no window matching 'notes.txt'"):
        run_step(step("activate_window", window_name="notes.txt", strict=True), env, ctx)


def test_open_picks_an_app_by_file_type_and_waits_for_its_window(ctx, tmp_path):
    text, page = tmp_path / "notes.txt", tmp_path / "page.html"
    text.write_text("x")
    page.write_text("<p>x</p>")
    env = FakeEnv(window_list=[Window(1, "notes.txt - Mousepad", "m", 0, 0, 9, 9),
                               Window(2, "page.html - Chromium", "c", 0, 0, 9, 9)])
    run_step(step("open", path=str(text)), env, ctx)
    run_step(step("open", path=str(page)), env, ctx)
    assert env.launched == [(["mousepad", str(text)], False)]
    assert env.tabs == [page.as_uri()]  # the env's own browser, so page getters work
    browser = FakeEnv(kind="browser")
    run_step(step("open", path=str(page)), browser, ctx)
    assert browser.tabs == [page.as_uri()]
    with pytest.raises(SetupError, match="open: no such file"):
        run_step(step("open", path=str(tmp_path / "nope.txt")), env, ctx)


def test_chrome_open_tabs_substitutes_pages(ctx):
    env = FakeEnv(kind="browser")
    run_step(step("chrome_open_tabs", urls_to_open=["{pages}/a.html", "https://example.org"]), env, ctx)
    assert env.tabs == ["http://127.0.0.1:9/a.html", "https://example.org"]


def test_download_from_loopback_and_file_urls(ctx, env, tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("from a file url")
    home = env.host_path(env.home)
    with PageServer() as server:
        run_step(step("download", files=[
            {"url": f"{server.url}/files/hello.txt", "path": "{workdir}/sub/h.txt"},
            {"url": src.as_uri(), "path": "~/f.txt"}]), env, ctx)
        assert (home / "sub" / "h.txt").read_text() == "hello world\n"
        assert (home / "f.txt").read_text() == "from a file url"
        missing = f"{server.url}/files/absent.txt"
        with pytest.raises(SetupError) as err:
            run_step(step("download", files=[{"url": missing, "path": "{workdir}/x"}]), env, ctx)
        assert str(err.value) == f"download: cannot fetch {missing}: HTTP 404 File not found"
        assert not (home / "x").exists() and not (home / "x.part").exists()


def test_download_never_reads_the_machines_files_nor_writes_outside_the_home(ctx, env, tmp_path):
    # Seen: a task file's download copied file:///etc/hostname wherever it named.
    with pytest.raises(SetupError, match="file:// URLs may only name the task's own files"):
        run_step(step("download", files=[{"url": "file:///etc/hostname", "path": "~/h"}]), env, ctx)
    src = tmp_path / "src.txt"
    src.write_text("x")
    target = tmp_path / "elsewhere.txt"
    with pytest.raises(SetupError, match="outside the episode's home"):
        run_step(step("download", files=[{"url": src.as_uri(), "path": str(target)}]), env, ctx)
    # A link planted in the home cannot lead a download out of it either.
    (env.host_path(env.home) / "link").symlink_to(tmp_path)
    with pytest.raises(SetupError, match="outside the episode's home"):
        run_step(step("download", files=[{"url": src.as_uri(), "path": "~/link/out.txt"}]), env, ctx)
    assert not target.exists() and not (tmp_path / "out.txt").exists()


def test_download_of_an_unreachable_url_is_one_line_naming_it(ctx, env):
    url = "http://127.0.0.1:9/data.xlsx"  # discard port: nothing listens
    with pytest.raises(SetupError) as err:
        run_step(step("download", files=[{"url": url, "path": "{workdir}/d.xlsx"}]), env, ctx)
    message = str(err.value)
    assert message.startswith(f"download: cannot fetch {url}: ") and "\n" not in message
    with pytest.raises(SetupError, match="unsupported scheme 'ftp'"):
        run_step(step("download", files=[{"url": "ftp://x/y", "path": "{workdir}/y"}]), env, ctx)


def test_unsupported_and_malformed_steps(ctx):
    with pytest.raises(UnsupportedStep, match="'googledrive' is not supported") as err:
        run_step(step("googledrive", settings_file="x"), FakeEnv(), ctx)
    assert err.value.step_type == "googledrive"
    with pytest.raises(SetupError, match="sleep: unexpected parameter 'minutes'"):
        run_step(step("sleep", minutes=1), FakeEnv(), ctx)
    with pytest.raises(SetupError, match="launch: bad parameters"):
        run_step(step("launch"), FakeEnv(), ctx)


def test_run_steps_stops_at_the_first_failure(ctx):
    env = FakeEnv()
    with pytest.raises(UnsupportedStep):
        run_steps([step("launch", command=["true"]), step("login", platform="x"),
                   step("launch", command=["false"])], env, ctx)
    assert [c for c, _ in env.launched] == [["true"]]


def test_placeholder_without_value_is_a_setup_error(tmp_path):
    with pytest.raises(SetupError, match=r"placeholder \{pages\} has no value"):
        run_step(step("chrome_open_tabs", urls_to_open=["{pages}/a.html"]), FakeEnv(), RunContext(tmp_path))
