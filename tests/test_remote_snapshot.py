"""A remote model as a `ModelSnapshot`: whatever numbers its source hands over."""

from __future__ import annotations

import math

from neural_tui.remote_models import RemoteLatency, RemoteModel
from neural_tui.runtime.remote_snapshot import RATES_PENDING, remote_model_snapshot


def test_counts_that_are_not_finite_read_as_zero_rather_than_stopping_the_snapshot():
    model = RemoteModel(
        name="m", version="1", predictions_total=math.inf, errors_total={"x": math.nan},
        latency=RemoteLatency(bounds_seconds=(0.1,), cumulative_counts=(math.inf,),
                              count=math.inf, sum_seconds=1.0),
        throughput_rps=None, error_rate=None, latency_p50_ms=None, latency_p95_ms=None,
        latency_p99_ms=None, window_seconds=5.0)
    snapshot = remote_model_snapshot(model, "target a")
    assert (snapshot.predictions_total, snapshot.errors_total) == (0, {"x": 0})
    assert (snapshot.latency.cumulative_counts, snapshot.latency.count) == ((0,), 0)
    assert (snapshot.source, snapshot.analysis_waiting) == ("target a", RATES_PENDING)
