"""The one-shot reports draw a progress bar on stderr while they read storage when stderr is a
terminal (a real pty here), erase it before the report, and draw nothing under `--json` or
when stderr is a pipe."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from headless_storage import log_records

from neural_tui.progress_line import ERASE, ProgressLine
from neural_tui.runtime.snapshot import HistoryProgress

REPORTS = ["status", "drift", "quality", "slo", "health"]
BAR_START = "reading ["


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    storage = tmp_path_factory.mktemp("progress") / "storage"
    log_records(storage, "fraud", 300)
    return storage


def run_with_stderr_on_a_terminal(*argv: str, columns: int = 0,
                                  term: str = "xterm") -> tuple[str, str]:
    """stdout (a pipe) and what reached the terminal that is stderr (`columns` wide, 0: a
    terminal that does not say, of type `term`)."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        process = subprocess.Popen([sys.executable, "-m", "neural_tui", *argv],
                                   stdout=subprocess.PIPE, stderr=terminal,
                                   env={**os.environ, "COLUMNS": "120", "TERM": term})
        os.close(terminal)
        out, _ = process.communicate(timeout=60)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(controller)
    return out.decode(), seen.decode(errors="replace")


@pytest.mark.parametrize("report", REPORTS)
def test_a_report_draws_a_progress_bar_on_a_terminal_and_erases_it(storage, report):
    out, terminal = run_with_stderr_on_a_terminal(report, "--storage", str(storage))
    assert BAR_START in terminal
    assert "300 records" in terminal
    assert terminal.rindex(ERASE) > terminal.rindex(BAR_START), "the last bar is erased"
    assert "left)" in terminal, "the whole line fits 80 columns"
    assert BAR_START not in out


@pytest.mark.parametrize("report", REPORTS)
def test_a_report_under_json_draws_no_progress_even_on_a_terminal(storage, report):
    out, terminal = run_with_stderr_on_a_terminal(report, "--storage", str(storage), "--json")
    assert BAR_START not in terminal
    assert ERASE not in terminal
    assert out.startswith("{")


def test_on_a_terminal_10_columns_wide_the_bar_is_cut_to_fit_one_line(storage):
    _, terminal = run_with_stderr_on_a_terminal("drift", "--storage", str(storage), columns=10)
    drawn = [line.removeprefix("\x1b[K") for line in terminal.split("\r") if line]
    bars = [line for line in drawn if line.startswith("reading")]
    assert bars and all(len(bar) <= 9 for bar in bars)


@pytest.mark.parametrize("term", ["dumb", "unknown"])
def test_a_dumb_terminal_gets_no_progress_bar_and_no_escape_sequence(storage, term):
    out, terminal = run_with_stderr_on_a_terminal("drift", "--storage", str(storage), term=term)
    assert BAR_START not in terminal
    assert "\x1b" not in terminal
    assert out


@pytest.mark.parametrize("report", REPORTS)
def test_a_report_draws_no_progress_into_a_pipe(storage, report):
    done = subprocess.run([sys.executable, "-m", "neural_tui", report, "--storage", str(storage)],
                          capture_output=True, text=True, timeout=60)
    assert BAR_START not in done.stderr
    assert "\r" not in done.stderr


class Terminal:
    """A stream that says it is a terminal of 40 columns."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise OSError("no descriptor")


def test_the_line_is_redrawn_at_most_every_tenth_of_a_second_and_erased_at_the_end():
    moments = iter([0.0, 0.05, 0.2])
    stream = Terminal()
    line = ProgressLine(stream, clock=lambda: next(moments))  # type: ignore[arg-type]
    for read in (10, 20, 30):
        line.show(HistoryProgress(read, 100, read, 5.0, 1.0))
    line.close()
    assert stream.text.count(BAR_START) == 2
    assert "10 %" in stream.text and "20 %" not in stream.text and "30 %" in stream.text
    assert stream.text.endswith(ERASE)


def test_a_line_never_drawn_writes_nothing_when_closed():
    stream = Terminal()
    ProgressLine(stream).close()  # type: ignore[arg-type]
    assert stream.text == ""
