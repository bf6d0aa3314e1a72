"""`neural-tui --demo` end to end in a real terminal (tmux, 120x40): the keys answer, the demo's
drift fires an alert within two minutes of start, `e` exports the view, and `q` leaves a
clean shell."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from realservers import POLL_SECONDS, require_binary

pytestmark = pytest.mark.real_server

PROMPT = "demo-test$"
"""The shell's prompt (capture-pane drops trailing spaces, so none is part of it)."""
SCREEN_TIMEOUT = 20.0
DRIFT_ALERT_TIMEOUT = 120.0
"""The demo drifts `fraud-detector` 60 s after start; its alert must show within two minutes."""


class DemoTerminal:
    """One detached tmux session at 120x40 on its own server socket, running a plain shell in
    `directory`."""

    def __init__(self, tmux: str, socket_name: str, directory: Path) -> None:
        self._base = [tmux, "-L", socket_name, "-f", "/dev/null"]
        self._directory = directory

    def start(self) -> None:
        self._tmux("new-session", "-d", "-s", "demo", "-x", "120", "-y", "40",
                   "-c", str(self._directory), "env", f"PS1={PROMPT} ", "sh")

    def stop(self) -> None:
        subprocess.run([*self._base, "kill-server"], capture_output=True, check=False)

    def type_line(self, line: str) -> None:
        self._tmux("send-keys", "-t", "demo", "-l", line)
        self._tmux("send-keys", "-t", "demo", "Enter")

    def press(self, key: str) -> None:
        self._tmux("send-keys", "-t", "demo", key)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "demo")

    def alternate_screen_on(self) -> bool:
        return self._tmux("display-message", "-p", "-t", "demo", "#{alternate_on}") == "1"

    def wait_for(self, what: str, condition: Callable[[str], bool],
                 timeout: float = SCREEN_TIMEOUT) -> str:
        """Poll the screen until `condition` holds; fail with the last screen after `timeout`."""
        deadline = time.monotonic() + timeout
        screen = self.screen()
        while not condition(screen):
            if time.monotonic() >= deadline:
                pytest.fail(f"{what} within {timeout} s; the screen was:\n{screen}")
            time.sleep(POLL_SECONDS)
            screen = self.screen()
        return screen

    def _tmux(self, *args: str) -> str:
        done = subprocess.run([*self._base, *args], capture_output=True, text=True, check=True,
                              timeout=10)
        return done.stdout.rstrip("\n")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[DemoTerminal]:
    tmux = require_binary("tmux", "apt-get install tmux")
    session = DemoTerminal(tmux, f"neural-tui-demo-{os.getpid()}-{tmp_path.name}", tmp_path)
    session.start()
    yield session
    session.stop()


def console_script() -> str:
    """The installed `neural-tui` of the interpreter running the tests."""
    script = shutil.which("neural-tui", path=str(Path(sys.executable).parent))
    assert script is not None, f"neural-tui is not installed next to {sys.executable}"
    return script


def last_lines(screen: str, count: int) -> list[str]:
    return [line for line in screen.splitlines() if line.strip()][-count:]


def test_the_demo_answers_keys_fires_its_drift_alert_exports_and_quits_to_a_clean_shell(
    terminal: DemoTerminal, tmp_path: Path
) -> None:
    exit_file = tmp_path / "exit-status"
    terminal.wait_for("the shell prompt", lambda s: PROMPT in s)
    terminal.type_line(f"'{console_script()}' --demo; echo EXIT=$? > '{exit_file}'")
    started = time.monotonic()
    terminal.wait_for("the three demo models", lambda s: "fraud-detector · 2.3.0" in s
                      and "churn-model · 1.4.2" in s and "price-regressor · 0.9.1" in s)

    terminal.press("?")
    terminal.wait_for("the key help", lambda s: "Keys" in s and "Export view" in s)
    terminal.press("Escape")
    terminal.wait_for("the help to close", lambda s: "Focus Previous" not in s)
    terminal.press("d")
    terminal.wait_for("the focused model's drift", lambda s: "· drift" in s)
    terminal.press("Escape")
    terminal.wait_for("the overview again", lambda s: "price-regressor · 0.9.1" in s)

    remaining = DRIFT_ALERT_TIMEOUT - (time.monotonic() - started)
    screen = terminal.wait_for(
        "the demo's drift alert", lambda s: "WARN  firing    drift · fraud-detector" in s,
        timeout=remaining)
    assert "ALERTS  1 firing" in screen or "ALERTS  2 firing" in screen
    assert "● 1 firing: drift" in screen

    terminal.press("e")
    terminal.wait_for("the export notice", lambda s: "Exported" in s)
    [exported] = tmp_path.glob("neural-tui-overview-*.json")
    names = {model["name"] for model in json.loads(exported.read_text(encoding="utf-8"))["models"]}
    assert names == {"fraud-detector", "churn-model", "price-regressor"}
    assert list(tmp_path.glob("neural-tui-overview-*.svg"))

    terminal.press("q")
    terminal.wait_for("the console to exit", lambda _: exit_file.exists())
    assert exit_file.read_text().strip() == "EXIT=0"
    screen = terminal.wait_for("the shell prompt again", lambda s: last_lines(s, 1) == [PROMPT])
    assert not terminal.alternate_screen_on()
    assert "fraud-detector" not in screen and "ALERTS" not in screen

    terminal.type_line("stty -a > stty.txt")
    terminal.wait_for("stty to answer", lambda _: (tmp_path / "stty.txt").exists()
                      and (tmp_path / "stty.txt").stat().st_size > 0)
    settings = (tmp_path / "stty.txt").read_text().replace(";", " ").split()
    assert "echo" in settings and "icanon" in settings
