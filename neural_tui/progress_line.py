"""The one-shot reports' progress bar: one line on stderr, redrawn in place, while they read a
large storage, so that a long read shows its life.

Only on a terminal: nothing in a pipe or a file, where the line would be noise in a log, nor
under `--json` (the caller decides). ASCII only, so any terminal draws it. Erased once the
read ends, so the report prints where the bar was.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from neural_tui.runtime.snapshot import HistoryProgress

REDRAW_SECONDS = 0.1
"""Least time between two drawings: a storage read hands over many batches a second."""
BAR_CELLS = 20
"""Width of the bar itself: with the figures beside it, the line fits 80 columns."""
FALLBACK_COLUMNS = 80
"""The terminal's width when it cannot be asked."""
ERASE = "\r\x1b[K"
"""Back to the line's start, and clear it."""
DUMB_TERMINALS = frozenset({"dumb", "unknown"})
"""`TERM` values of terminals that read no escape sequence (Rich's list too)."""


class ProgressLine:
    """Draws a `HistoryProgress` as one line of a terminal, at most every `REDRAW_SECONDS`."""

    def __init__(self, stream: TextIO, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._drawn_at: float | None = None

    @staticmethod
    def on_stderr() -> ProgressLine | None:
        """A line on stderr if stderr is a terminal that reads escape sequences, else None (a
        pipe, a file, `TERM=dumb`, which would show the erasing sequence as text)."""
        dumb = os.environ.get("TERM", "").lower() in DUMB_TERMINALS
        return ProgressLine(sys.stderr) if sys.stderr.isatty() and not dumb else None

    def show(self, progress: HistoryProgress) -> None:
        """Redraw the line with `progress`, unless it was drawn less than a moment ago."""
        now = self._clock()
        if self._drawn_at is not None and now - self._drawn_at < REDRAW_SECONDS:
            return
        self._drawn_at = now
        text = f"reading {progress.bar(BAR_CELLS)} {progress.describe()}"
        self._stream.write(ERASE + text[: self._columns() - 1])
        self._stream.flush()

    def close(self) -> None:
        """Erase the line, if it was drawn."""
        if self._drawn_at is not None:
            self._stream.write(ERASE)
            self._stream.flush()
            self._drawn_at = None

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self._stream.fileno()).columns or FALLBACK_COLUMNS
        except (OSError, ValueError):
            return FALLBACK_COLUMNS
