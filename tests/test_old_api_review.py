"""Defects found driving the old API as a migrating model server does, each kept as the
behaviour that is now right: a feature with no value on either side, alerts of the default
rules reaching the `alert_config` channels, the exporter's life bound to the monitor's, and
the old-API example's checks immune to keys a client adds."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from alert_receivers import HttpReceiver

from neural_tui import ModelMonitor, PredictionLogger
from neural_tui.engines.drift import DriftSettings, build_reference, detect

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def wait_until(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)


def test_a_feature_without_values_on_either_side_is_reported_not_crashed_on(tmp_path):
    rng = np.random.default_rng(7)
    data = rng.normal(size=(100, 3))
    data[:, 1] = np.nan
    with ModelMonitor("fraud", "2.0", storage_path=tmp_path, enable_alerting=False) as monitor:
        monitor.set_reference_data(data, feature_names=["amount", "age", "score"])
        drift = monitor.check_drift(data)
    assert drift["is_drifting"] is False
    assert set(drift["feature_drift"]) == {"amount", "score"}
    age = next(f for f in drift["report"]["features"] if f["name"] == "age")
    assert (age["drifted"], age["n_reference"], age["n_current"]) == (False, 0, 0)
    assert age["reason"] == "no reference values"


def test_the_drift_engine_judges_a_model_whose_only_feature_is_always_null():
    """The runtime's path: a logged feature that is null in every record of both windows."""
    columns = {"comment": np.array([None] * 50, dtype=object)}
    reference = build_reference(columns, DriftSettings())
    (feature,) = detect(reference, columns, reference.settings).features
    assert (feature.drifted, feature.n_reference, feature.n_current) == (False, 0, 0)


def test_a_default_rule_reaches_the_webhook_and_the_log_of_alert_config(tmp_path):
    rng = np.random.default_rng(3)
    with HttpReceiver() as receiver:
        config = {"webhook_url": f"{receiver.url}/hook"}
        with ModelMonitor("fraud", "2.0", storage_path=tmp_path, enable_slo_tracking=False,
                          alert_config=config) as monitor:
            monitor.set_reference_data(rng.normal(size=(500, 2)))
            drift = monitor.check_drift(rng.normal(3.0, 1.0, size=(500, 2)))
            log = tmp_path / "alerts" / "alerts.jsonl"
            wait_until(lambda: receiver.received and log.exists() and log.read_text(),
                       "the drift alert's post and log line")
    assert drift["is_drifting"] is True
    (alert,) = receiver.received[0].json()["alerts"]
    assert alert["labels"]["alertname"] == "Model Drift Detected"
    (logged,) = log.read_text().splitlines()
    assert json.loads(logged)["alerts"][0]["labels"]["alertname"] == "Model Drift Detected"


def test_the_default_latency_rule_fires_on_the_windows_p95_once_a_window_is_logged(tmp_path):
    with HttpReceiver() as receiver:
        config = {"webhook_url": f"{receiver.url}/hook"}
        with ModelMonitor("fraud", "2.0", storage_path=tmp_path, enable_slo_tracking=False,
                          alert_config=config) as monitor:
            # 1000 latencies 1..1000 ms, then 999 more of 1100 ms: numpy's linear p95 of the
            # first window is 1 + 0.95 * 999 = 950.05 ms (no alert), of the second 1100 ms
            for i in range(1, 1001):
                monitor.log_prediction(f"a{i}", {"x": 1.0}, 0, latency_ms=float(i))
            for i in range(999):
                monitor.log_prediction(f"b{i}", {"x": 1.0}, 0, latency_ms=1100.0)
            assert monitor.alert_manager is not None
            assert monitor.alert_manager.get_recent_alerts() == []
            monitor.log_prediction("b999", {"x": 1.0}, 0, latency_ms=1100.0)
            wait_until(lambda: receiver.received, "the latency alert's post")
    (alert,) = receiver.received[0].json()["alerts"]
    assert alert["labels"]["alertname"] == "High Latency"
    assert alert["annotations"]["summary"] == "P95 latency is 1100.0ms"


def test_a_closed_monitor_starts_no_exporter(tmp_path):
    monitor = ModelMonitor(storage_path=tmp_path, enable_alerting=False)
    monitor.close()
    monitor.close()
    with pytest.raises(RuntimeError, match="closed"):
        monitor.start_prometheus_server(port=0)


def test_threads_starting_the_exporter_at_once_start_one(tmp_path):
    with ModelMonitor(storage_path=tmp_path, enable_alerting=False) as monitor:
        outcomes: list[str] = []
        gate = threading.Barrier(8)

        def start() -> None:
            gate.wait()
            try:
                outcomes.append(monitor.start_prometheus_server(port=0))
            except RuntimeError as error:
                outcomes.append(f"refused: {error}")

        threads = [threading.Thread(target=start) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    served = [o for o in outcomes if o.startswith("http://127.0.0.1:")]
    assert len(served) == 1
    assert sum("already serving" in o for o in outcomes) == 7


def load_old_api_example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    path = EXAMPLES / "model_service_old_api.py"
    spec = importlib.util.spec_from_file_location("model_service_old_api", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extra_keys_a_client_sends_never_break_the_old_api_examples_checks(
    tmp_path, monkeypatch
):
    example = load_old_api_example(monkeypatch)
    valid = {"amount": 120.5, "account_age_days": 30, "country": "BR", "device": "tablet"}
    padded = {**valid, **{f"x{i}": i for i in range(600)}, "nested": {"a": [1, 2]}}
    with ModelMonitor("toy-fraud", "1.0.0", storage_path=tmp_path,
                      enable_alerting=False) as monitor:
        rows, predictions = example.reference_data(0)
        monitor.set_reference_data(rows, predictions=predictions)
        service = example.OldApiService(monitor, example.ToyFraudModel())
        service.predict(padded)
        service.predict(valid)
        drift = service.drift()
        quality = service.quality()
    assert set(drift["feature_drift"]) == {"amount", "account_age_days", "country", "device"}
    assert quality["schema_violations"] == []
    assert quality["total_samples"] == 2


def test_numpy_predictions_and_labels_count_towards_accuracy_and_its_slo(tmp_path):
    """What `model.predict(x)[0]` returns is an `np.int64`: 3 right of 4, so accuracy 0.75."""
    pairs = [(np.int64(1), np.int64(1)), (np.int64(0), np.int64(1)),
             (np.bool_(True), True), (np.str_("fraud"), "fraud")]
    with ModelMonitor("fraud", "2.0", storage_path=tmp_path, enable_alerting=False) as monitor:
        for i, (prediction, label) in enumerate(pairs):
            monitor.log_prediction(f"p{i}", {"x": np.float32(1.5)}, prediction,
                                   ground_truth=label, latency_ms=np.float32(3.0))
        metrics = monitor.get_metrics()
        accuracy_slo = monitor.get_monitoring_summary()["slos"]["model_accuracy"]
    assert metrics["accuracy"] == 0.75
    assert metrics["latency_p50_ms"] == 3.0
    assert accuracy_slo["total_measurements"] == 4
    assert accuracy_slo["compliance_rate"] == 0.75


def test_performance_figures_of_numpy_types_are_numbers(tmp_path):
    with ModelMonitor("fraud", "2.0", storage_path=tmp_path, enable_alerting=False) as monitor:
        monitor.set_reference_data(np.zeros((20, 1)), performance={"accuracy": np.float32(0.5)})
        monitor.update_performance_metrics({"accuracy": np.float64(0.25),
                                            "support": np.int64(40)})
        drift = monitor.check_drift(np.zeros((20, 1)))
        metrics = monitor.get_metrics()
    assert (metrics["accuracy"], metrics["support"]) == (0.25, 40.0)
    assert drift["performance_drift"] == 0.25


def test_a_numpy_integer_prediction_id_is_written_as_its_digits(tmp_path):
    with PredictionLogger(tmp_path / "predictions", flush_interval=60.0) as logger:
        logger.log_prediction(np.int64(7), {"x": 1.0}, 1)
        logger.log_ground_truth(np.uint32(7), 1)
    lines = [json.loads(line) for path in (tmp_path / "predictions").glob("*.jsonl")
             for line in path.read_text().splitlines()]
    assert [line["prediction_id"] for line in lines] == ["7", "7"]


def test_an_array_after_a_reference_of_dicts_is_refused_not_judged_undrifted(tmp_path):
    rng = np.random.default_rng(5)
    rows = [{"amount": float(a), "age": float(b)} for a, b in rng.normal(size=(100, 2))]
    with ModelMonitor("fraud", "2.0", storage_path=tmp_path, enable_alerting=False) as monitor:
        monitor.set_reference_data(rows)
        with pytest.raises(ValueError, match=r"none of the reference's features \(amount, age\)"
                                             r", only feature_0, feature_1"):
            monitor.check_drift(rng.normal(5.0, 1.0, size=(100, 2)))
        typo = monitor.check_drift([{"amount": 9.0, "agee": 1.0}] * 50)
    assert typo["feature_drift"] == {"amount": 1.0}


def test_keys_the_reference_lacks_are_left_out_of_drift_before_they_are_counted(tmp_path):
    rng = np.random.default_rng(6)
    rows = [{"amount": float(a)} for a in rng.normal(size=200)]
    padded = [{**row, **{f"x{i}": i for i in range(600)}} for row in rows[:50]]
    with ModelMonitor("fraud", "2.0", storage_path=tmp_path, enable_alerting=False) as monitor:
        monitor.set_reference_data(rows)
        drift = monitor.check_drift(padded)
        with pytest.raises(ValueError, match=r"none of the reference's features \(amount\)"):
            monitor.check_drift([{"amuont": 1.0}] * 10)
    assert [f["name"] for f in drift["report"]["features"]] == ["amount"]
    assert drift["feature_drift"]["amount"] < 0.2
