"""The console end to end in a real terminal: tmux runs `neural-tui` on storage written by the
producer API, and the test reads the screen as a user would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmux_terminal import PROMPT, Terminal, console_script, tmux_terminal

from neural_tui import ModelLogger

pytestmark = pytest.mark.real_server

HOSTILE_MODEL = "[bold red]x"


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    yield from tmux_terminal(tmp_path)


def write_storage(storage: Path) -> None:
    """Two models' predictions, one model named with Rich markup, through the producer API."""
    for name, version in (("fraud", "1.0"), (HOSTILE_MODEL, "2.0")):
        monitor = ModelLogger(name, version, storage, flush_interval=60.0)
        for index in range(20):
            monitor.log_prediction(
                f"{name}-{index}", {"amount": float(index), "channel": "web"}, index % 2,
                latency_ms=12.5,
            )
        monitor.close()


def test_console_shows_models_answers_keys_and_restores_the_terminal_on_quit(
    terminal: Terminal, tmp_path: Path
) -> None:
    storage = tmp_path / "monitoring_data"
    write_storage(storage)
    exit_file = tmp_path / "exit-status"
    terminal.wait_for("the shell prompt", lambda screen: PROMPT in screen)

    terminal.type_line(f"'{console_script()}' --storage '{storage}'; echo EXIT=$? > '{exit_file}'")
    screen = terminal.wait_for(
        "both model panels", lambda s: "fraud · 1.0" in s and f"{HOSTILE_MODEL} · 2.0" in s
    )
    assert f"{HOSTILE_MODEL} · 2.0" in screen

    terminal.press("?")
    terminal.wait_for("the key help", lambda s: "Keys" in s and "Focus Previous" in s)
    terminal.press("Escape")
    terminal.wait_for("the help to close", lambda s: "Focus Previous" not in s)
    terminal.press("q")

    terminal.wait_for("the console to exit", lambda _: exit_file.exists())
    assert exit_file.read_text().strip() == "EXIT=0"
    screen = terminal.wait_for("the shell prompt again", lambda s: PROMPT in s)
    assert not terminal.alternate_screen_on()
    assert "fraud · 1.0" not in screen


SLO_CONFIG = """
[[slo]]
name = "fraud-availability"
type = "availability"
target = 0.99
window = "1h"
model = "fraud"
"""
"""99% of fraud's requests without error over an hour."""


def test_a_burning_slo_shows_on_the_panel_and_s_opens_its_budget_and_burn(
    terminal: Terminal, tmp_path: Path
) -> None:
    """15 predictions and 5 failed requests: availability 0.75 against 0.99, so the budget is
    1 - 0.25 / 0.01 = -24, overspent by 2,400%."""
    storage = tmp_path / "monitoring_data"
    monitor = ModelLogger("fraud", "1.0", storage, flush_interval=60.0)
    for index in range(15):
        monitor.log_prediction(f"fraud-{index}", {"amount": float(index)}, 1, latency_ms=12.5)
    for _ in range(5):
        monitor.record_error("timeout", latency_ms=900.0)
    monitor.close()
    config = tmp_path / "neural-tui.toml"
    config.write_text(SLO_CONFIG, encoding="utf-8")
    exit_file = tmp_path / "exit-status"
    terminal.wait_for("the shell prompt", lambda screen: PROMPT in screen)

    terminal.type_line(f"'{console_script()}' --config '{config}' --storage '{storage}'; "
                       f"echo EXIT=$? > '{exit_file}'")
    terminal.wait_for("the SLO line on the panel",
                      lambda s: "SLO fraud-availability:" in s and "budget -2,400.0 %" in s)
    terminal.press("s")
    screen = terminal.wait_for("the SLO screen", lambda s: "fraud · 1.0 · SLOs" in s
                               and "OVERSPENT -2,400.0 %" in s)
    assert "compliance 75.00 % (15 good of 20)" in screen
    terminal.press("Escape")
    terminal.wait_for("the overview", lambda s: "fraud · 1.0 · SLOs" not in s)
    terminal.press("q")
    terminal.wait_for("the console to exit", lambda _: exit_file.exists())
    assert exit_file.read_text().strip() == "EXIT=0"


ALERT_CONFIG = """
[alerts]
group_wait = "0s"

[alerts.channels.pager]
type = "file"
path = "pages.jsonl"

[[alerts.rules]]
name = "slow"
when = "p95_latency_ms > 500"
severity = "critical"
channels = ["pager"]
"""


def test_a_firing_alert_reaches_the_feed_the_alerts_screen_and_is_silenced_from_the_keys(
    terminal: Terminal, tmp_path: Path
) -> None:
    storage = tmp_path / "monitoring_data"
    with ModelLogger("fraud", "1.0", storage, flush_interval=60.0) as monitor:
        for index in range(20):
            monitor.log_prediction(f"p-{index}", {"amount": 1.0}, 0, latency_ms=812.0)
    config = tmp_path / "neural-tui.toml"
    config.write_text(ALERT_CONFIG, encoding="utf-8")
    terminal.wait_for("the shell prompt", lambda screen: PROMPT in screen)

    exit_file = tmp_path / "exit-status"
    terminal.type_line(f"'{console_script()}' --config '{config}' --storage '{storage}'; "
                       f"echo EXIT=$? > '{exit_file}'")
    terminal.wait_for("the alert in the feed", lambda s: "ALERTS  1 firing (1 critical)" in s
                      and "CRIT  firing    slow · fraud" in s and "● 1 firing: slow" in s)
    terminal.press("a")
    terminal.wait_for("the alerts screen", lambda s: "Alerts · 1 firing" in s
                      and "labels: alertname=slow" in s and "pager  sent" in s)
    terminal.press("s")
    terminal.wait_for("the silence dialog", lambda s: "alerts matching alertname=slow, "
                      "model=fraud" in s)
    terminal.type_line("deploying a fix")
    terminal.wait_for("the alert silenced", lambda s: "silenced" in s and "1 silenced" in s)
    silences = list((storage / "alerts" / "silences").glob("*.json"))
    assert len(silences) == 1
    assert "deploying a fix" in silences[0].read_text(encoding="utf-8")
    terminal.press("Escape")
    terminal.wait_for("the overview again", lambda s: "ALERTS  1 firing (1 critical) · 1 "
                      "silenced" in s and "● 1 firing" not in s)
    terminal.press("q")
    terminal.wait_for("the console to exit", lambda _: exit_file.exists())
    assert exit_file.read_text().strip() == "EXIT=0"


COLOUR_SGR = re.compile(r"\x1b\[[0-9;]*?(?<![0-9])(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38|48)(;[0-9;]*)?m")
"""An SGR sequence that sets a foreground or background colour (not the default 39 / 49)."""


def test_ascii_readonly_and_no_colour_flags_in_a_real_terminal(
    terminal: Terminal, tmp_path: Path
) -> None:
    storage = tmp_path / "monitoring_data"
    write_storage(storage)
    terminal.wait_for("the shell prompt", lambda screen: PROMPT in screen)
    terminal.type_line(f"'{console_script()}' --storage '{storage}' --ascii --readonly "
                       "--color none")
    screen = terminal.wait_for("the fraud panel in ASCII", lambda s: "fraud - 1.0" in s)
    assert "READ-ONLY" in screen
    assert [char for char in screen if not char.isascii()] == []
    assert "+-" in screen, "ASCII borders"
    assert COLOUR_SGR.search(terminal.screen_escapes()) is None
    terminal.press("q")
    terminal.wait_for("the shell prompt again", lambda s: PROMPT in s and "READ-ONLY" not in s)


def test_the_console_draws_in_colour_without_the_flags(terminal: Terminal, tmp_path: Path
                                                       ) -> None:
    """So the test above can fail: the same console without them draws colours and boxes."""
    storage = tmp_path / "monitoring_data"
    write_storage(storage)
    terminal.wait_for("the shell prompt", lambda screen: PROMPT in screen)
    terminal.type_line(f"'{console_script()}' --storage '{storage}'")
    screen = terminal.wait_for("the fraud panel", lambda s: "fraud · 1.0" in s)
    assert any(not char.isascii() for char in screen)
    assert COLOUR_SGR.search(terminal.screen_escapes()) is not None
    terminal.press("q")
    terminal.wait_for("the shell prompt again", lambda s: PROMPT in s)
