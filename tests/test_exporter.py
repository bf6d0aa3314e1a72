"""The Prometheus exporter: what a scrape of `/metrics` says about a snapshot, and the server."""

from __future__ import annotations

import gzip
import json
import math
import socket
import subprocess
import sys

import httpx
import numpy as np
import pytest
from exposition import exposition, labels, samples
from factories import idle_model_snapshot
from prometheus_client.parser import text_string_to_metric_families

from neural_tui.config import Settings, StorageSection
from neural_tui.exporter import SnapshotCollector, build_registry
from neural_tui.metrics_server import MetricsServer, MetricsServerBindError
from neural_tui.records import IngestBatch
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    HistoryProgress,
    IngestStats,
    LatencyHistogram,
    ModelSnapshot,
    Snapshot,
    SourceHealth,
)
from tests.batches import make_batch


def snapshot_of(*models: ModelSnapshot, generated_at: float = 1_000.0) -> Snapshot:
    return Snapshot(generated_at=generated_at, models=models, ingest=IngestStats(0, {}))


def model_lines(text: str) -> list[str]:
    """The exposition lines about models, leaving out the process metrics that vary per scrape."""
    return [line for line in text.splitlines() if "neural_" in line]


def test_predictions_total_is_one_counter_series_per_model_and_version():
    text = exposition(
        snapshot_of(
            idle_model_snapshot("churn", "1.0", predictions_total=120),
            idle_model_snapshot("churn", "2.0", predictions_total=7),
            idle_model_snapshot("fraud", "0.3", predictions_total=0),
        )
    )

    assert "# TYPE neural_predictions_total counter" in text
    assert "_total_total" not in text
    assert samples(text, "neural_predictions_total") == {
        labels(model="churn", version="1.0"): 120,
        labels(model="churn", version="2.0"): 7,
        labels(model="fraud", version="0.3"): 0,
    }


def test_latency_histogram_buckets_are_cumulative_and_inf_equals_count():
    # Latencies 0.0002, 0.003, 0.02, 0.3, 4.0 and 12.0 s, bucketed by hand (upper bounds
    # inclusive).
    by_bound = {
        0.0001: 0, 0.00025: 1, 0.0005: 1, 0.001: 1, 0.0025: 1,
        0.005: 2, 0.01: 2, 0.025: 3, 0.05: 3, 0.075: 3, 0.1: 3, 0.25: 3,
        0.5: 4, 0.75: 4, 1.0: 4, 2.5: 4, 5.0: 5, 7.5: 5, 10.0: 5,
    }  # fmt: skip
    histogram = LatencyHistogram(
        cumulative_counts=tuple(by_bound[bound] for bound in LATENCY_BUCKETS_SECONDS),
        count=6,
        sum_seconds=16.3232,
    )
    text = exposition(snapshot_of(idle_model_snapshot("churn", "1.0", latency=histogram)))

    buckets = {
        dict(key)["le"]: value
        for key, value in samples(text, "neural_prediction_latency_seconds_bucket").items()
    }
    assert buckets == {
        **{str(bound): count for bound, count in by_bound.items()},
        "+Inf": 6,
    }
    ordered = [buckets[str(bound)] for bound in LATENCY_BUCKETS_SECONDS] + [buckets["+Inf"]]
    assert ordered == sorted(ordered)
    model = labels(model="churn", version="1.0")
    assert samples(text, "neural_prediction_latency_seconds_count") == {model: 6}
    assert samples(text, "neural_prediction_latency_seconds_sum") == {model: 16.3232}


def test_errors_total_has_one_series_per_error_type():
    text = exposition(
        snapshot_of(
            idle_model_snapshot("churn", "1.0", errors_total={"Timeout": 4, "ValueError": 1}),
            idle_model_snapshot("fraud", "0.3", errors_total={}),
        )
    )

    assert samples(text, "neural_errors_total") == {
        labels(model="churn", version="1.0", error_type="Timeout"): 4,
        labels(model="churn", version="1.0", error_type="ValueError"): 1,
    }


def test_active_models_counts_models_with_a_record_in_the_last_five_minutes():
    text = exposition(
        snapshot_of(
            idle_model_snapshot("recent", last_record_at=990.0),
            idle_model_snapshot("on-the-boundary", last_record_at=700.0),
            idle_model_snapshot("quiet", last_record_at=699.0),
            idle_model_snapshot("never-wrote", last_record_at=None),
            generated_at=1_000.0,
        )
    )

    assert samples(text, "neural_active_models") == {frozenset(): 2}


def test_ingest_counters_report_records_and_skipped_lines_by_reason():
    snapshot = Snapshot(
        generated_at=1_000.0,
        models=(),
        ingest=IngestStats(records_total=5_000, line_problems={"invalid_json": 3, "bad_type": 1}),
    )
    text = exposition(snapshot)

    assert samples(text, "neural_ingest_records_total") == {frozenset(): 5_000}
    assert samples(text, "neural_ingest_errors_total") == {
        labels(reason="invalid_json"): 3,
        labels(reason="bad_type"): 1,
    }


def test_an_empty_snapshot_exposes_every_family_with_no_model_series():
    text = exposition(Snapshot.empty(generated_at=1_000.0))

    for name in (
        "neural_predictions_total",
        "neural_prediction_latency_seconds",
        "neural_errors_total",
        "neural_ingest_errors_total",
    ):
        assert f"# TYPE {name} " in text
    assert samples(text, "neural_predictions_total") == {}
    assert samples(text, "neural_active_models") == {frozenset(): 0}
    assert samples(text, "neural_ingest_records_total") == {frozenset(): 0}


def test_label_values_with_quotes_backslashes_and_newlines_are_escaped():
    hostile = 'a"b\nc\\d'
    text = exposition(snapshot_of(idle_model_snapshot(hostile, "v\n1", predictions_total=3)))

    assert 'model="a\\"b\\nc\\\\d",version="v\\n1"' in text
    assert samples(text, "neural_predictions_total") == {labels(model=hostile, version="v\n1"): 3}


def test_registry_holds_process_metrics_but_nothing_from_the_global_default_registry():
    text = exposition(Snapshot.empty())

    assert "process_resident_memory_bytes" in text
    assert "python_gc_objects_collected_total" not in text
    assert "python_info" not in text


@pytest.fixture
def served():
    """A running MetricsServer whose snapshot the test can replace through `current[0]`."""
    current = [snapshot_of(idle_model_snapshot("churn", "1.0", predictions_total=10))]
    with MetricsServer(lambda: current[0]) as server:
        yield server, current


def test_scrape_always_reflects_the_latest_snapshot(served):
    server, current = served
    first = httpx.get(f"{server.url}/metrics").text
    current[0] = snapshot_of(
        idle_model_snapshot("churn", "1.0", predictions_total=25),
        idle_model_snapshot("fraud", "0.3", predictions_total=4),
    )
    second = httpx.get(f"{server.url}/metrics").text

    assert samples(first, "neural_predictions_total") == {labels(model="churn", version="1.0"): 10}
    assert samples(second, "neural_predictions_total") == {
        labels(model="churn", version="1.0"): 25,
        labels(model="fraud", version="0.3"): 4,
    }


def test_a_scrape_asking_for_one_name_gets_only_that_family(served):
    server, _ = served
    text = httpx.get(f"{server.url}/metrics", params={"name[]": "neural_predictions_total"}).text

    assert [family.name for family in text_string_to_metric_families(text)] == [
        "neural_predictions"
    ]
    assert samples(text, "neural_predictions_total") == {labels(model="churn", version="1.0"): 10}


def test_a_second_collector_of_the_same_metrics_is_refused():
    registry = build_registry(Snapshot.empty)

    with pytest.raises(ValueError, match="neural_predictions_total"):
        registry.register(SnapshotCollector(Snapshot.empty))


def test_metrics_are_gzipped_when_the_scraper_accepts_gzip(served):
    server, _ = served
    with httpx.stream(
        "GET", f"{server.url}/metrics", headers={"Accept-Encoding": "gzip"}
    ) as compressed:
        encoding = compressed.headers.get("content-encoding")
        raw = b"".join(compressed.iter_raw())
    plain = httpx.get(f"{server.url}/metrics", headers={"Accept-Encoding": "identity"})

    assert encoding == "gzip"
    assert "content-encoding" not in plain.headers
    assert model_lines(gzip.decompress(raw).decode()) == model_lines(plain.text)
    assert samples(plain.text, "neural_predictions_total") == {
        labels(model="churn", version="1.0"): 10
    }


def test_healthz_reports_ok_with_model_and_record_counts():
    snapshot = Snapshot(
        generated_at=1_000.0,
        models=(idle_model_snapshot("churn"), idle_model_snapshot("fraud")),
        ingest=IngestStats(records_total=42, line_problems={}),
        source_health=(SourceHealth("storage", "ok", ""),),
    )
    with MetricsServer(lambda: snapshot, stale_after_seconds=10.0, clock=lambda: 1_005.0) as server:
        response = httpx.get(f"{server.url}/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "reasons": [],
        "progress": None,
        "models": 2,
        "records": 42,
        "snapshot_age_seconds": 5.0,
        "sources": [{"label": "storage", "status": "ok", "detail": ""}],
        "targets": [],
    }


def test_healthz_is_503_when_the_latest_snapshot_is_older_than_the_stale_bound():
    snapshot = Snapshot.empty(generated_at=1_000.0)
    with MetricsServer(lambda: snapshot, stale_after_seconds=10.0, clock=lambda: 1_010.5) as server:
        response = httpx.get(f"{server.url}/healthz")

    assert response.status_code == 503
    assert json.loads(response.text)["status"] == "stale"


def test_healthz_says_catching_up_with_the_progress_and_stays_200_while_history_is_read():
    snapshot = Snapshot(generated_at=1_000.0, models=(), ingest=IngestStats(412_000, {}),
                        catching_up=True,
                        history=HistoryProgress(412, 1_000, 412_000, 180_000.0, 2.5))
    with MetricsServer(lambda: snapshot, stale_after_seconds=10.0, clock=lambda: 1_001.0) as server:
        response = httpx.get(f"{server.url}/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "catching up"
    assert body["progress"] == {
        "text": "41 % (412,000 records, 180,000/s, ~3 s left)", "fraction": 0.412,
        "bytes_read": 412, "bytes_total": 1_000, "records_read": 412_000,
        "records_per_second": 180_000.0, "seconds_left": 2.5}


def test_healthz_while_catching_up_is_still_503_when_a_source_fails():
    snapshot = Snapshot(generated_at=1_000.0, models=(), ingest=IngestStats(0, {}),
                        source_health=(SourceHealth("storage", "failing", "EIO"),),
                        catching_up=True, history=HistoryProgress(0, 10, 0, 0.0, None))
    with MetricsServer(lambda: snapshot) as server:
        response = httpx.get(f"{server.url}/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


@pytest.mark.parametrize("path", ["/", "/metrics/extra", "/health", "/favicon.ico"])
def test_any_other_path_is_404(served, path):
    server, _ = served

    assert httpx.get(f"{server.url}{path}").status_code == 404


def test_server_binds_loopback_by_default_on_a_free_port():
    with MetricsServer(Snapshot.empty) as server:
        assert server.port > 0
        assert server.address == f"127.0.0.1:{server.port}"
        assert httpx.get(f"http://127.0.0.1:{server.port}/healthz").status_code == 200


def test_a_port_already_in_use_raises_an_oserror_naming_host_and_port():
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        server = MetricsServer(Snapshot.empty, port=port)

        with pytest.raises(MetricsServerBindError, match=f"127.0.0.1:{port}") as raised:
            server.start()

    assert isinstance(raised.value, OSError)


def test_stop_releases_the_port_for_a_new_server_at_once():
    first = MetricsServer(Snapshot.empty)
    first.start()
    port = first.port
    httpx.get(f"{first.url}/metrics")
    first.stop()

    snapshot = snapshot_of(idle_model_snapshot("churn", predictions_total=1))
    with MetricsServer(lambda: snapshot, port=port) as second:
        text = httpx.get(f"{second.url}/metrics").text

    assert samples(text, "neural_predictions_total") == {labels(model="churn", version="1.0"): 1}


def test_the_headless_exporter_never_imports_textual():
    code = (
        "import sys, neural_tui.exporter, neural_tui.metrics_server; "
        "sys.exit('textual' in sys.modules)"
    )

    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def drift_and_quality_reports():
    """Real engine reports on fixed-seed data: `shifted` moves by two standard deviations."""
    from neural_tui.engines.drift import DriftDetector
    from neural_tui.engines.quality import DataQualityMonitor

    rng = np.random.default_rng(21)
    reference = {"stable": rng.normal(0, 1, 500), "shifted": rng.normal(0, 1, 500)}
    current = {"stable": rng.normal(0, 1, 400), "shifted": rng.normal(2, 1, 400)}
    current["stable"][:40] = np.nan
    drift = DriftDetector().set_reference(reference).detect_drift(current)
    quality_monitor = DataQualityMonitor()
    quality_monitor.set_reference(reference)
    return drift, quality_monitor.check_quality(current)


def test_drift_score_has_one_series_per_drift_type():
    scores = {"distribution": 0.5, "prediction": 0.12, "concept": 1.4, "performance": 0.1}
    text = exposition(snapshot_of(
        idle_model_snapshot("churn", "1.0", drift_scores=scores),
        idle_model_snapshot("fraud", "0.3"),
    ))

    assert "# TYPE neural_drift_score gauge" in text
    assert samples(text, "neural_drift_score") == {
        labels(model="churn", version="1.0", drift_type=kind): value
        for kind, value in scores.items()
    }


def test_feature_drift_exports_the_deciding_statistic_of_each_feature():
    drift, _ = drift_and_quality_reports()
    text = exposition(snapshot_of(idle_model_snapshot("churn", "1.0", drift=drift)))

    assert samples(text, "neural_feature_drift") == {
        labels(model="churn", version="1.0", feature=f.name, test="ks"): f.statistic
        for f in drift.features
    }
    shifted = drift.feature("shifted")
    assert shifted is not None and shifted.drifted


def test_quality_gauges_export_the_score_and_the_rates():
    _, quality = drift_and_quality_reports()
    text = exposition(snapshot_of(idle_model_snapshot("churn", "1.0", quality=quality)))
    model = labels(model="churn", version="1.0")

    assert samples(text, "neural_data_quality_score") == {model: quality.score}
    assert samples(text, "neural_missing_values_rate") == {model: 40 / 800}
    assert samples(text, "neural_outlier_rate") == {model: quality.outlier_rate}
    assert 0 < quality.score < 1


def test_performance_gauges_export_only_the_figures_that_were_computed():
    from neural_tui.engines.performance import performance

    classification = performance([1, 0, 1, 1], [1, 0, 0, 1])
    regression = performance([1.5, 2.5, 3.0], [1.0, 2.0, 3.5], task="regression")
    text = exposition(snapshot_of(
        idle_model_snapshot("churn", "1.0", performance=classification),
        idle_model_snapshot("price", "2.0", performance=regression),
    ))
    churn = labels(model="churn", version="1.0")

    assert samples(text, "neural_model_accuracy") == {churn: 0.75}
    assert samples(text, "neural_model_precision") == {churn: pytest.approx(2 / 3)}
    assert samples(text, "neural_model_recall") == {churn: 1.0}
    assert samples(text, "neural_model_f1") == {churn: 0.8}
    assert samples(text, "neural_model_labelled_rows") == {
        churn: 4, labels(model="price", version="2.0"): 3}


def test_models_without_analysis_expose_the_families_with_no_series():
    text = exposition(snapshot_of(idle_model_snapshot("churn", "1.0")))

    for name in ("neural_drift_score", "neural_feature_drift", "neural_data_quality_score",
                 "neural_missing_values_rate", "neural_outlier_rate", "neural_model_accuracy",
                 "neural_model_precision", "neural_model_recall", "neural_model_f1"):
        assert f"# TYPE {name} gauge" in text
        assert samples(text, name) == {}


def every_value(text: str) -> list[float]:
    return [sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples]


def test_absurd_latencies_fed_past_the_decoder_leave_every_exported_number_finite(tmp_path):
    runtime = Runtime(Settings(storage=StorageSection(tmp_path)), [])
    for latency in (1.7e308, 1.7e308, -1.7e308, 12.0):
        runtime.ingest(IngestBatch(make_batch([1_700_000_000.0], latency_ms=[latency])))

    text = exposition(runtime.build_snapshot())

    assert all(math.isfinite(value) for value in every_value(text))
    assert samples(text, "neural_prediction_latency_seconds_sum") == {
        labels(model="m", version="1"): pytest.approx(0.012)
    }


def test_a_non_finite_sample_is_left_out_of_the_scrape():
    bad = idle_model_snapshot("churn", latency=LatencyHistogram(
        cumulative_counts=tuple(1 for _ in LATENCY_BUCKETS_SECONDS), count=1,
        sum_seconds=math.inf), drift_scores={"distribution": math.nan, "prediction": 0.2})

    text = exposition(snapshot_of(bad))

    assert all(math.isfinite(value) for value in every_value(text))
    assert samples(text, "neural_prediction_latency_seconds_sum") == {}
    assert samples(text, "neural_prediction_latency_seconds_count") == {
        labels(model="churn", version="1.0"): 1}
    assert samples(text, "neural_drift_score") == {
        labels(model="churn", version="1.0", drift_type="prediction"): 0.2}


def test_the_drift_verdict_is_exported_only_once_there_is_one():
    text = exposition(snapshot_of(
        idle_model_snapshot("churn", drifted=True, drift_kinds=("concept",)),
        idle_model_snapshot("fraud", drifted=False),
        idle_model_snapshot("waiting"),
    ))

    assert samples(text, "neural_drift_detected") == {
        labels(model="churn", version="1.0"): 1.0,
        labels(model="fraud", version="1.0"): 0.0,
    }
