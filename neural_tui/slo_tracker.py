"""The old module's SLO API (`SLOTracker`, `SLO`, `SLAReport`, `SLOType`) over the SLO engine.

Code written for `neural.monitoring.slo_tracker` runs unchanged, but every figure now comes from
`neural_tui.engines.slo.evaluate`: each measurement is one event, counted in its minute of record
time, so compliance is good events over all events in the window (the old module averaged passes
and compared the average with the threshold, so a latency SLO with 40% of requests too slow was
"meeting"), the error budget is spent by bad events, and a breach is one stretch of time, counted
once. Memory is bounded by the window: a fixed ring of the minutes the engine reads per SLO
(`history_minutes`: about two windows), the minutes ahead of the host clock (at most a day of
them, waiting for their time), and the newest `MAX_KEPT_MEASUREMENTS` raw measurements for the
report's list.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from neural_tui.config import SLO_WINDOWS, parse_duration
from neural_tui.decode import FUTURE_TOLERANCE_SECONDS
from neural_tui.engines.slo import (
    MINUTE,
    MINUTE_COUNT_CAP,
    Breach,
    MinuteCounts,
    SLOSpec,
    SLOStatus,
    burn_tiers,
    evaluate,
    history_minutes,
)

DEFAULT_GOOD_SHARE = 0.95
"""The share of good events a latency or throughput SLO promises when `SLO.objective` is unset:
the old module's latency SLO was a p95 (95% of requests at most the threshold)."""
MAX_WINDOW_SECONDS = parse_duration(SLO_WINDOWS[1]) or 0
"""Longest SLO window, as in the config: the ring of minutes is sized by it."""
MAX_KEPT_MEASUREMENTS = 10_000
"""Raw measurements kept per SLO for `SLAReport.measurements`; every figure counts them all."""
MODEL = "default"
"""The model named in the engine's alert labels (the old module's default model name)."""


class SLOType(Enum):
    """What a measurement is (the old module's names and values)."""

    AVAILABILITY = "availability"
    LATENCY = "latency"
    ACCURACY = "accuracy"
    ERROR_RATE = "error_rate"
    THROUGHPUT = "throughput"


_AT_LEAST = frozenset({SLOType.AVAILABILITY, SLOType.ACCURACY, SLOType.THROUGHPUT})
"""Types whose measurement passes at or above `target`; the others pass at or below it."""


@dataclass
class SLO:
    """A Service Level Objective, with the old module's fields.

    `target` keeps its old meaning per type: the good fraction for availability and accuracy
    (0.999), the highest error fraction for error_rate (0.01), the latency threshold in seconds
    for latency (0.1), the lowest request rate for throughput (100 requests per second).
    `objective` (new) is the share of good events a latency SLO, or of good minutes a throughput
    SLO, promises (default `DEFAULT_GOOD_SHARE`); the other types take it from `target`.
    """

    name: str
    slo_type: SLOType
    target: float
    window_seconds: float
    description: str = ""
    objective: float | None = None

    def __post_init__(self) -> None:
        self.slo_type = SLOType(self.slo_type)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"SLO name must be a non-empty str, got {self.name!r}")
        if not _finite(self.target) or self.target <= 0:
            raise ValueError(f"SLO {self.name!r}: target must be a finite number > 0, "
                             f"got {self.target!r}")
        if self.slo_type not in (SLOType.LATENCY, SLOType.THROUGHPUT) and self.target >= 1:
            raise ValueError(f"SLO {self.name!r}: a {self.slo_type.value} target is a fraction "
                             f"between 0 and 1 (excluded), got {self.target!r}")
        if self.objective is not None and not (_finite(self.objective)
                                               and 0 < self.objective < 1):
            raise ValueError(f"SLO {self.name!r}: objective must be between 0 and 1 "
                             f"(excluded), got {self.objective!r}")
        if not (_finite(self.window_seconds) and MINUTE <= self.window_seconds
                <= MAX_WINDOW_SECONDS):
            raise ValueError(f"SLO {self.name!r}: window_seconds must be between {MINUTE} and "
                             f"{MAX_WINDOW_SECONDS}, got {self.window_seconds!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "slo_type": self.slo_type.value,
            "target": self.target,
            "window_seconds": self.window_seconds,
            "description": self.description,
            "objective": self.spec().objective,
        }

    def spec(self) -> SLOSpec:
        """The SLO as the engine judges it: the window in whole minutes, and for latency and
        throughput the old `target` as the threshold and `objective` as the promised share."""
        window = max(1, round(self.window_seconds / MINUTE)) * MINUTE
        share = DEFAULT_GOOD_SHARE if self.objective is None else self.objective
        if self.slo_type is SLOType.LATENCY:
            return SLOSpec(self.name, "latency", share, window, MODEL,
                           threshold_ms=self.target * 1000.0)
        if self.slo_type is SLOType.THROUGHPUT:
            return SLOSpec(self.name, "throughput", share, window, MODEL, min_rps=self.target)
        return SLOSpec(self.name, self.slo_type.value, self.target, window, MODEL)

    def meets(self, value: float) -> bool:
        """Whether one measurement is a good event (the old module's comparison)."""
        return value >= self.target if self.slo_type in _AT_LEAST else value <= self.target


@dataclass
class SLOMeasurement:
    """One recorded measurement (the old module's record). `breach_duration` is how long the
    breach it fell in had lasted at that time (0 outside a breach)."""

    timestamp: float
    slo_name: str
    actual_value: float
    target_value: float
    is_meeting: bool
    breach_duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "slo_name": self.slo_name,
            "actual_value": self.actual_value,
            "target_value": self.target_value,
            "is_meeting": self.is_meeting,
            "breach_duration": self.breach_duration,
        }


@dataclass
class SLAReport:
    """The compliance of one SLO over `start_time` .. `end_time` (the old module's fields).

    `compliance_rate` is good events over all events (None without any);
    `error_budget_remaining` is negative once overspent (the old module clamped it at 0);
    `measurements` holds the newest `MAX_KEPT_MEASUREMENTS` in the range. `status` (new) is the
    engine's full result: burn rates, time to exhaustion, the newest breaches, each alert.
    """

    start_time: float
    end_time: float
    slo_name: str
    measurements: list[SLOMeasurement]
    compliance_rate: float | None
    total_breaches: int
    total_breach_duration: float
    max_breach_duration: float
    error_budget_remaining: float | None
    status: SLOStatus | None = field(default=None, repr=False)
    requested_start_time: float | None = None
    """The start asked for when the tracker no longer held it (None otherwise): `start_time` is
    then the oldest minute it holds, and the figures cover only `start_time` .. `end_time`."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_time": self.start_time,
            "requested_start_time": self.requested_start_time,
            "end_time": self.end_time,
            "slo_name": self.slo_name,
            "measurements": [m.to_dict() for m in self.measurements],
            "compliance_rate": self.compliance_rate,
            "total_breaches": self.total_breaches,
            "total_breach_duration": self.total_breach_duration,
            "max_breach_duration": self.max_breach_duration,
            "error_budget_remaining": self.error_budget_remaining,
            **(status_figures(self.status) if self.status is not None else {}),
        }


class _MinuteRing:
    """One SLO's events per minute of record time, for the newest `size` minutes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.stamp = np.full(size, -1, dtype=np.int64)
        self.total = np.zeros(size, dtype=np.int64)
        self.good = np.zeros(size, dtype=np.int64)
        self.value_sum = np.zeros(size, dtype=np.float64)
        self.newest: int | None = None

    def holds(self, minute: int) -> bool:
        """Whether an event of `minute` can still be counted (not older than the ring)."""
        return self.newest is None or minute > self.newest - self.size

    def add(self, minute: int, events: _Events) -> None:
        """Count a minute's events (its minute must be one the ring `holds`)."""
        slot = minute % self.size
        if self.stamp[slot] != minute:
            self.stamp[slot] = minute
            self.total[slot] = self.good[slot] = 0
            self.value_sum[slot] = 0.0
        self.total[slot] += events.total
        self.good[slot] += events.good
        self.value_sum[slot] += events.value_sum
        self.newest = minute if self.newest is None else max(self.newest, minute)

    def counts(self, spec: SLOSpec, last_minute: int) -> MinuteCounts:
        """The ring as the engine's minute counts, from its oldest measured minute up to and
        including `last_minute` (a throughput SLO's minutes begin with its first measurement)."""
        minutes = np.arange(last_minute - self.size + 1, last_minute + 1, dtype=np.int64)
        current = self.stamp[minutes % self.size] == minutes
        first = int(np.argmax(current)) if current.any() else len(minutes) - 1
        minutes, current = minutes[first:], current[first:]
        slots = minutes % self.size
        total = np.where(current, self.total[slots], 0)
        good = np.where(current, self.good[slots], 0)
        zeros = np.zeros(len(minutes), dtype=np.int64)
        requests, errors, labelled, correct = total, zeros, zeros, zeros
        within: dict[float, np.ndarray] = {}
        if spec.type in ("availability", "error_rate"):
            errors = total - good
        elif spec.type == "accuracy":
            labelled, correct = total, good
        elif spec.type == "latency":
            assert spec.threshold_ms is not None
            within = {spec.threshold_ms: good}
        else:
            # A throughput measurement is the request rate seen: a minute's rate is the mean
            # of those measured in it, and holds until the next measured minute.
            measured = current & (self.total[slots] > 0)
            rate = np.where(measured, self.value_sum[slots] / np.maximum(total, 1), 0.0)
            last = np.maximum.accumulate(np.where(measured, np.arange(len(minutes)), -1))
            held = np.where(last >= 0, rate[np.maximum(last, 0)], 0.0)
            requests = np.rint(np.clip(held * MINUTE, 0.0, MINUTE_COUNT_CAP)).astype(np.int64)
        return MinuteCounts(int(minutes[0]), requests, errors, labelled, correct, within)


@dataclass
class _Events:
    """Events of one minute not yet in the ring, and the newest time among them."""

    total: int = 0
    good: int = 0
    value_sum: float = 0.0
    newest_at: float = -math.inf

    def add(self, at: float, good: int, value: float, total: int = 1) -> None:
        """Count `total` events at `at`, `good` of them good; `value` is one rate (throughput
        counts one event a call)."""
        self.total += total
        self.good += good
        self.value_sum += min(max(value, 0.0), MINUTE_COUNT_CAP)  # a rate, summed
        self.newest_at = max(self.newest_at, at)


@dataclass
class _Tracked:
    slo: SLO
    spec: SLOSpec
    ring: _MinuteRing
    recent: deque[tuple[float, float]]
    newest_at: float | None = None
    ahead: dict[int, _Events] = field(default_factory=dict)
    """Minutes ahead of the host clock, by minute: counted once the clock reaches them, so one
    measurement stamped hours ahead neither moves the SLO's clock nor pushes the ring past the
    measurements of now (at most a day of minutes: later ones are refused)."""
    soonest_ahead: float = math.inf
    """The oldest minute in `ahead`: until the clock reaches it, nothing is to admit."""

    def count(self, minute: int, events: _Events) -> None:
        if self.ring.holds(minute):
            self.ring.add(minute, events)
            self.newest_at = events.newest_at if self.newest_at is None else max(
                self.newest_at, events.newest_at)

    def wait(self, minute: int, at: float, good: int, value: float, total: int = 1) -> None:
        """Hold events of a minute the host clock has not reached."""
        self.ahead.setdefault(minute, _Events()).add(at, good, value, total)
        self.soonest_ahead = min(self.soonest_ahead, minute)

    def admit(self, clock_minute: int) -> None:
        """Count the minutes ahead that the host clock has reached, oldest first."""
        if clock_minute < self.soonest_ahead:
            return
        for minute in sorted(m for m in self.ahead if m <= clock_minute):
            self.count(minute, self.ahead.pop(minute))
        self.soonest_ahead = min(self.ahead, default=math.inf)


class SLOTracker:
    """Tracks SLOs from measurements (the old module's API).

    `storage_path` (optional; the old default was `monitoring_data/slo`): where
    `generate_sla_report` writes each report as JSON, atomically. Measurements are no longer
    written one file each. The clock is record time: figures are as of the newest measurement,
    or of the host clock (`clock`) when that is earlier, unless a report names its end; a
    measurement stamped ahead of the host clock is counted once the clock reaches its minute.
    """

    def __init__(self, storage_path: str | os.PathLike[str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.storage_path = Path(storage_path) if storage_path is not None else None
        if self.storage_path is not None:
            self.storage_path.mkdir(parents=True, exist_ok=True)
        self.slos: dict[str, SLO] = {}
        self._tracked: dict[str, _Tracked] = {}
        self._lock = threading.Lock()

    def add_slo(self, slo: SLO) -> None:
        """Track `slo` as it is now (adding one of the same name again, changed or not,
        starts its counts afresh)."""
        spec = slo.spec()
        minutes = history_minutes(spec.window_seconds)
        with self._lock:
            self.slos[slo.name] = slo
            self._tracked[slo.name] = _Tracked(slo, spec, _MinuteRing(minutes),
                                               deque(maxlen=MAX_KEPT_MEASUREMENTS))

    def remove_slo(self, slo_name: str) -> None:
        with self._lock:
            self.slos.pop(slo_name, None)
            self._tracked.pop(slo_name, None)

    def record_measurement(
        self, slo_name: str, actual_value: float, timestamp: float | None = None
    ) -> None:
        """Count one event: a request's availability (1 served, 0 failed), its error (1 failed,
        0 not), its latency in seconds, a labelled prediction's correctness (1 right, 0 wrong),
        or the request rate seen (throughput). It is good when it meets `target` as the old
        module compared it; a measurement older than the kept minutes is ignored, one ahead
        of the host clock waits until the clock reaches its minute, and one stamped more than a
        day ahead (the reader's tolerance) or before 1970 is refused."""
        tracked = self._get(slo_name)
        value = float(actual_value)
        clock = self.clock()
        at = clock if timestamp is None else float(timestamp)
        if not (math.isfinite(value) and math.isfinite(at)):
            raise ValueError(f"SLO {slo_name!r}: measurement and timestamp must be finite, "
                             f"got {actual_value!r} at {timestamp!r}")
        self._count(tracked, at, clock, 1, int(tracked.slo.meets(value)), value)

    def record_events(self, slo_name: str, total: int, good: int,
                      timestamp: float | None = None) -> None:
        """Count `total` events of one moment at once, `good` of them good: what as many
        `record_measurement` calls count, for a caller that tallies its own (the old
        `ModelMonitor` tallies each minute's requests). They are not kept among the raw
        measurements `SLAReport.measurements` lists. A throughput SLO's events are rates,
        counted by `record_measurement` only."""
        tracked = self._get(slo_name)
        if tracked.slo.slo_type is SLOType.THROUGHPUT:
            raise ValueError(f"SLO {slo_name!r}: a throughput SLO counts rates; use "
                             "record_measurement")
        if not (isinstance(total, int) and isinstance(good, int) and 0 <= good <= total):
            raise ValueError(f"SLO {slo_name!r}: need whole numbers 0 <= good <= total, got "
                             f"good={good!r}, total={total!r}")
        clock = self.clock()
        at = clock if timestamp is None else float(timestamp)
        if not math.isfinite(at):
            raise ValueError(f"SLO {slo_name!r}: timestamp must be finite, got {timestamp!r}")
        if total:
            self._count(tracked, at, clock, total, good, None)

    def _count(self, tracked: _Tracked, at: float, clock: float, total: int, good: int,
               value: float | None) -> None:
        """Count events at `at` (see `record_measurement`); `value`, one measurement's, is
        kept among the raw measurements."""
        _check_time(tracked.slo.name, "timestamp", at, clock)
        minute, clock_minute = math.floor(at / MINUTE), math.floor(clock / MINUTE)
        rate = 0.0 if value is None else value
        with self._lock:
            tracked.admit(clock_minute)
            if minute > clock_minute:
                tracked.wait(minute, at, good, rate, total)
            elif tracked.ring.holds(minute):
                events = _Events()
                events.add(at, good, rate, total)
                tracked.count(minute, events)
            else:
                return
            if value is not None:
                tracked.recent.append((at, value))

    def evaluate(self, slo_name: str, at: float | None = None,
                 window_seconds: int | None = None) -> SLOStatus | None:
        """The engine's status of `slo_name` at `at` (default: its newest measurement, or the
        host clock if earlier) over `window_seconds` (default: the SLO's window, at most the
        minutes the tracker keeps for it); None before any measurement."""
        tracked = self._get(slo_name)
        clock = self.clock()
        if at is not None:
            _check_time(slo_name, "at", at, clock)
        with self._lock:
            tracked.admit(math.floor(clock / MINUTE))
            now = at if at is not None else (
                None if tracked.newest_at is None else min(tracked.newest_at, clock))
            if now is None or tracked.ring.newest is None:
                return None
            spec = tracked.spec
            if window_seconds is not None:
                kept = tracked.ring.size * MINUTE
                if not (isinstance(window_seconds, int) and MINUTE <= window_seconds <= kept):
                    raise ValueError(f"SLO {slo_name!r}: window_seconds must be a whole number "
                                     f"between {MINUTE} and {kept} (the minutes kept), got "
                                     f"{window_seconds!r}")
                spec = replace(spec, window_seconds=window_seconds)
            counts = tracked.ring.counts(spec, math.floor(now / MINUTE))
        return evaluate(spec, MODEL, counts, now)

    def get_slo_status(self, slo_name: str) -> dict[str, Any]:
        """The SLO as of its newest measurement, with the old module's keys and the engine's.

        `recent_compliance` is the compliance over the SLO's shortest burn window (the old
        module took its last 10 measurements)."""
        slo = self._get(slo_name).slo
        status = self.evaluate(slo_name)
        if status is None or status.total == 0:
            return {"status": "no_data", "slo": slo.to_dict(),
                    "message": "No measurements available"}
        breaches = status.breaches
        ongoing = breaches[-1] if breaches and breaches[-1].end is None else None
        recent_burn = status.burn_rates.get(_shortest_window(status.spec))
        return {
            "status": "ok",
            "slo": slo.to_dict(),
            "compliance_rate": status.compliance,
            "is_meeting": status.meeting,
            "total_measurements": status.total,
            "total_breaches": status.breach_count,
            "total_breach_duration": status.breached_seconds,
            "max_breach_duration": status.longest_breach_seconds,
            "error_budget_remaining": status.error_budget_remaining,
            "recent_compliance": None if recent_burn is None
            else 1.0 - recent_burn * (1.0 - status.spec.objective),
            "current_breach": ongoing is not None,
            "current_breach_duration": ongoing.duration_seconds if ongoing else 0.0,
            **status_figures(status),
        }

    def get_all_slo_status(self) -> dict[str, dict[str, Any]]:
        return {name: self.get_slo_status(name) for name in list(self.slos)}

    def generate_sla_report(
        self, slo_name: str, start_time: float | None = None, end_time: float | None = None
    ) -> SLAReport:
        """The SLO's compliance over `start_time` .. `end_time` (default: its window up to its
        newest measurement, or the host clock if earlier), judged by the engine over the whole
        minutes the range touches (the window's minutes by default). A range older than the
        minutes the tracker keeps (about two SLO windows) is cut to them: the report's
        `start_time` is then the oldest minute kept and `requested_start_time` the one asked
        for. A range of which nothing is kept, not finite, ending before it starts or more
        than a day ahead of the host clock is refused."""
        tracked = self._get(slo_name)
        clock = self.clock()
        if start_time is not None:
            _check_time(slo_name, "start_time", start_time, clock, since_1970=False)
        if end_time is not None:
            _check_time(slo_name, "end_time", end_time, clock)
        with self._lock:
            tracked.admit(math.floor(clock / MINUTE))
            newest_at, newest_minute = tracked.newest_at, tracked.ring.newest
        if end_time is not None:
            end = float(end_time)
        else:
            end = clock if newest_at is None else min(newest_at, clock)
        start = float(start_time) if start_time is not None else (
            end - tracked.spec.window_seconds)
        if start > end:
            raise ValueError(f"SLO {slo_name!r}: start_time {start!r} is after end_time "
                             f"{end!r}")
        requested = None
        last = math.floor(end / MINUTE)
        minutes = (tracked.spec.window_seconds // MINUTE if start_time is None
                   else last - math.floor(start / MINUTE) + 1)
        if newest_minute is not None:
            oldest = max(last, newest_minute) - tracked.ring.size + 1
            # the ring holds the minutes up to its newest, `counts` the ones up to `last`
            if oldest > last:
                raise ValueError(f"SLO {slo_name!r}: nothing is kept of {start!r} .. {end!r}; "
                                 f"the oldest minute kept begins at {oldest * MINUTE}")
            if last - minutes + 1 < oldest:
                requested, minutes = start, last - oldest + 1
                start = float(oldest * MINUTE)
        status = self.evaluate(slo_name, at=end, window_seconds=minutes * MINUTE)
        breaches = status.breaches if status is not None else ()
        # the measurements of the minutes counted (none of those still waiting for the clock)
        first, counted = last - minutes + 1, min(last, math.floor(clock / MINUTE))
        with self._lock:
            kept = [(at, value) for at, value in tracked.recent
                    if first <= math.floor(at / MINUTE) <= counted]
        report = SLAReport(
            start_time=start,
            requested_start_time=requested,
            end_time=end,
            slo_name=slo_name,
            measurements=_measurements(tracked.slo, kept, breaches),
            compliance_rate=status.compliance if status is not None else None,
            total_breaches=status.breach_count if status is not None else 0,
            total_breach_duration=status.breached_seconds if status is not None else 0.0,
            max_breach_duration=status.longest_breach_seconds if status is not None else 0.0,
            error_budget_remaining=status.error_budget_remaining if status is not None else None,
            status=status,
        )
        self._save(report)
        return report

    def _get(self, slo_name: str) -> _Tracked:
        tracked = self._tracked.get(slo_name)
        if tracked is None:
            raise ValueError(f"SLO not found: {slo_name}")
        return tracked

    def _save(self, report: SLAReport) -> None:
        if self.storage_path is None:
            return
        name = _FILE_UNSAFE.sub("_", report.slo_name)
        path = self.storage_path / (f"report_{name}_{int(report.start_time)}_"
                                    f"{int(report.end_time)}.json")
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
        temporary.replace(path)


_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def status_figures(status: SLOStatus) -> dict[str, Any]:
    """The engine's figures beyond the old module's, as plain values."""
    return {
        "objective": status.spec.objective,
        "sli": status.sli,
        "burn_rates": dict(status.burn_rates),
        "time_to_exhaustion_seconds": status.time_to_exhaustion_seconds,
        "breaches": [{"start": b.start, "end": b.end, "duration_seconds": b.duration_seconds}
                     for b in status.breaches],
        "alerts": [{"labels": dict(a.labels), "severity": a.severity, "summary": a.summary}
                   for a in status.alerts],
    }


def _measurements(
    slo: SLO, kept: list[tuple[float, float]], breaches: tuple[Breach, ...]
) -> list[SLOMeasurement]:
    """The kept measurements, each with how long its breach had lasted at its time."""
    if not kept:
        return []
    at = np.array([a for a, _ in kept])
    lasted = np.zeros(len(kept))
    if breaches:
        starts = np.array([b.start for b in breaches])
        ends = np.array([math.inf if b.end is None else b.end for b in breaches])
        index = np.searchsorted(starts, at, side="right") - 1
        inside = (index >= 0) & (at <= ends[np.maximum(index, 0)])
        lasted = np.where(inside, at - starts[np.maximum(index, 0)], 0.0)
    return [SLOMeasurement(a, slo.name, v, slo.target, slo.meets(v), float(d))
            for (a, v), d in zip(kept, lasted, strict=True)]


def _shortest_window(spec: SLOSpec) -> str:
    """The name of the SLO's shortest burn window (5m for a 30-day SLO)."""
    return min(burn_tiers(spec.window_seconds), key=lambda t: t.short_seconds).short_window


def _check_time(slo_name: str, what: str, at: float, clock: float, *,
                since_1970: bool = True) -> None:
    """Refuse a time that is not finite, more than a day ahead of the host clock (the reader's
    tolerance) or, with `since_1970`, before 1970."""
    if not math.isfinite(at):
        raise ValueError(f"SLO {slo_name!r}: {what} must be finite, got {at!r}")
    if at > clock + FUTURE_TOLERANCE_SECONDS:
        raise ValueError(f"SLO {slo_name!r}: {what} {at!r} is more than a day ahead of this "
                         "host's clock")
    if since_1970 and at < 0:
        raise ValueError(f"SLO {slo_name!r}: {what} {at!r} is before 1970")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def create_availability_slo(target: float = 0.999, window_hours: int = 24) -> SLO:
    """Availability SLO (e.g. 99.9% of requests served)."""
    return SLO("model_availability", SLOType.AVAILABILITY, target, window_hours * 3600,
               f"Model should be available {target * 100:.1f}% of the time")


def create_latency_slo(target_ms: float = 100.0, window_hours: int = 1) -> SLO:
    """Latency SLO: 95% of requests at most `target_ms` (a p95 below it)."""
    return SLO("prediction_latency_p95", SLOType.LATENCY, target_ms / 1000.0,
               window_hours * 3600, f"95th percentile latency should be below {target_ms}ms")


def create_accuracy_slo(target: float = 0.95, window_hours: int = 24) -> SLO:
    """Accuracy SLO (e.g. at least 95% of labelled predictions right)."""
    return SLO("model_accuracy", SLOType.ACCURACY, target, window_hours * 3600,
               f"Model accuracy should be at least {target * 100:.1f}%")


def create_error_rate_slo(target: float = 0.01, window_hours: int = 1) -> SLO:
    """Error rate SLO (e.g. at most 1% of requests failed)."""
    return SLO("error_rate", SLOType.ERROR_RATE, target, window_hours * 3600,
               f"Error rate should be below {target * 100:.1f}%")


def create_throughput_slo(target: float = 100.0, window_hours: int = 1) -> SLO:
    """Throughput SLO: 95% of minutes at `target` requests per second or more."""
    return SLO("throughput", SLOType.THROUGHPUT, target, window_hours * 3600,
               f"Throughput should be at least {target} requests/second")
