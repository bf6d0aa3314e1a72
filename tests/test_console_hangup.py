"""The console over SSH, in a real terminal (tmux): when the terminal goes away, with or without
a SIGHUP, the process ends within seconds without spinning; whichever way it ends (quit, an
interrupt, an unhandled error) the terminal is left as the shell needs it: echo and line
editing on, the alternate screen left, the cursor shown."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from realservers import POLL_SECONDS
from tmux_terminal import PROMPT, Terminal, console_command, tmux_terminal

pytestmark = pytest.mark.real_server

GONE_WITHIN_SECONDS = 5.0
CPU_SECONDS_WHILE_LEAVING = 1.0
"""Far more than a clean exit takes, far less than a spinning thread burns in five seconds."""
DEMO_ON_SCREEN = "demo traffic"
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    yield from tmux_terminal(tmp_path)


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of `pid` so far; None once it has ended (a zombie has)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_console(terminal: Terminal, tmp_path: Path, command: str,
                  wait_for: str = DEMO_ON_SCREEN, launcher: str = "") -> int:
    """Run `command` (its `exec`ed process is the console) from the shell, through `launcher`
    if given; its pid once drawn."""
    pid_file = tmp_path / "console.pid"
    terminal.wait_for("the shell prompt", lambda screen: PROMPT in screen)
    terminal.type_line(f"{launcher} sh -c 'echo $$ > {pid_file}; exec {command}'")
    terminal.wait_for("the console to draw", lambda screen: wait_for in screen)
    return int(pid_file.read_text())


def assert_ends_without_spinning(pid: int) -> None:
    """`pid` ends within `GONE_WITHIN_SECONDS`, burning little CPU on the way out."""
    first = last = cpu_seconds(pid)
    assert first is not None, "the console ended before the terminal went away"
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    while (now := cpu_seconds(pid)) is not None:
        last = now
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"the console still ran {GONE_WITHIN_SECONDS} s after its terminal "
                        f"went away, having used {now - first:.2f} s of CPU since")
        time.sleep(POLL_SECONDS / 2)
    assert last - first < CPU_SECONDS_WHILE_LEAVING, f"{last - first:.2f} s of CPU"


def demo() -> str:
    return f"{console_command()} --demo"


def test_closing_the_terminal_ends_the_console_within_seconds_without_spinning(
    terminal: Terminal, tmp_path: Path
) -> None:
    pid = start_console(terminal, tmp_path, demo())
    terminal.stop()
    assert_ends_without_spinning(pid)


def test_a_terminal_closed_without_sighup_ends_the_console_too(
    terminal: Terminal, tmp_path: Path
) -> None:
    """In a session of its own (setsid) the console is not sent the terminal's SIGHUP: only its
    input ending says the terminal is gone."""
    pid = start_console(terminal, tmp_path, demo(), launcher="setsid --wait")
    terminal.stop()
    assert_ends_without_spinning(pid)


def test_closing_the_terminal_while_a_drill_down_is_open_ends_the_console(
    terminal: Terminal, tmp_path: Path
) -> None:
    pid = start_console(terminal, tmp_path, demo(), wait_for=" predictions · ")
    terminal.press("d")
    terminal.wait_for("the drift drill-down", lambda screen: " · drift" in screen)
    terminal.stop()
    assert_ends_without_spinning(pid)


def test_a_hangup_while_quitting_still_ends_the_console(
    terminal: Terminal, tmp_path: Path
) -> None:
    pid = start_console(terminal, tmp_path, demo())
    terminal.press("q")
    os.kill(pid, signal.SIGHUP)
    terminal.stop()
    assert_ends_without_spinning(pid)


def assert_terminal_restored(terminal: Terminal, tmp_path: Path) -> None:
    """The shell's prompt is back, outside the alternate screen, with the cursor shown, and the
    line discipline echoes and edits lines again."""
    terminal.wait_for("the shell prompt again", lambda screen: screen.rstrip().endswith(PROMPT))
    assert not terminal.alternate_screen_on()
    assert terminal.cursor_visible()
    modes = tmp_path / "stty.txt"
    terminal.type_line(f"stty -a > {modes}")
    terminal.wait_for("stty", lambda _: modes.exists() and modes.stat().st_size > 0)
    flags = modes.read_text().split()
    assert "echo" in flags and "icanon" in flags, flags


def test_quitting_restores_the_terminal(terminal: Terminal, tmp_path: Path) -> None:
    pid = start_console(terminal, tmp_path, demo())
    terminal.press("q")
    assert_ends_without_spinning(pid)
    assert_terminal_restored(terminal, tmp_path)


def test_an_interrupt_restores_the_terminal(terminal: Terminal, tmp_path: Path) -> None:
    pid = start_console(terminal, tmp_path, demo())
    os.kill(pid, signal.SIGINT)
    assert_ends_without_spinning(pid)
    assert_terminal_restored(terminal, tmp_path)


FAILING_CONSOLE = """
import asyncio, sys
sys.path.insert(0, {tests!r})
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed
from neural_tui.app.app import NeuralTuiApp


class BreakingFeed(FakeFeed):
    async def run(self) -> None:
        self.publish(snapshot(model_snapshot("fraud")))
        await asyncio.sleep(1.0)
        raise RuntimeError("the feed broke")


NeuralTuiApp(BreakingFeed(), source_label="breaking feed").run()
"""
"""The real console over a feed that raises once it has drawn a model: an unhandled error."""


def test_an_unhandled_error_restores_the_terminal_and_says_what_broke(
    terminal: Terminal, tmp_path: Path
) -> None:
    script = tmp_path / "failing_console.py"
    script.write_text(FAILING_CONSOLE.format(tests=str(TESTS)), encoding="utf-8")
    python = console_command().removesuffix(" -m neural_tui")
    pid = start_console(terminal, tmp_path, f"{python} {script}", wait_for="fraud")
    assert_ends_without_spinning(pid)
    assert_terminal_restored(terminal, tmp_path)
    assert "the feed broke" in terminal.history()
