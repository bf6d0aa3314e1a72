"""Rates and latency quantiles of a remote model between two scrapes, by Prometheus' rules.

A target's counters only ever say "so many since the exporter started"; what the console shows
is what happened between two polls. The arithmetic is Prometheus' own, so that the target source
and a `sum(rate())`/`histogram_quantile()` query over the same exporter agree: each counter
series that went down restarted from zero (`counter_increase`) and the series' increases are
summed, and a quantile is interpolated linearly inside the bucket it falls in
(`histogram_quantile`). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from neural_tui.remote_models import RemoteModel
from neural_tui.sources.exposition import CounterKey, ScrapedModel

QUANTILES = (0.5, 0.95, 0.99)


def counter_increase(previous: float, current: float) -> float:
    """How much a counter grew: a counter that went down was reset and counted up from zero
    since, so all of its new value is the increase."""
    return current - previous if current >= previous else current


def histogram_quantile(q: float, bounds: Sequence[float], cumulative: Sequence[float],
                       total: float) -> float | None:
    """The `q` quantile of a cumulative histogram, as PromQL's `histogram_quantile` answers.

    `cumulative[i]` counts observations <= `bounds[i]` (finite, ascending); `total` is the +Inf
    bucket. Counts that fall from one bucket to the next are raised to the one before (as
    Prometheus does), the lowest bucket starts at 0 (or is answered as its bound when that is
    not above 0), a rank in the +Inf bucket answers the highest finite bound, and no
    observations (or no finite bucket) answer None.
    """
    if not bounds or not 0 <= q <= 1:
        return None
    counts = [*cumulative, total]
    highest = -math.inf
    for i, count in enumerate(counts):
        highest = max(highest, count)
        counts[i] = highest
    observations = counts[-1]
    if observations <= 0:
        return None
    rank = q * observations
    b = next(i for i, count in enumerate(counts) if count >= rank)
    if b == len(bounds):
        return bounds[-1]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start = bounds[b - 1] if b > 0 else 0.0
    below = counts[b - 1] if b > 0 else 0.0
    in_bucket = counts[b] - below
    if in_bucket <= 0:
        return start
    return start + (bounds[b] - start) * ((rank - below) / in_bucket)


@dataclass(frozen=True, slots=True)
class WindowRates:
    """What one model did between two scrapes: predictions a second, errors per prediction
    (None without predictions), and the latency quantiles in milliseconds (None without
    observations, or when the histogram's buckets changed between the scrapes)."""

    throughput_rps: float
    error_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


def window_rates(previous: ScrapedModel, current: ScrapedModel, seconds: float) -> WindowRates:
    """The rates of `current` against `previous`, scraped `seconds` apart (> 0).

    Each counter series' increase is its own (`counter_increase`), and a model's figure is the
    sum of its series' increases. A series new since `previous` (an error type, an instance)
    counts from zero: it appeared between the scrapes."""
    return poll_increase(previous, current, seconds).rates()


@dataclass(frozen=True, slots=True)
class PollIncrease:
    """What one model's counters gained between two polls `seconds` apart, by figure (and
    error type or bucket bound); `bounds` are the latency buckets of both scrapes, None when
    either has none or they differ (then no quantile can be read from the increases)."""

    seconds: float
    increases: Mapping[tuple[str, str | float], float]
    bounds: tuple[float, ...] | None

    def rates(self) -> WindowRates:
        return _rates(self.increases, self.seconds, self.bounds)


def poll_increase(previous: ScrapedModel, current: ScrapedModel, seconds: float
                  ) -> PollIncrease:
    """`current`'s gains since `previous`, scraped `seconds` apart."""
    same = (previous.latency is not None and current.latency is not None
            and previous.latency.bounds_seconds == current.latency.bounds_seconds)
    return PollIncrease(seconds, _increases(previous.counters, current.counters),
                        current.latency.bounds_seconds if same and current.latency else None)


class RateWindow:
    """A model's poll increases over the last `seconds` (at least the newest poll), so that
    its rates cover a window as `rate(x[1m])` does rather than one poll: a producer that
    writes every 5 s, polled every 5 s, would read 0 and twice the rate by turns."""

    __slots__ = ("_polls", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._polls: deque[PollIncrease] = deque()

    def add(self, poll: PollIncrease) -> None:
        """Keep `poll`; older polls go once the newer ones span the window, and all of them
        when the buckets changed (their increases would not add up)."""
        if self._polls and self._polls[-1].bounds != poll.bounds:
            self._polls.clear()
        self._polls.append(poll)
        while (len(self._polls) > 1
               and sum(p.seconds for p in self._polls) - self._polls[0].seconds
               >= self.seconds):
            self._polls.popleft()

    @property
    def covered_seconds(self) -> float:
        return sum(poll.seconds for poll in self._polls)

    def rates(self) -> WindowRates:
        """The rates over every poll kept (call after one `add` at least)."""
        increases: dict[tuple[str, str | float], float] = {}
        for poll in self._polls:
            for figure, increase in poll.increases.items():
                increases[figure] = increases.get(figure, 0.0) + increase
        return _rates(increases, self.covered_seconds, self._polls[-1].bounds)


def _rates(increases: Mapping[tuple[str, str | float], float], seconds: float,
           bounds: tuple[float, ...] | None) -> WindowRates:
    predictions = increases.get(("predictions", ""), 0.0)
    errors = sum(increase for (figure, _), increase in increases.items() if figure == "errors")
    p50, p95, p99 = _latency_quantiles(bounds, increases)
    return WindowRates(
        throughput_rps=_finite(predictions / seconds) or 0.0,
        error_rate=_finite(errors / predictions) if predictions > 0 else None,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
    )


def _increases(previous: Mapping[CounterKey, float], current: Mapping[CounterKey, float]
               ) -> dict[tuple[str, str | float], float]:
    """Each figure's increase (by error type or bucket bound): the sum of its series'."""
    increases: dict[tuple[str, str | float], float] = {}
    for key, count in current.items():
        figure = key[:2]
        increases[figure] = (increases.get(figure, 0.0)
                             + counter_increase(previous.get(key, 0.0), count))
    return increases


def _latency_quantiles(bounds: tuple[float, ...] | None,
                       increases: Mapping[tuple[str, str | float], float]
                       ) -> tuple[float | None, float | None, float | None]:
    """The quantiles of the buckets' increases; the observations are the +Inf bucket's, else
    the count's (as the histogram's count is read, `exposition._latency`)."""
    if bounds is None:
        return None, None, None
    buckets = [increases.get(("bucket", bound), 0.0) for bound in bounds]
    total = increases.get(("bucket", math.inf), increases.get(("count", ""), 0.0))
    quantiles = []
    for q in QUANTILES:
        seconds = histogram_quantile(q, bounds, buckets, total)
        quantiles.append(_finite(seconds * 1000.0) if seconds is not None else None)
    return quantiles[0], quantiles[1], quantiles[2]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class ModelSeries:
    """The sparkline points of one remote model, one per poll, the newest `points` of them:
    throughput, error rate and p95 (0 where a poll saw no traffic, as the local series read)."""

    __slots__ = ("error_rate", "latency_p95", "throughput")

    def __init__(self, points: int) -> None:
        self.throughput: deque[float] = deque(maxlen=points)
        self.error_rate: deque[float] = deque(maxlen=points)
        self.latency_p95: deque[float] = deque(maxlen=points)

    def add(self, rates: WindowRates) -> None:
        self.throughput.append(rates.throughput_rps)
        self.error_rate.append(rates.error_rate or 0.0)
        self.latency_p95.append(rates.latency_p95_ms or 0.0)


def remote_model(current: ScrapedModel, rates: WindowRates | None, window_seconds: float,
                 series: ModelSeries, instance: str) -> RemoteModel:
    """`current` with its rates (None before its second scrape) and its series so far."""
    return RemoteModel(
        name=current.name,
        version=current.version,
        predictions_total=current.predictions_total,
        errors_total=current.errors_total,
        latency=current.latency,
        throughput_rps=rates.throughput_rps if rates is not None else None,
        error_rate=rates.error_rate if rates is not None else None,
        latency_p50_ms=rates.latency_p50_ms if rates is not None else None,
        latency_p95_ms=rates.latency_p95_ms if rates is not None else None,
        latency_p99_ms=rates.latency_p99_ms if rates is not None else None,
        window_seconds=window_seconds,
        throughput_series=tuple(series.throughput),
        error_rate_series=tuple(series.error_rate),
        latency_p95_series=tuple(series.latency_p95),
        drift_scores=current.drift_scores,
        figures=current.figures,
        instance=instance,
    )
