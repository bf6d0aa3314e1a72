"""A remote model as the console and the reports see every model: a `ModelSnapshot`.

A remote source knows only what an exporter published, so the snapshot carries no engine
reports; its exported figures ride along as `ModelSnapshot.remote`, and what a source could not
compute yet (a rate before a target's second scrape) reads as zero with the reason in
`analysis_waiting`. A count that is not finite (a source's sum that overflowed) reads as 0:
one endpoint's number must never stop the snapshot that every model is published in.
"""

from __future__ import annotations

import math

from neural_tui.remote_models import RemoteModel, RemoteView
from neural_tui.runtime.snapshot import LatencyHistogram, ModelSnapshot

RATES_PENDING = "rates need a second scrape"


def remote_model_snapshots(view: RemoteView) -> tuple[ModelSnapshot, ...]:
    """Every model of one round of a remote source, sorted by name and version."""
    models = sorted(view.models, key=lambda m: (m.name, m.version))
    return tuple(remote_model_snapshot(model, view.label) for model in models)


def remote_model_snapshot(model: RemoteModel, label: str) -> ModelSnapshot:
    """`model` as a snapshot whose `source` is `label`."""
    latency = model.latency
    histogram = (
        LatencyHistogram(
            cumulative_counts=tuple(_whole(c) for c in latency.cumulative_counts),
            count=_whole(latency.count),
            sum_seconds=latency.sum_seconds,
            bounds_seconds=latency.bounds_seconds,
        )
        if latency is not None
        else LatencyHistogram(cumulative_counts=(), count=0, sum_seconds=0.0, bounds_seconds=())
    )
    figures = model.figures
    drifted = [f.drifted for f in figures.feature_drift if f.drifted is not None]
    return ModelSnapshot(
        name=model.name,
        version=model.version,
        predictions_total=_whole(model.predictions_total),
        errors_total={kind: _whole(n) for kind, n in model.errors_total.items()},
        latency=histogram,
        labels_total=0,
        labels_joined=0,
        last_record_at=None,
        window_seconds=model.window_seconds,
        throughput_rps=model.throughput_rps or 0.0,
        error_rate=model.error_rate or 0.0,
        latency_p50_ms=model.latency_p50_ms,
        latency_p95_ms=model.latency_p95_ms,
        latency_p99_ms=model.latency_p99_ms,
        throughput_series=model.throughput_series,
        error_rate_series=model.error_rate_series,
        latency_p95_series=model.latency_p95_series,
        drift_scores=dict(model.drift_scores),
        drifted=any(drifted) if drifted else None,
        analysis_waiting=RATES_PENDING if model.throughput_rps is None else None,
        source=label,
        remote=figures,
        instance=model.instance,
    )


def _whole(count: float) -> int:
    return int(count) if math.isfinite(count) else 0
