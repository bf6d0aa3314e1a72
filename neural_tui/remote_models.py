"""What a remote source says of the fleet: models read from `/metrics` endpoints or Prometheus.

A local model comes from its records; a remote one only from what its exporter published. The
remote sources (`neural_tui.sources.targets`, `neural_tui.sources.prometheus`) hand the runtime
a `RemoteView` per round, and the runtime turns each `RemoteModel` into a `ModelSnapshot`
beside the local models, carrying the exported figures as `RemoteFigures`. Like `records.py`,
this module is the one shape both sides share, and imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how a remote source reads: a target's `/metrics` URL or a Prometheus base
    URL, its name, how often and how long it may take, and its credentials (a bearer token,
    or a username and password), already read from the config."""

    name: str
    url: str
    interval_seconds: float
    timeout_seconds: float
    bearer_token: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class FeatureDriftFigure:
    """One feature's exported drift: the deciding `statistic` of `test` (its scale depends on
    the test), and whether the exporter judged it drifted against `threshold` (None: it did
    not say). For a test that decides by p-value (`ks`, `chi2`, `z`) the threshold is alpha,
    compared with `p_value` (`neural_feature_drift_p_value`), not with the statistic."""

    feature: str
    test: str
    statistic: float
    drifted: bool | None = None
    threshold: float | None = None
    p_value: float | None = None


@dataclass(frozen=True, slots=True)
class SLOFigure:
    """One SLO as exported: compliance over its window and the share of its error budget left
    (both 0 to 1, None if not exported), and the burn rate by window name ("5m", "1h", ...)."""

    slo: str
    compliance: float | None = None
    budget_remaining: float | None = None
    burn_rates: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteFigures:
    """What a remote exporter publishes of a model beyond its traffic: the figures a local
    model's engines would compute, only as numbers (a remote model has no raw records, so no
    histograms of feature values). None: not exported."""

    feature_drift: tuple[FeatureDriftFigure, ...] = ()
    quality_score: float | None = None
    missing_rate: float | None = None
    outlier_rate: float | None = None
    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    slos: tuple[SLOFigure, ...] = ()
    alerts_firing: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """Firing alerts by (rule, severity), from `neural_alerts_firing`."""


@dataclass(frozen=True, slots=True)
class RemoteLatency:
    """The exported latency histogram (cumulative, Prometheus' shape), summed over the source's
    instances: `cumulative_counts[i]` counts latencies <= `bounds_seconds[i]`."""

    bounds_seconds: tuple[float, ...]
    cumulative_counts: tuple[float, ...]
    count: float
    sum_seconds: float


@dataclass(frozen=True, slots=True)
class RemoteModel:
    """One (model, version) as a remote source sees it at `RemoteView.at`.

    Totals are the exported counters (summed over instances); rates and quantiles cover the
    source's rate window and are None until it can compute them (a target needs two scrapes);
    the series hold one point per source interval, oldest first.
    """

    name: str
    version: str
    predictions_total: float
    errors_total: Mapping[str, float]
    latency: RemoteLatency | None
    throughput_rps: float | None
    error_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    window_seconds: float
    throughput_series: tuple[float, ...] = ()
    error_rate_series: tuple[float, ...] = ()
    latency_p95_series: tuple[float, ...] = ()
    drift_scores: Mapping[str, float] = field(default_factory=dict)
    """`neural_drift_score` by `drift_type`."""
    figures: RemoteFigures = field(default_factory=RemoteFigures)
    instance: str = ""
    """Which endpoint of the source reported it: a target's name; for Prometheus, the
    `instance` labels joined, or empty."""


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One polled endpoint: up or down (`detail` says why, one line), when it last answered,
    and how long its last poll took; what `neural_target_up{target}` exports."""

    name: str
    url: str
    up: bool
    detail: str = ""
    last_success_at: float | None = None
    last_poll_seconds: float | None = None
    scraped_by: str = ""
    """Empty when this process polls the endpoint itself; else the label of the source that
    reports another scraper's word on it (`prometheus`: Prometheus' `up` for an exporter it
    scrapes), so the console counts it under that source, not as a target of its own."""


@dataclass(frozen=True, slots=True)
class RemoteView:
    """One round of a remote source: every model it sees and the state of its endpoints."""

    label: str
    at: float
    models: tuple[RemoteModel, ...]
    targets: tuple[TargetStatus, ...] = ()
    problem: str | None = None
    """Why the source as a whole could not read (Prometheus unreachable), else None."""


class RemoteSource(Protocol):
    """A source of `RemoteView`s: `views()` yields each view as it is read until cancelled,
    never blocking the event loop and never letting one slow endpoint delay the others;
    `fetch()` makes one round of every view (what the one-shot commands use).

    A view's label is what groups its models in the console (`ModelSnapshot.source`): the
    target source yields one view per target, labelled `target NAME`; the Prometheus source
    one view labelled `prometheus`. A newer view replaces the older one of the same label.
    """

    @property
    def label(self) -> str: ...

    def views(self) -> AsyncIterator[RemoteView]: ...

    async def fetch(self) -> tuple[RemoteView, ...]: ...
