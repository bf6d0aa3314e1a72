"""Service level objectives: compliance, error budget, burn rates, breaches and burn alerts.

INTERFACE DRAFT (the lead's): the types below are the contract between the SLO engine, the
runtime, the exporter, the console and the reports. The functions are filled in by the SLO
engine's owner; nobody else changes a type here without saying so.

Every SLO counts good and total events in one-minute buckets of record time, so the SLI of any
window is an exact ratio of sums. `objective` is the good fraction the SLO promises (for an
`error_rate` SLO, 1 - the configured maximum error fraction); `target` is the number as
configured, for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

SLOType = Literal["availability", "error_rate", "latency", "accuracy", "throughput"]
Severity = Literal["page", "ticket"]
MINUTE = 60


@dataclass(frozen=True, slots=True)
class SLOSpec:
    """One `[[slo]]` entry as the engine needs it (the runtime maps the config onto it)."""

    name: str
    type: SLOType
    target: float
    window_seconds: int
    model: str | None = None
    threshold_ms: float | None = None
    min_rps: float | None = None
    min_events: int = 20
    """Fewest events in a burn tier's long window for it to alert (the low-traffic guard)."""

    @property
    def objective(self) -> float:
        """The good fraction promised: `target`, or 1 - `target` for an error_rate SLO."""
        return 1.0 - self.target if self.type == "error_rate" else self.target


@dataclass(frozen=True, slots=True)
class BurnTier:
    """One multi-window burn-rate condition: both windows burn faster than `factor`."""

    severity: Severity
    long_window: str
    long_seconds: int
    short_window: str
    short_seconds: int
    factor: float


@dataclass(frozen=True, slots=True)
class MinuteCounts:
    """One model's events per minute of record time, oldest first, for the minutes
    `first_minute` .. `first_minute + len - 1` (minute = floor(unix seconds / 60)).

    `within_ms[t]` counts requests with a latency of at most `t` ms, for each threshold an SLO
    of the model names; `labelled`/`correct` count predictions by the minute of the
    prediction (a late label counts when it arrives, in its prediction's minute).
    """

    first_minute: int
    requests: np.ndarray
    errors: np.ndarray
    labelled: np.ndarray
    correct: np.ndarray
    within_ms: Mapping[float, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Breach:
    """A stretch of time during which the SLO was not met (SLI over its window below the
    objective), counted once: `end` None while it lasts."""

    start: float
    end: float | None
    duration_seconds: float


@dataclass(frozen=True, slots=True)
class SLOAlert:
    """A burn-rate (or no-data) alert the SLO engine raises; routed like any other alert.

    `labels` holds `slo`, `model`, `severity` and, for burn alerts, `long_window` and
    `short_window`.
    """

    name: Literal["slo_burn_rate", "slo_no_data"]
    severity: Severity
    labels: Mapping[str, str]
    summary: str
    long_burn_rate: float | None = None
    short_burn_rate: float | None = None


@dataclass(frozen=True, slots=True)
class SLOStatus:
    """One SLO of one model at one instant (record time `at`).

    `sli` is stated in the SLO's own terms (an error_rate SLO's SLI is the error fraction);
    `compliance` is always the good fraction over the window. Burn rates are keyed by window
    name ("1h", "5m", ...); a figure over a window without events is None.
    """

    spec: SLOSpec
    model: str
    at: float
    good: int
    total: int
    sli: float | None
    compliance: float | None
    error_budget_remaining: float | None
    burn_rates: Mapping[str, float | None]
    time_to_exhaustion_seconds: float | None
    breaches: tuple[Breach, ...]
    alerts: tuple[SLOAlert, ...]

    @property
    def meeting(self) -> bool | None:
        return None if self.compliance is None else self.compliance >= self.spec.objective

    @property
    def exhausted(self) -> bool:
        return self.error_budget_remaining is not None and self.error_budget_remaining <= 0

    @property
    def paging(self) -> bool:
        return any(alert.severity == "page" for alert in self.alerts)


WORKBOOK_WINDOW_SECONDS = 30 * 86_400
_WORKBOOK_TIERS: tuple[tuple[Severity, int, int, float], ...] = (
    ("page", 3600, 300, 14.4),
    ("page", 6 * 3600, 1800, 6.0),
    ("ticket", 3 * 86_400, 6 * 3600, 1.0),
)
"""The SRE workbook's multi-window, multi-burn-rate alerts for a 30-day SLO: severity, long
window, short window, burn-rate factor."""


def burn_tiers(window_seconds: int) -> tuple[BurnTier, ...]:
    """The SRE workbook's tiers for a 30-day window, scaled to `window_seconds`.

    Each window keeps its share of the SLO window, rounded to whole minutes (the buckets'
    resolution) and at least one; the factors stay, so each tier still fires on the same share
    of the budget spent.
    """
    scale = window_seconds / WORKBOOK_WINDOW_SECONDS
    tiers = []
    for severity, long_seconds, short_seconds, factor in _WORKBOOK_TIERS:
        long_scaled, short_scaled = _minutes(long_seconds * scale), _minutes(short_seconds * scale)
        tiers.append(BurnTier(severity, duration_name(long_scaled), long_scaled,
                              duration_name(short_scaled), short_scaled, factor))
    return tuple(tiers)


def _minutes(seconds: float) -> int:
    return max(1, round(seconds / MINUTE)) * MINUTE


def duration_name(seconds: int) -> str:
    """`seconds` as Prometheus writes a duration: "30d", "1h", "2h20m", "5m", "90s"."""
    parts = []
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def evaluate(spec: SLOSpec, model: str, counts: MinuteCounts, now: float) -> SLOStatus:
    """The SLO's figures at record time `now` from the model's minute counts."""
    raise NotImplementedError
