"""How figures from a snapshot are written on screen (formatting only: nothing is computed)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from rich.text import Text

from neural_tui.safe_text import safe_text

MISSING = "n/a"
"""Shown where the snapshot has no value (e.g. no latency observed in the window)."""


def format_rps(rps: float) -> str:
    return f"{rps:,.1f} rps"


def format_ms(ms: float | None) -> str:
    return MISSING if ms is None else f"{ms:,.1f} ms"


def format_percent(fraction: float) -> str:
    return f"{fraction * 100:.2f} %"


def format_count(count: int) -> str:
    return f"{count:,}"


def format_clock_utc(unix_seconds: float) -> str:
    """UTC wall time: an SSH session and the model host often disagree on the local zone."""
    return time.strftime("%H:%M:%S UTC", time.gmtime(unix_seconds))


def format_breakdown(counts: Mapping[str, int]) -> Text:
    """` (timeout 10, bad_json 2)`: keys (possibly from logs, so made safe) by count, or nothing."""
    if not counts:
        return Text()
    by_count = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    parts = Text(", ").join(safe_text(key) + f" {format_count(count)}" for key, count in by_count)
    return Text.assemble(" (", parts, ")")


def format_statistic(value: float | None) -> str:
    """A test statistic or distance: four significant digits, enough to compare two runs."""
    return MISSING if value is None else f"{value:.4g}"


def format_p_value(p_value: float | None) -> str:
    """Small p-values in scientific notation, so 1e-12 and 0.04 both read at a glance."""
    if p_value is None:
        return MISSING
    return f"{p_value:.1e}" if p_value < 1e-3 else f"{p_value:.4f}"


def format_labelled(count: int) -> str:
    """How many labelled rows a performance figure rests on, written beside each figure."""
    return f"n={format_count(count)}"
