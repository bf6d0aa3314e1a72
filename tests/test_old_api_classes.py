"""The old module's `PredictionAnalyzer`, `DataQualityChecker`, `MetricsRegistry` and
`PrometheusExporter`, imported from `neural_tui` and driven as a model server written for the
old module drives them; figures checked against hand-computed values and scipy."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from realservers import free_port
from scipy import stats

from neural_tui import (
    DataQualityChecker,
    DataQualityMonitor,
    MetricsRegistry,
    ModelMonitor,
    PredictionAnalyzer,
    PredictionLogger,
    PrometheusExporter,
)
from neural_tui.engines.performance import confidence_outliers
from neural_tui.metrics_registry import MAX_ERROR_TYPES, MAX_MODELS
from neural_tui.prediction_analyzer import MAX_WINDOW_ROWS

NOW = 1_700_000_000.0


def write_lines(storage: Path, records: list[dict[str, Any] | str], name: str = "a.jsonl"
                ) -> None:
    """Contract lines as the old module wrote them (a str is written as it is)."""
    folder = storage / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("a", encoding="utf-8") as file:
        for record in records:
            file.write((record if isinstance(record, str) else json.dumps(record)) + "\n")


def prediction(i: int, *, at: float | None = None, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "timestamp": NOW - 1000 + i if at is None else at, "prediction_id": f"p{i}",
        "input_features": {"x": float(i)}, "prediction": 1, "prediction_proba": None,
        "ground_truth": None, "latency_ms": 10.0, "metadata": {"host": "a"},
    }
    record.update(fields)
    return record


def label(i: int, truth: Any, at: float = NOW - 1) -> dict[str, Any]:
    return {"timestamp": at, "prediction_id": f"p{i}", "ground_truth": truth}


def analyzer(storage: Path, **kwargs: Any) -> PredictionAnalyzer:
    return PredictionAnalyzer(str(storage), clock=lambda: NOW, **kwargs)


# PredictionAnalyzer


def test_latency_figures_are_the_linear_percentiles_of_the_window(tmp_path):
    write_lines(tmp_path, [prediction(i, latency_ms=float(i)) for i in range(1, 101)])
    latency = analyzer(tmp_path).analyze_predictions(window=100)["latency"]
    # 1..100 ms: rank (n - 1) * q, interpolated between neighbours.
    assert latency == pytest.approx({"mean": 50.5, "median": 50.5, "p50": 50.5, "p95": 95.05,
                                     "p99": 99.01, "min": 1.0, "max": 100.0})


def test_latency_percentiles_match_scipy_on_seeded_lognormal_latencies(tmp_path):
    latencies = np.random.default_rng(7).lognormal(3.0, 0.8, 500)
    write_lines(tmp_path, [prediction(i, latency_ms=float(v)) for i, v in enumerate(latencies)])
    figures = analyzer(tmp_path).analyze_predictions(window=500)["latency"]
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        assert figures[name] == pytest.approx(stats.scoreatpercentile(latencies, q))
    assert figures["mean"] == pytest.approx(float(np.mean(latencies)))


def test_window_is_the_newest_predictions_by_record_time_not_by_file_order(tmp_path):
    write_lines(tmp_path, [prediction(i, latency_ms=100.0) for i in range(10, 20)], "new.jsonl")
    write_lines(tmp_path, [prediction(i, latency_ms=1.0) for i in range(0, 10)], "old.jsonl")
    result = analyzer(tmp_path).analyze_predictions(window=10)
    assert result["total_predictions"] == 10
    assert result["latency"]["min"] == 100.0
    assert result["time_range"] == {"start": NOW - 990, "end": NOW - 981}


def test_time_window_keeps_the_last_seconds_and_leaves_out_records_stamped_ahead(tmp_path):
    write_lines(tmp_path, [
        prediction(1, at=NOW - 120), prediction(2, at=NOW - 50), prediction(3, at=NOW - 1),
        prediction(4, at=NOW + 365 * 86_400.0),
    ])
    result = analyzer(tmp_path).analyze_predictions(time_window=60)
    assert result["total_predictions"] == 2
    assert result["time_range"] == {"start": NOW - 50, "end": NOW - 1}
    assert result["window"] == {"rows": 2, "window": None, "time_window": 60, "capped": False}


def test_accuracy_counts_inline_and_late_labels_of_the_window_only(tmp_path):
    records: list[dict[str, Any] | str] = [prediction(0, prediction=0)]  # outside the window
    records += [prediction(i, prediction=i % 2) for i in range(1, 13)]
    records[1]["ground_truth"] = 1  # p1 predicted 1: right
    records[2]["ground_truth"] = 1  # p2 predicted 0: wrong
    records += [label(0, 1)]  # would be wrong, but p0 is not in the window
    # p3..p10 late: p3 1 right, p4 0 right, p5 1 wrong, p6 0 right, p7..p10 right
    records += [label(3, 1), label(4, 0), label(5, 0), label(6, 0), label(7, 1), label(8, 0),
                label(9, 1), label(10, 0)]
    write_lines(tmp_path, records)
    result = analyzer(tmp_path).analyze_predictions(window=12)
    assert result["accuracy"] == {"total_labeled": 10, "correct": 8, "accuracy": 0.8}
    assert result["performance"]["n_labelled"] == 10


def test_a_label_read_before_its_prediction_still_joins_it(tmp_path):
    write_lines(tmp_path, [label(1, 1, at=NOW - 2)], "a-labels.jsonl")
    write_lines(tmp_path, [prediction(1, prediction=1)], "b-predictions.jsonl")
    assert analyzer(tmp_path).analyze_predictions()["accuracy"]["accuracy"] == 1.0


def test_errors_count_in_the_window_with_no_prediction_of_their_own(tmp_path):
    errors = [{"timestamp": NOW - 900 + i, "prediction_id": f"e{i}", "error": kind}
              for i, kind in enumerate(["timeout", "timeout", "invalid_input"])]
    write_lines(tmp_path, [prediction(i, prediction=i % 3) for i in range(7)] + errors)
    result = analyzer(tmp_path).analyze_predictions(window=10)
    assert result["errors"] == {"total": 3, "rate": 0.3,
                                "by_type": {"timeout": 2, "invalid_input": 1}}
    assert result["prediction_distribution"] == {"0": 3, "1": 2, "2": 2}


def test_prediction_distribution_names_classes_as_the_engines_do(tmp_path):
    write_lines(tmp_path, [prediction(0, prediction=1), prediction(1, prediction=1.0),
                           prediction(2, prediction="cat"), prediction(3, prediction=None)])
    assert analyzer(tmp_path).analyze_predictions()["prediction_distribution"] == {
        "1": 2, "cat": 1}


def test_confidence_is_the_top_class_probability_per_prediction(tmp_path):
    probabilities = [{"0": 0.1, "1": 0.9}, {"0": 0.4, "1": 0.6},
                     {"a": 0.4, "b": 0.3, "c": 0.3}, {"0": 0.2, "1": 0.8}]
    write_lines(tmp_path, [prediction(i, prediction_proba=p)
                           for i, p in enumerate(probabilities)] + [prediction(9)])
    confidence = analyzer(tmp_path).analyze_predictions()["confidence"]
    # tops 0.9, 0.6, 0.4, 0.8; the record without probabilities has none.
    assert confidence == pytest.approx({"mean": 0.675, "median": 0.7, "min": 0.4, "max": 0.9,
                                        "low_confidence_rate": 0.25})


def test_performance_metrics_of_a_binary_model_are_hand_computed(tmp_path):
    pairs = [(1, 1)] * 6 + [(1, 0)] * 2 + [(0, 1)] * 3 + [(0, 0)] * 9  # tp 6 fp 2 fn 3 tn 9
    write_lines(tmp_path, [prediction(i, prediction=p, ground_truth=t)
                           for i, (p, t) in enumerate(pairs)])
    metrics = analyzer(tmp_path).calculate_performance_metrics(window=100)
    assert metrics == pytest.approx({"accuracy": 15 / 20, "precision": 6 / 8, "recall": 6 / 9,
                                     "f1": 12 / 17})


def test_performance_metrics_are_empty_without_labels(tmp_path):
    write_lines(tmp_path, [prediction(i) for i in range(5)])
    assert analyzer(tmp_path).calculate_performance_metrics() == {}


def test_anomalous_predictions_are_the_scipy_zscore_outliers_read_back_whole(tmp_path):
    rng = np.random.default_rng(3)
    top = np.clip(rng.normal(0.8, 0.05, 300), 0.5, 1.0)
    top[[17, 150]] = [0.5, 0.51]
    write_lines(tmp_path, [prediction(i, prediction_proba={"0": 1 - p, "1": p}, latency_ms=2.0)
                           for i, p in enumerate(top.tolist())])
    found = analyzer(tmp_path).detect_anomalous_predictions(window=300, threshold=3.0)
    expected = {f"p{i}" for i in np.flatnonzero(np.abs(stats.zscore(top)) > 3.0)}
    assert {"p17", "p150"} <= expected
    assert [r.prediction_id for r in found] == sorted(expected, key=lambda i: int(i[1:]))
    record = next(r for r in found if r.prediction_id == "p17")
    assert record.input_features == {"x": 17.0}
    assert record.prediction_proba == pytest.approx({"0": 0.5, "1": 0.5})
    assert record.latency_ms == 2.0


def test_confidence_outliers_agree_with_scipy_and_ignore_nan():
    values = np.random.default_rng(11).beta(8, 2, 1000)
    flagged = confidence_outliers(values, 2.5)
    assert np.array_equal(flagged, np.abs(stats.zscore(values)) > 2.5)
    with_nan = np.append(values, np.nan)
    assert not confidence_outliers(with_nan, 2.5)[-1]
    assert not confidence_outliers(np.full(5, 0.7), 1.0).any()


def test_a_logger_is_flushed_first_so_its_buffered_records_count(tmp_path):
    logger = PredictionLogger(tmp_path, flush_interval=3600)
    try:
        for i in range(3):
            logger.log_prediction(f"r{i}", {"x": i}, 1, latency_ms=4.0)
        assert PredictionAnalyzer(logger).analyze_predictions()["total_predictions"] == 3
    finally:
        logger.close()


def test_an_old_style_model_monitor_is_analysed_for_its_own_model(tmp_path):
    write_lines(tmp_path, [prediction(i, model_name="other", model_version="9")
                           for i in range(4)])
    monitor = ModelMonitor(model_name="fraud", model_version="2.0", storage_path=str(tmp_path),
                           enable_prometheus=False, enable_alerting=False,
                           enable_slo_tracking=False, flush_interval=3600)
    try:
        for i in range(3):
            monitor.log_prediction(f"f{i}", {"x": i}, 0, ground_truth=0, latency_ms=3.0)
        result = PredictionAnalyzer(monitor).analyze_predictions()
    finally:
        monitor.close()
    assert result["total_predictions"] == 3
    assert result["accuracy"] == {"total_labeled": 3, "correct": 3, "accuracy": 1.0}


def test_the_predictions_folder_itself_is_accepted_as_the_old_logger_took_it(tmp_path):
    write_lines(tmp_path, [prediction(i) for i in range(4)])
    result = analyzer(tmp_path / "predictions").analyze_predictions()
    assert result["total_predictions"] == 4


def test_model_name_selects_one_models_records(tmp_path):
    write_lines(tmp_path, [prediction(i, model_name="a", model_version="1") for i in range(3)]
                + [prediction(i + 10, model_name="b", model_version="1") for i in range(5)])
    assert analyzer(tmp_path, model_name="b").analyze_predictions()["total_predictions"] == 5
    assert analyzer(tmp_path).analyze_predictions()["total_predictions"] == 8


def test_an_empty_storage_says_no_data_in_the_old_words(tmp_path):
    write_lines(tmp_path, [])
    assert analyzer(tmp_path).analyze_predictions() == {
        "status": "no_data", "message": "No predictions available", "skipped_lines": {},
        "warnings": []}


def test_records_one_folder_off_are_named_instead_of_a_silent_no_data(tmp_path):
    write_lines(tmp_path / "predictions", [prediction(1)])
    result = analyzer(tmp_path).analyze_predictions()
    assert result["status"] == "no_data"
    assert "predictions/predictions" in result["warnings"][0]


def test_a_storage_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing: storage directory does not exist"):
        analyzer(tmp_path / "missing").analyze_predictions()


def test_a_time_window_past_the_row_bound_keeps_the_newest_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr("neural_tui.prediction_analyzer.MAX_WINDOW_ROWS", 5)
    write_lines(tmp_path, [prediction(i, latency_ms=float(i)) for i in range(20)])
    result = analyzer(tmp_path).analyze_predictions(time_window=3600)
    assert result["window"]["capped"] is True
    assert (result["total_predictions"], result["latency"]["min"]) == (5, 15.0)


def test_hostile_lines_cost_only_themselves(tmp_path):
    write_lines(tmp_path, [
        "not json",
        prediction(1, latency_ms=float("nan")),
        json.dumps({"timestamp": NOW - 5, "prediction_id": "p2", "input_features": {},
                    "prediction": 1, "latency_ms": 0}).replace('"latency_ms": 0',
                                                               '"latency_ms": 1' + "0" * 400),
        prediction(3, latency_ms=5.0, prediction_proba={"0": "x", "1": 1e400}),
        prediction(4, latency_ms=7.0, prediction="y" * 100_000),
    ])
    result = analyzer(tmp_path).analyze_predictions()
    assert result["total_predictions"] == 4
    assert result["skipped_lines"]["not_json"] == 1
    assert result["latency"]["min"] == 5.0
    assert result["latency"]["max"] == 7.0
    assert all(math.isfinite(v) for v in result["latency"].values())


@pytest.mark.parametrize("call", [
    {"window": 0}, {"window": MAX_WINDOW_ROWS + 1}, {"window": True}, {"window": 2.5},
    {"time_window": float("nan")}, {"time_window": -1}, {"time_window": float("inf")},
])
def test_a_bad_window_is_a_value_error_naming_it(tmp_path, call):
    write_lines(tmp_path, [prediction(1)])
    with pytest.raises(ValueError, match=next(iter(call))):
        analyzer(tmp_path).analyze_predictions(**call)


@pytest.mark.parametrize("threshold", [0, -1, float("nan"), float("inf")])
def test_a_bad_anomaly_threshold_is_a_value_error(tmp_path, threshold):
    write_lines(tmp_path, [prediction(1)])
    with pytest.raises(ValueError, match="threshold"):
        analyzer(tmp_path).detect_anomalous_predictions(threshold=threshold)


def test_the_analyzer_runs_inside_an_async_model_server(tmp_path):
    write_lines(tmp_path, [prediction(i) for i in range(3)])

    async def handler() -> dict[str, Any]:
        return analyzer(tmp_path).analyze_predictions()

    assert asyncio.run(handler())["total_predictions"] == 3


# DataQualityChecker


def test_data_quality_checker_is_the_quality_monitor_under_its_old_name():
    assert DataQualityChecker is DataQualityMonitor


# MetricsRegistry


def scrape(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def test_the_registry_exposes_the_old_metric_names_and_labels():
    registry = MetricsRegistry()
    registry.record_prediction("fraud", "2.0", latency_seconds=0.02)
    registry.record_prediction("fraud", "2.0", latency_seconds=0.3)
    registry.record_prediction(model="fraud", version="2.0")
    registry.update_performance_metrics("fraud", "2.0", accuracy=0.9, precision=0.8,
                                        recall=0.7, f1=0.75)
    registry.update_drift_metrics("fraud", "2.0", {"prediction": 0.1, "distribution": 0.4,
                                                  "concept": 0.0, "performance": 0.05})
    registry.update_quality_metrics("fraud", "2.0", 0.95, missing_rate=0.01, outlier_rate=0.02)
    registry.record_error("fraud", "2.0", "timeout")
    registry.set_active_models(1)
    values = scrape(registry.get_metrics().decode())
    model = labels(model="fraud", version="2.0")
    assert values[("neural_predictions_total", model)] == 3
    assert values[("neural_prediction_latency_seconds_count", model)] == 2
    assert values[("neural_prediction_latency_seconds_sum", model)] == pytest.approx(0.32)
    assert values[("neural_prediction_latency_seconds_bucket",
                   model | labels(le="0.025"))] == 1
    assert values[("neural_prediction_latency_seconds_bucket", model | labels(le="+Inf"))] == 2
    for name, value in (("neural_model_accuracy", 0.9), ("neural_model_precision", 0.8),
                        ("neural_model_recall", 0.7), ("neural_model_f1", 0.75),
                        ("neural_data_quality_score", 0.95),
                        ("neural_missing_values_rate", 0.01), ("neural_outlier_rate", 0.02)):
        assert values[(name, model)] == value
    assert values[("neural_drift_score", model | labels(drift_type="distribution"))] == 0.4
    assert values[("neural_errors_total", model | labels(error_type="timeout"))] == 1
    assert values[("neural_active_models", frozenset())] == 1


def test_a_drift_score_of_none_leaves_that_kind_as_it_was():
    registry = MetricsRegistry()
    registry.update_drift_metrics("m", "1", {"prediction": 0.2, "concept": 0.1})
    registry.update_drift_metrics("m", "1", {"prediction": 0.3, "concept": None})
    values = scrape(registry.get_metrics().decode())
    model = labels(model="m", version="1")
    assert values[("neural_drift_score", model | labels(drift_type="prediction"))] == 0.3
    assert values[("neural_drift_score", model | labels(drift_type="concept"))] == 0.1


def test_each_registry_is_its_own_and_never_the_global_one():
    first, second = MetricsRegistry(), MetricsRegistry()
    first.record_prediction("m", "1")
    assert ("neural_predictions_total", labels(model="m", version="1")) not in scrape(
        second.get_metrics().decode())
    assert REGISTRY.get_sample_value("neural_predictions_total",
                                     {"model": "m", "version": "1"}) is None


@pytest.mark.parametrize(("method", "kwargs", "named"), [
    ("record_prediction", {"latency_seconds": float("nan")}, "latency_seconds"),
    ("record_prediction", {"latency_seconds": -0.1}, "latency_seconds"),
    ("record_prediction", {"latency_seconds": 10**400}, "latency_seconds"),
    ("record_prediction", {"model": "m" * 1_000_000}, "model"),
    ("record_prediction", {"version": ""}, "version"),
    ("update_performance_metrics", {"accuracy": 1.5}, "accuracy"),
    ("update_performance_metrics", {"f1": float("inf")}, "f1"),
    ("update_drift_metrics", {"drift_scores": {"prediction": float("nan")}}, "drift_scores"),
    ("update_quality_metrics", {"quality_score": "high"}, "data_quality_score"),
    ("record_error", {"error_type": 42}, "error_type"),
])
def test_a_bad_value_is_a_value_error_naming_it_and_records_nothing(method, kwargs, named):
    registry = MetricsRegistry()
    defaults: dict[str, Any] = {"model": "m", "version": "1"}
    defaults.update({"drift_scores": {}} if method == "update_drift_metrics" else {})
    defaults.update({"quality_score": 0.5} if method == "update_quality_metrics" else {})
    defaults.update({"error_type": "x"} if method == "record_error" else {})
    with pytest.raises(ValueError, match=named):
        getattr(registry, method)(**{**defaults, **kwargs})
    assert all(value == 0 or name.endswith("_created")
               for (name, _), value in scrape(registry.get_metrics().decode()).items())


def test_error_types_past_the_bound_count_as_other():
    registry = MetricsRegistry()
    for i in range(MAX_ERROR_TYPES + 5):
        registry.record_error("m", "1", f"kind-{i}")
    errors = {dict(key)["error_type"]: value
              for (name, key), value in scrape(registry.get_metrics().decode()).items()
              if name == "neural_errors_total"}
    assert len(errors) == MAX_ERROR_TYPES + 1
    assert errors["other"] == 5


def test_models_past_the_bound_are_refused():
    registry = MetricsRegistry()
    for i in range(MAX_MODELS):
        registry.record_prediction(f"m{i}", "1")
    with pytest.raises(ValueError, match="model"):
        registry.record_prediction("one-more", "1")
    registry.record_prediction("m0", "1")


# PrometheusExporter


def test_the_exporter_serves_the_registry_on_loopback_and_stops():
    registry = MetricsRegistry()
    registry.record_prediction("fraud", "2.0", latency_seconds=0.01)
    port = free_port()
    exporter = PrometheusExporter(port=port, registry=registry)
    exporter.start_server()
    try:
        assert exporter.host == "127.0.0.1"
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert response.status_code == 200
        values = scrape(response.text)
        assert values[("neural_predictions_total", labels(model="fraud", version="2.0"))] == 1
        assert exporter.get_metrics_text() == registry.get_metrics().decode()
    finally:
        exporter.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    with PrometheusExporter(port=port, registry=registry) as again:
        assert again.port == port


def test_the_exporter_as_a_context_manager_picks_a_free_port_when_asked():
    with PrometheusExporter(port=0) as exporter:
        assert exporter.port > 0
        assert httpx.get(f"{exporter.url}/metrics", timeout=5).status_code == 200
    with pytest.raises(RuntimeError):
        _ = exporter.url


def test_the_flask_endpoint_returns_the_exposition():
    registry = MetricsRegistry()
    registry.record_error("m", "1", "timeout")
    body, status, headers = PrometheusExporter(registry=registry).create_flask_endpoint()()
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert scrape(body.decode())[("neural_errors_total",
                                  labels(model="m", version="1", error_type="timeout"))] == 1


@pytest.mark.parametrize("port", [-1, 65536, True, "9090"])
def test_a_bad_port_is_a_value_error(port):
    with pytest.raises(ValueError, match="port"):
        PrometheusExporter(port=port)


def test_importing_neural_tui_loads_none_of_these_classes():
    result = subprocess.run(
        [sys.executable, "-c", "import neural_tui, sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60)
    loaded = set(result.stdout.split())
    assert not loaded & {"neural_tui.prediction_analyzer", "neural_tui.metrics_registry",
                         "prometheus_client", "numpy"}
