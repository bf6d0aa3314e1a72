"""`neural-tui --demo` end to end in a real terminal (tmux, 120x40): the keys answer, the demo's
drift fires an alert within two minutes of start, `e` exports the view, and `q` leaves a
clean shell."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmux_terminal import PROMPT, Terminal, console_command, tmux_terminal

pytestmark = pytest.mark.real_server

DRIFT_ALERT_TIMEOUT = 120.0
"""The demo drifts `fraud-detector` 60 s after start; its alert must show within two minutes."""


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    yield from tmux_terminal(tmp_path, size=(120, 40), directory=tmp_path)


def last_lines(screen: str, count: int) -> list[str]:
    return [line for line in screen.splitlines() if line.strip()][-count:]


def test_the_demo_answers_keys_fires_its_drift_alert_exports_and_quits_to_a_clean_shell(
    terminal: Terminal, tmp_path: Path
) -> None:
    exit_file = tmp_path / "exit-status"
    terminal.wait_for("the shell prompt", lambda s: PROMPT in s)
    terminal.type_line(f"{console_command()} --demo; echo EXIT=$? > '{exit_file}'")
    started = time.monotonic()
    terminal.wait_for("the three demo models", lambda s: "fraud-detector · 2.3.0" in s
                      and "churn-model · 1.4.2" in s and "price-regressor · 0.9.1" in s)

    terminal.press("?")
    terminal.wait_for("the key help", lambda s: "Keys" in s and "Export the view" in s)
    terminal.press("Escape")
    terminal.wait_for("the help to close", lambda s: "Focus Previous" not in s)
    terminal.press("d")
    terminal.wait_for("the focused model's drift", lambda s: "· drift" in s)
    terminal.press("Escape")
    terminal.wait_for("the overview again", lambda s: "price-regressor · 0.9.1" in s)

    remaining = DRIFT_ALERT_TIMEOUT - (time.monotonic() - started)
    screen = terminal.wait_for(
        "the demo's drift alert in the feed and on its panel",
        lambda s: "WARN  firing    drift · fraud-detector" in s and "● 1 firing: drift" in s,
        timeout=remaining)
    assert "ALERTS  1 firing" in screen or "ALERTS  2 firing" in screen

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
