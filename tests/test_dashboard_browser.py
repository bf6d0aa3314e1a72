"""`neural-tui dashboard` in a real browser: Debian's headless Chromium, driven by playwright,
opens the page of a real dashboard process, sees the console draw, presses a key and sees the
screen change; each tab is a console process of its own, and none outlives the server.

xterm.js draws on a canvas, so the test reads what the console wrote to the page: the bytes
the page received over its websocket, stripped of escape sequences (and a screenshot says the
canvas was painted). Every request the page makes is recorded, and any to another host is
blocked and recorded apart: the page must make none (no web font from Google, no script from a
CDN), so that it works where the browser has no network but this server's."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, WebSocket, sync_playwright
from realservers import LOOPBACK, POLL_SECONDS, RealServer, free_port, require_binary

pytestmark = pytest.mark.real_server

PAGE_TIMEOUT = 30.0
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]"
                     rb"|\x1b[=>78MDEc]")


def dashboard_process(workdir: Path, *options: str, host: str = LOOPBACK) -> tuple[RealServer, str]:
    """`neural-tui dashboard --demo` of the code under test on a free port, not started yet."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}/"
    argv = [sys.executable, "-m", "neural_tui", "dashboard", "--demo", "--host", host,
            "--port", str(port), *options]
    return RealServer("dashboard", argv, workdir, url), url


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but unreaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def wait_until(what: str, condition: Callable[[], bool], explain: Callable[[], str],
               pause: Callable[[], object] = lambda: time.sleep(POLL_SECONDS)) -> None:
    deadline = time.monotonic() + PAGE_TIMEOUT
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} within {PAGE_TIMEOUT} s; {explain()}")
        pause()


class Tab:
    """One browser page on the dashboard: what its console wrote, as text."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self._received = bytearray()
        self.requests: list[str] = []
        self.blocked: list[str] = []
        """Requests for another host, refused before they leave the browser."""
        self.websockets: list[str] = []
        own = urlsplit(url).netloc

        def only_this_server(route: Route) -> None:
            request_url = route.request.url
            if urlsplit(request_url).netloc == own:
                self.requests.append(request_url)
                route.continue_()
            else:
                self.blocked.append(request_url)
                route.abort()

        page.route("**/*", only_this_server)
        page.on("websocket", self._listen)
        page.goto(url)

    def _listen(self, socket: WebSocket) -> None:
        self.websockets.append(socket.url)
        socket.on("framereceived", self._frame)

    def _frame(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            self._received += payload

    def text(self) -> str:
        """Everything the console wrote so far, without escape sequences."""
        return ESCAPES.sub(b"", bytes(self._received)).decode("utf-8", "replace")

    def mark(self) -> int:
        """Where the text ends now, to look only at what comes after."""
        return len(self.text())

    def wait_for(self, what: str, needle: str, since: int = 0) -> None:
        wait_until(what, lambda: needle in self.text()[since:],
                   lambda: f"the page received:\n{self.text()[since:][-2000:]}",
                   # playwright hands over the frames only while it is called
                   lambda: self.page.wait_for_timeout(POLL_SECONDS * 1000))

    def press(self, key: str) -> None:
        """Focus the terminal (keys reach the console only then) and press `key`."""
        self.page.click("#terminal")
        self.page.keyboard.press(key)


@pytest.fixture
def chromium() -> Iterator[Browser]:
    path = require_binary("chromium", "apt-get install chromium (scripts/install-servers)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=path, headless=True)
        yield browser
        browser.close()


def test_the_console_renders_in_a_browser_offline_and_answers_a_key(
    chromium: Browser, tmp_path: Path
) -> None:
    server, url = dashboard_process(tmp_path)
    server.start()
    try:
        tab = Tab(chromium.new_page(), url)
        tab.wait_for("the overview on demo traffic", "demo traffic")
        assert "Focus Previous" not in tab.text()
        painted = tab.page.screenshot()
        assert len(painted) > 10_000, "the page's screenshot is nearly empty"

        since = tab.mark()
        tab.press("?")
        tab.wait_for("the key help after ?", "Focus Previous", since)

        assert tab.requests, "the page loaded nothing from the dashboard"
        assert all(urlsplit(u).netloc == urlsplit(url).netloc for u in tab.requests)
        assert [urlsplit(u).netloc for u in tab.websockets] == [urlsplit(url).netloc]
    finally:
        server.stop()
    assert "Traceback" not in server.log_tail(200)


def test_the_page_asks_nothing_of_any_host_but_the_dashboard_and_has_its_font_from_it(
    chromium: Browser, tmp_path: Path
) -> None:
    """textual-serve's own page asks fonts.googleapis.com for Roboto Mono; the dashboard's
    takes it from the server, and nothing else leaves for another host either."""
    server, url = dashboard_process(tmp_path)
    server.start()
    try:
        tab = Tab(chromium.new_page(), url)
        tab.wait_for("the overview on demo traffic", "demo traffic")
        tab.page.wait_for_load_state("networkidle")
        fonts = tab.page.evaluate("[...document.fonts].map(f => [f.family, f.status])")
    finally:
        server.stop()
    assert tab.blocked == []
    assert any(u.endswith("/static/fonts/RobotoMono-VariableFont_wght.ttf")
               for u in tab.requests), tab.requests
    assert ["Roboto Mono", "loaded"] in fonts, fonts


def test_each_tab_is_a_console_of_its_own_ended_with_its_tab_or_the_server(
    chromium: Browser, tmp_path: Path
) -> None:
    server, url = dashboard_process(tmp_path)
    server.start()
    consoles: list[int] = []
    try:
        first = Tab(chromium.new_page(), url)
        second = Tab(chromium.new_page(), url)
        first.wait_for("the first tab's console", "demo traffic")
        second.wait_for("the second tab's console", "demo traffic")
        consoles = children(server.pid)
        assert len(consoles) == 2, [command_line(pid) for pid in consoles]

        since = first.mark()
        first.press("?")
        first.wait_for("the key help in the first tab", "Focus Previous", since)
        assert "Focus Previous" not in second.text()
    finally:
        server.stop()
    wait_until("every tab's console to end with the server",
               lambda: not any(alive(pid) for pid in consoles),
               lambda: f"still running: {[p for p in consoles if alive(p)]}")


def test_beyond_loopback_each_tab_is_readonly_unless_writes_are_allowed(
    chromium: Browser, tmp_path: Path
) -> None:
    for options, readonly in (((), True), (("--allow-writes",), False)):
        server, url = dashboard_process(tmp_path, *options, host="0.0.0.0")
        server.start()
        try:
            tab = Tab(chromium.new_page(), url)
            tab.wait_for("the console", "demo traffic")
            (console,) = children(server.pid)
            assert ("--readonly" in command_line(console)) is readonly
            tab.page.close()
        finally:
            server.stop()
        said = server.log_tail()
        assert ("read-only: beyond loopback" in said) is readonly, said
