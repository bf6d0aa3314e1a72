"""A real Prometheus scrapes the exporter and reads back what the snapshot says."""

from __future__ import annotations

import pytest
from factories import idle_model_snapshot

from neural_tui.metrics_server import MetricsServer
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    IngestStats,
    LatencyHistogram,
    Snapshot,
)

pytestmark = pytest.mark.real_server


def by_model(result: list[dict]) -> dict[tuple[str, str], float]:
    return {
        (series["metric"]["model"], series["metric"]["version"]): float(series["value"][1])
        for series in result
    }


def test_prometheus_reads_the_exported_totals_and_histogram_counts_per_model(
    start_prometheus
):
    hostile = 'a"b\nc\\d'
    snapshot = Snapshot(
        generated_at=1_000.0,
        models=(
            idle_model_snapshot(
                "churn",
                "1.0",
                predictions_total=120,
                latency=LatencyHistogram(
                    tuple(range(1, len(LATENCY_BUCKETS_SECONDS) + 1)), 118, 9.5
                ),
            ),
            idle_model_snapshot("churn", "2.0", predictions_total=7),
            idle_model_snapshot(hostile, "0.1", predictions_total=3),
        ),
        ingest=IngestStats(records_total=130, line_problems={}),
    )
    with MetricsServer(lambda: snapshot) as server:
        prometheus = start_prometheus([server.address])

        totals = prometheus.wait_for("neural_predictions_total", lambda result: len(result) == 3)
        counts = prometheus.query("neural_prediction_latency_seconds_count")

    assert by_model(totals) == {("churn", "1.0"): 120, ("churn", "2.0"): 7, (hostile, "0.1"): 3}
    assert by_model(counts) == {("churn", "1.0"): 118, ("churn", "2.0"): 0, (hostile, "0.1"): 0}
