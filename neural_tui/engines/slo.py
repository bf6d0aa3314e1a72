"""Service level objectives: compliance, error budget, burn rates, breaches and burn alerts.

The types here are the contract between this engine, the runtime, the exporter, the console
and the reports.

Every SLO counts good and total events in one-minute buckets of record time, so the SLI of any
window is an exact ratio of sums (never an average of ratios). `objective` is the good fraction
the SLO promises (for an `error_rate` SLO, 1 - the configured maximum error fraction); `target`
is the number as configured, for display.

Windows end at `now` on the minute grid: a window of n minutes holds the minute containing
`now` (its events so far) and the n - 1 minutes before it. A throughput SLO's events are
one-minute slices, so it only counts complete minutes: the n minutes before the current one,
from the model's first minute on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

SLOType = Literal["availability", "error_rate", "latency", "accuracy", "throughput"]
Severity = Literal["page", "ticket"]
SLOAlertName = Literal["slo_burn_rate", "slo_no_data"]
SLO_ALERT_NAMES: tuple[SLOAlertName, ...] = get_args(SLOAlertName)
"""The rule names of every SLO's alerts (each alert also carries its SLO's name as `slo`)."""
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
    of the model names; `timed` counts requests with a latency at all (a latency SLO's total,
    as in the exporter's histogram: a request that logged no latency is no latency event;
    None counts every request). `labelled`/`correct` count predictions by the minute of the
    prediction (a late label counts when it arrives, in its prediction's minute).
    """

    first_minute: int
    requests: np.ndarray
    errors: np.ndarray
    labelled: np.ndarray
    correct: np.ndarray
    within_ms: Mapping[float, np.ndarray] = field(default_factory=dict)
    timed: np.ndarray | None = None


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

    name: SLOAlertName
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

    `breaches` holds only the newest `SHOWN_BREACHES` of the window (a flapping SLO breaches
    every other minute); `breach_count`, `breached_seconds` and `longest_breach_seconds` cover
    all of them.
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
    breach_count: int = 0
    breached_seconds: float = 0.0
    longest_breach_seconds: float = 0.0

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


MINUTE_COUNT_CAP = 1e12
"""Most events one minute may hold (16 billion a second): a larger, negative or NaN count is
corrupt input, capped or zeroed so that sums stay exact."""

SHOWN_BREACHES = 100
"""Most breaches an `SLOStatus` lists, the newest: enough for any screen or report."""

_BUDGET_TOLERANCE = 1e-12
"""Relative error of the budget absorbed: an objective like 0.9 is not exact in binary, so a
window exactly at it would otherwise read a budget of -2e-16 and count as overspent."""

_MIN_ALLOWED = 1e-9
"""The smallest budget fraction divided by: the config keeps `target` strictly between 0 and 1,
this only keeps a hand-made spec from dividing by zero."""


def evaluate(spec: SLOSpec, model: str, counts: MinuteCounts, now: float) -> SLOStatus:
    """The SLO's figures at record time `now` from the model's minute counts.

    Burn alerts need both windows of a tier above its factor and at least `min_events` events
    in the long window (for throughput, whose events are minutes, at most the long window's
    length in minutes); the first tier that fires holds back every slower one. The no-data
    alert (a ticket) fires when the SLO window holds no event of the SLO although the model
    served requests in one of its complete minutes: latencies, labels or the threshold's counts
    stopped arriving, so the SLO cannot be judged at all.
    """
    return evaluate_all((spec,), model, counts, now)[0]


def evaluate_all(specs: Iterable[SLOSpec], model: str, counts: MinuteCounts,
                 now: float) -> tuple[SLOStatus, ...]:
    """`evaluate` for each SLO of one model; SLOs that count the same events over the same
    window (availability and error_rate SLOs, latency SLOs of one threshold, ...) share their
    sums, so a model's many SLOs cost little more than its kinds of events."""
    shared: dict[tuple[object, ...], _Sums] = {}
    return tuple(_evaluate(spec, model, counts, now, shared) for spec in specs)


@dataclass(slots=True)
class _Sums:
    """Running sums of one kind of events over a span of minutes, kept from minute `lead` of
    the span on (the model's first: every minute before holds nothing), and the SLI at each
    minute end of the span's last window that sees any data (computed once asked for)."""

    lead: int
    good: np.ndarray
    """`good[j]`: the good events of minutes `lead` .. `lead + j - 1`; `total` likewise."""
    total: np.ndarray
    requests: np.ndarray
    """Requests per minute from minute `lead` on."""
    window_sli: np.ndarray | None = None
    first_evaluation: int = 0

    def between(self, low: int, high: int) -> tuple[float, float]:
        """Good and total events of minutes `low` .. `high - 1` of the span."""
        last = self.good.shape[0] - 1
        high, low = (min(max(k - self.lead, 0), last) for k in (high, low))
        return (float(self.good[high] - self.good[low]),
                float(self.total[high] - self.total[low]))


def _evaluate(spec: SLOSpec, model: str, counts: MinuteCounts, now: float,
              shared: dict[tuple[object, ...], _Sums]) -> SLOStatus:
    tiers = burn_tiers(spec.window_seconds)
    window = max(1, spec.window_seconds // MINUTE)
    windows = _burn_windows(tiers)
    if not math.isfinite(now):
        return SLOStatus(spec, model, now, 0, 0, None, None, None, dict.fromkeys(windows),
                         None, (), ())
    current = math.floor(now / MINUTE)
    span = _span(window, windows)
    # a throughput window ends with the last complete minute, the others with the current one
    start = current - span + (0 if spec.type == "throughput" else 1)
    key = (*_event_kind(spec), start, span)
    sums = shared.get(key)
    if sums is None:
        lead = min(max(counts.first_minute - start, 0), span)
        good, total, requests = _events(spec, counts, start + lead, span - lead, current)
        sums = shared[key] = _Sums(lead, _prefix_sums(good), _prefix_sums(total), requests)

    def last(minutes: int) -> tuple[float, float]:
        return sums.between(span - minutes, span)

    # a burn window slides: the minute before it counts for the part of a minute not yet run
    run = 1.0 if spec.type == "throughput" else min(max(now / MINUTE - current, 0.0), 1.0)

    def sliding(minutes: int) -> tuple[float, float]:
        good, total = last(minutes)
        if run >= 1.0:
            return good, total
        before_good, before_total = sums.between(span - minutes - 1, span - minutes)
        return good + (1.0 - run) * before_good, total + (1.0 - run) * before_total

    allowed = 1.0 - spec.objective
    if not allowed > 0.0:
        allowed = _MIN_ALLOWED
    window_good, window_total = last(window)
    compliance = window_good / window_total if window_total > 0 else None
    bad_fraction = None if compliance is None else (window_total - window_good) / window_total
    sli = bad_fraction if spec.type == "error_rate" else compliance
    remaining = _remaining(window_good, window_total, allowed)
    burn_rates = {name: _burn(*sliding(minutes), allowed) for name, minutes in windows.items()}
    page = next(tier for tier in tiers if tier.severity == "page")
    served = float(sums.requests[max(span - window - sums.lead, 0):
                                 max(span - 1 - sums.lead, 0)].sum())
    shown, breach_count, breached_seconds, longest = _breaches(sums, window, span, start, now,
                                                               spec.objective)
    return SLOStatus(
        spec=spec,
        model=model,
        at=now,
        good=round(window_good),
        total=round(window_total),
        sli=sli,
        compliance=compliance,
        error_budget_remaining=remaining,
        burn_rates=burn_rates,
        time_to_exhaustion_seconds=_exhaustion(remaining, burn_rates[page.long_window],
                                               spec.window_seconds),
        breaches=shown,
        alerts=_alerts(spec, model, tiers, burn_rates, sliding, window_total, served),
        breach_count=breach_count,
        breached_seconds=breached_seconds,
        longest_breach_seconds=longest,
    )


def _event_kind(spec: SLOSpec) -> tuple[object, ...]:
    """What an SLO counts: SLOs of one kind have the same good and total events."""
    if spec.type in ("availability", "error_rate"):
        return ("errors",)
    if spec.type == "latency":
        return ("latency", spec.threshold_ms)
    if spec.type == "throughput":
        return ("throughput", spec.min_rps)
    return (spec.type,)


def history_minutes(window_seconds: int) -> int:
    """Minutes of counts, up to the current one, that `evaluate` reads for an SLO window: the
    window at each of its own minute ends (for breaches), so twice the window less a minute, and
    every burn tier's windows (never longer). Older minutes can be forgotten."""
    return _span(max(1, window_seconds // MINUTE), _burn_windows(burn_tiers(window_seconds)))


def _span(window: int, burn_windows: Mapping[str, int]) -> int:
    return max(2 * window - 1, *(minutes + 1 for minutes in burn_windows.values()))


def _burn_windows(tiers: tuple[BurnTier, ...]) -> dict[str, int]:
    """Every window of the tiers by name, in minutes, fastest tier first."""
    return {name: seconds // MINUTE for tier in tiers for name, seconds in
            ((tier.long_window, tier.long_seconds), (tier.short_window, tier.short_seconds))}


def _column(values: np.ndarray, first_minute: int, start: int, length: int) -> np.ndarray:
    """`values` for the minutes `start` .. `start + length - 1` as clean counts (int64 stays
    int64, anything else becomes float64): zero where there is no data, NaN and negatives
    zeroed, the rest capped at `MINUTE_COUNT_CAP`."""
    offset = start - first_minute
    stored = len(values)
    low, high = min(max(offset, 0), stored), min(max(offset + length, 0), stored)
    raw = np.asarray(values[low:high])
    if raw.dtype.kind in "iu":
        clean = raw.astype(np.int64, copy=False)
        if clean.shape[0] and (clean.min() < 0 or clean.max() > MINUTE_COUNT_CAP):
            clean = np.clip(clean, 0, int(MINUTE_COUNT_CAP))
    else:
        clean = np.nan_to_num(raw.astype(np.float64), nan=0.0, posinf=MINUTE_COUNT_CAP,
                              neginf=0.0)
        np.clip(clean, 0.0, MINUTE_COUNT_CAP, out=clean)
    if high - low == length:
        return clean
    out = np.zeros(length, dtype=clean.dtype)
    if high > low:
        out[low - offset : high - offset] = clean
    return out


def _events(spec: SLOSpec, counts: MinuteCounts, start: int, span: int,
            current: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Good and total events per minute of the span in the SLO's terms, and the requests."""
    def column(values: np.ndarray) -> np.ndarray:
        return _column(values, counts.first_minute, start, span)

    requests = column(counts.requests)
    if spec.type == "throughput":
        total = np.zeros(span, dtype=np.int64)
        total[min(max(counts.first_minute - start, 0), span):max(current - start, 0)] = 1
        rate = spec.min_rps if spec.min_rps is not None else 0.0
        return total * (requests / MINUTE >= rate), total, requests
    if spec.type == "latency":
        within = counts.within_ms.get(spec.threshold_ms) if spec.threshold_ms is not None else None
        if within is None:
            nothing = np.zeros(span, dtype=np.int64)
            return nothing, nothing, requests
        total = requests if counts.timed is None else column(counts.timed)
        return np.minimum(column(within), total), total, requests
    if spec.type == "accuracy":
        labelled = column(counts.labelled)
        return np.minimum(column(counts.correct), labelled), labelled, requests
    return requests - np.minimum(column(counts.errors), requests), requests, requests


def _prefix_sums(values: np.ndarray) -> np.ndarray:
    """0 followed by the running sums: the sum of minutes i .. j - 1 is `sums[j] - sums[i]`."""
    sums = np.empty(values.shape[0] + 1, dtype=values.dtype)
    sums[0] = 0
    np.cumsum(values, out=sums[1:])
    return sums


def _burn(good: float, total: float, allowed: float) -> float | None:
    return None if total <= 0 else (total - good) / total / allowed


def _remaining(good: float, total: float, allowed: float) -> float | None:
    """1 - (bad/total)/allowed from the counts, exactly 0 (never -0) when the bad events are
    exactly the budget: `allowed * total` events may go bad."""
    if not total > 0:
        return None
    budget = allowed * total
    remaining = (budget - (total - good)) / budget
    return 0.0 if abs(remaining) <= _BUDGET_TOLERANCE else remaining


def _exhaustion(remaining: float | None, burn: float | None, window_seconds: int) -> float | None:
    """Seconds until the budget is spent at `burn` (budgets per window): 0 once spent."""
    if remaining is None:
        return None
    if remaining <= 0:
        return 0.0
    if burn is None or burn <= 0:
        return None
    return remaining * window_seconds / burn


def _breaches(sums: _Sums, window: int, span: int, start: int, now: float,
              objective: float) -> tuple[tuple[Breach, ...], int, float, float]:
    """The newest `SHOWN_BREACHES` stretches of the SLO window ending now where the SLI over
    the SLO window, evaluated at each minute end (and at `now` for the minute in progress,
    except for throughput), is below the objective; and the count, total seconds and longest
    duration of them all (a flapping SLO may breach every other minute: only numpy per breach).

    A breach begins at the first evaluation below and ends at the first one meeting again; one
    already running when the window opens begins at its first evaluation. An evaluation without
    events ends a breach (there is nothing to judge).
    """
    if sums.window_sli is None:
        sums.first_evaluation, sums.window_sli = _window_sli(sums, window, span)
    below = sums.window_sli < objective  # NaN (no events) is never below
    if not below.shape[0]:
        return (), 0, 0.0, 0.0
    evaluations = span - window + 1
    # where a stretch below begins or ends: every change, and the ends when below there
    edges = np.flatnonzero(below[1:] != below[:-1]) + 1
    if below[0]:
        edges = np.concatenate(([0], edges))
    if below[-1]:
        edges = np.concatenate((edges, [below.shape[0]]))
    edges += sums.first_evaluation
    at = np.minimum((float(start + window) + edges) * MINUTE, now)
    began, ended = at[::2], at[1::2]
    durations = ended - began  # an ongoing breach "ends" at now: it has lasted now - began
    ongoing = bool(edges.shape[0]) and int(edges[-1]) == evaluations
    newest = slice(max(0, began.shape[0] - SHOWN_BREACHES), None)
    shown = [Breach(start_at, end_at, lasted) for start_at, end_at, lasted in
             zip(began[newest].tolist(), ended[newest].tolist(), durations[newest].tolist(),
                 strict=True)]
    if ongoing:
        shown[-1] = Breach(shown[-1].start, None, shown[-1].duration_seconds)
    return (tuple(shown), int(began.shape[0]), float(durations.sum()),
            float(durations.max(initial=0.0)))


def _window_sli(sums: _Sums, window: int, span: int) -> tuple[int, np.ndarray]:
    """The SLI over the window at each evaluation that sees data, and the first of them.

    Evaluation i judges minutes i .. i + window - 1 of the span, the last being minute
    start + window - 1 + i; those ending before the data (minute `lead`) judge nothing.
    """
    lead, last = sums.lead, span - window
    first = max(lead - window + 1, 0)
    if first > last:
        return first, np.zeros(0)
    empty = min(lead, last + 1) - first  # evaluations whose window opens before the data
    bounds = []
    for running in (sums.good, sums.total):
        upper = running[first + window - lead : span - lead + 1]
        lower = running[max(first, lead) - lead : max(last - lead + 1, 0)]
        if empty > 0:
            lower = np.concatenate((np.zeros(empty, dtype=running.dtype), lower))
        bounds.append(upper - lower)
    with np.errstate(divide="ignore", invalid="ignore"):
        return first, bounds[0] / bounds[1]


def _alerts(spec: SLOSpec, model: str, tiers: tuple[BurnTier, ...],
            burn_rates: Mapping[str, float | None],
            last: Callable[[int], tuple[float, float]], window_total: float,
            served: float) -> tuple[SLOAlert, ...]:
    base = {"slo": spec.name, "model": model}
    for tier in tiers:
        long_burn, short_burn = burn_rates[tier.long_window], burn_rates[tier.short_window]
        long_minutes = tier.long_seconds // MINUTE
        needed = spec.min_events
        if spec.type == "throughput":
            needed = min(needed, long_minutes)
        if (long_burn is not None and short_burn is not None and long_burn > tier.factor
                and short_burn > tier.factor and last(long_minutes)[1] >= needed):
            labels = {**base, "severity": tier.severity, "long_window": tier.long_window,
                      "short_window": tier.short_window}
            summary = (f"error budget burning {long_burn:.3g}x over {tier.long_window} and "
                       f"{short_burn:.3g}x over {tier.short_window} (limit {tier.factor:g}x)")
            return (SLOAlert("slo_burn_rate", tier.severity, labels, summary, long_burn,
                             short_burn),)
    if window_total == 0 and served > 0:
        window_name = duration_name(spec.window_seconds)
        summary = f"no SLO events in {window_name} although the model served requests"
        return (SLOAlert("slo_no_data", "ticket", {**base, "severity": "ticket"}, summary),)
    return ()
