"""How figures from a snapshot are written on screen (formatting only: nothing is computed)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from rich.text import Text

from neural_tui.runtime.snapshot import EngineRange
from neural_tui.safe_text import safe_text

MISSING = "n/a"
"""Shown where the snapshot has no value (e.g. no latency observed in the window)."""
MAX_NAME_CELLS = 40
"""The most cells a name from a log (a model, a feature) takes in a one-line title or
breadcrumb, so what follows it stays on the line at 80 columns."""
MAX_VERSION_CELLS = 16
"""The most cells a model's version takes beside its name in a one-line title."""


def short_name(name: str, cells: int = MAX_NAME_CELLS) -> Text:
    """`name` shown safe, cut to `cells` cells with an ellipsis when longer."""
    text = safe_text(name)
    text.truncate(cells, overflow="ellipsis")
    return text


def format_rps(rps: float) -> str:
    return f"{rps:,.1f} rps"


def format_ms(ms: float | None) -> str:
    return MISSING if ms is None else f"{ms:,.1f} ms"


def format_percent(fraction: float) -> str:
    return f"{fraction * 100:.2f} %"


def format_count(count: int) -> str:
    return f"{count:,}"


def format_range(seconds: float) -> str:
    """The time a figure covers in its largest whole unit: `last 90s`, `last 5m`, `last 24h`;
    `MISSING` for no finite length (a remote model's window is what its source said)."""
    if not math.isfinite(seconds) or seconds < 1:
        return MISSING
    whole = round(seconds)
    unit, size = next((unit, size) for unit, size in (("h", 3600), ("m", 60), ("s", 1))
                      if whole % size == 0)
    return f"last {whole // size}{unit}"


def time_range_notice(seconds: float, engine_records: int, engine_ranges: bool) -> str:
    """What a new time range changes, and what it does not: the alerts' record window."""
    notice = f"Rates, percentiles and charts: {format_range(seconds)}."
    if engine_records and engine_ranges:
        notice += (f" Drift, quality and performance too from the next run (a sample of at "
                   f"most {format_count(engine_records)} records); alerts still judge each "
                   f"model's newest {format_count(engine_records)}.")
    elif engine_records:
        notice += (f" Drift and quality still judge each model's newest "
                   f"{format_count(engine_records)} records.")
    return notice


def engine_range_scope(scope: EngineRange) -> str:
    """`last 1h: 1,000 sampled of 52,301 records`: what the engines judged of a time range."""
    judged = (f"all {format_count(scope.records)} records" if scope.judged >= scope.records
              else f"{format_count(scope.judged)} sampled of {format_count(scope.records)} "
                   "records")
    return f"{format_range(scope.seconds)}: {judged}"


def format_clock_utc(unix_seconds: float) -> str:
    """UTC wall time: an SSH session and the model host often disagree on the local zone."""
    return time.strftime("%H:%M:%S UTC", time.gmtime(unix_seconds))


def format_datetime_utc(unix_seconds: float) -> str:
    """Date and UTC time to the minute, for events that may lie days apart (SLO breaches)."""
    try:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix_seconds))
    except (OverflowError, OSError, ValueError):
        return MISSING


DURATION_UNITS = (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1))
LONGEST_DURATION_DAYS = 9_999
"""Longer durations are written as "> 9999d": a figure that size only says "never"."""


def format_duration(seconds: float | None) -> str:
    """The two largest units of a duration ("2h 20m", "3d 4h", "45s"), or n/a."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return MISSING
    if seconds >= LONGEST_DURATION_DAYS * 86_400:
        return f"> {LONGEST_DURATION_DAYS}d"
    remaining = round(seconds)
    counts = []
    for unit, size in DURATION_UNITS:
        count, remaining = divmod(remaining, size)
        counts.append((count, unit))
    largest = next((i for i, (count, _) in enumerate(counts) if count), len(counts))
    shown = [f"{count}{unit}" for count, unit in counts[largest:largest + 2] if count]
    return " ".join(shown) or "0s"


SECONDS_SHOWN_WITH_DECIMALS = 60.0
"""Below a minute, an age reads `0.2 s ago`; above, `3m 20s ago`."""


def format_ago(now: float, then: float | None) -> str:
    """How long ago `then` was, seen from `now` (a clock running behind reads 0); empty when
    either is unknown or not a finite time."""
    if then is None or not (math.isfinite(now) and math.isfinite(then)):
        return ""
    seconds = max(0.0, now - then)
    if seconds < SECONDS_SHOWN_WITH_DECIMALS:
        return f"{seconds:.1f} s ago"
    return f"{format_duration(seconds)} ago"


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


def format_reference_filling(kept: int, needed: int, rps: float, report: str = "drift") -> str:
    """`reference 617/1000 records — drift appears once it is full (~1m 16s at 5.0/s)`: what
    the count means, and when `report` (drift, data quality) appears at the model's current
    throughput."""
    counted = f"reference {format_count(kept)}/{format_count(needed)} records"
    if not math.isfinite(rps) or rps <= 0:
        return f"{counted} — {report} appears once it is full (no records arriving now)"
    eta = format_duration(max(needed - kept, 0) / rps)
    return f"{counted} — {report} appears once it is full (~{eta} at {rps:,.1f}/s)"
