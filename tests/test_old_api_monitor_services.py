"""The old `ModelMonitor`'s services against neural-tui's: the records it writes read by
`neural-tui status`, its default SLOs on the SLO engine, `alert_config` as channels of the
alerting, `start_prometheus_server` as the headless exporter, the old `PredictionLogger`
arguments, and an import that stays light."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from alert_receivers import HttpReceiver
from headless_storage import samples
from realservers import LOOPBACK, free_port

from neural_tui import ModelMonitor, PredictionLogger
from neural_tui.cli import main
from neural_tui.metrics_server import MetricsServerBindError


def wait_until(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)


def serve_traffic(monitor: ModelMonitor, predictions: int, errors: int) -> None:
    for i in range(predictions):
        monitor.log_prediction(f"req-{i}", {"amount": float(i)}, i % 2,
                               prediction_proba={"0": 0.4, "1": 0.6}, latency_ms=20.0 + i % 5)
    for _ in range(errors):
        monitor.record_error("timeout")


def test_the_records_written_are_what_neural_tui_status_reads(tmp_path, capsys):
    storage = tmp_path / "data"
    with ModelMonitor("fraud", "2.0", storage_path=str(storage)) as monitor:
        serve_traffic(monitor, 40, 3)
        monitor.record_error()
    assert main(["status", "--storage", str(storage), "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert (model["name"], model["version"]) == ("fraud", "2.0")
    assert model["predictions_total"] == 44
    assert model["errors_total"] == {"timeout": 3, "unknown": 1}


def test_the_default_slos_are_the_old_four_counted_by_the_slo_engine(tmp_path):
    with ModelMonitor("fraud", "2.0", storage_path=str(tmp_path), enable_alerting=False) as m:
        serve_traffic(m, 99, 1)
        m.log_prediction("labelled", {"amount": 1.0}, 1, ground_truth=0)
        slos = m.get_monitoring_summary()["slos"]
        health = m.generate_health_report()
    assert set(slos) == {"model_availability", "prediction_latency_p95", "model_accuracy",
                         "error_rate"}
    availability = slos["model_availability"]
    # 100 predictions served, 1 failed: 100 / 101 good, under the 99.9% objective
    assert availability["compliance_rate"] == pytest.approx(100 / 101)
    assert availability["is_meeting"] is False
    assert slos["error_rate"]["compliance_rate"] == pytest.approx(100 / 101)
    assert slos["error_rate"]["is_meeting"] is True
    assert slos["prediction_latency_p95"]["compliance_rate"] == 1.0
    assert slos["prediction_latency_p95"]["slo"]["target"] == 0.1
    assert slos["model_accuracy"]["total_measurements"] == 1
    assert health["status"] == "critical"
    assert "SLO breach: model_availability" in health["issues"]


def test_without_slo_tracking_nothing_is_tracked(tmp_path):
    with ModelMonitor(storage_path=str(tmp_path), enable_slo_tracking=False,
                      enable_alerting=False) as monitor:
        serve_traffic(monitor, 5, 1)
        assert monitor.slo_tracker is None
        assert "slos" not in monitor.get_monitoring_summary()


def test_alert_config_becomes_channels_and_send_alert_reaches_the_webhook(tmp_path):
    email = {"smtp_server": "127.0.0.1", "smtp_port": 2525, "from_addr": "a@example.com",
             "to_addrs": ["b@example.com"]}
    with HttpReceiver() as receiver:
        config = {"webhook_url": f"{receiver.url}/hook", "slack_webhook": f"{receiver.url}/s",
                  "email_config": email}
        with ModelMonitor("fraud", "2.0", storage_path=str(tmp_path),
                          alert_config=config) as monitor:
            assert monitor.alert_manager is not None
            assert monitor.alert_manager.channels == {
                "log": "log", "slack": "slack", "email": "email", "webhook": "webhook"}
            monitor.send_alert("Model down", "no answer", "critical", {"replicas": 0},)
            log = tmp_path / "alerts" / "alerts.jsonl"
            wait_until(lambda: {r.path for r in receiver.received} >= {"/hook", "/s"}
                       and log.exists() and log.read_text(), "the posts and the log line")
    hook = next(r for r in receiver.received if r.path == "/hook").json()
    (alert,) = hook["alerts"]
    assert alert["labels"] == {"alertname": "Model down", "severity": "critical",
                               "source": "custom", "model": "fraud"}
    assert alert["annotations"]["summary"] == "no answer"
    logged = log.read_text().splitlines()
    assert len(logged) == 1


def test_an_unknown_alert_config_key_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key.*'pagerduty'"):
        ModelMonitor(storage_path=str(tmp_path), alert_config={"pagerduty": "x"})


def test_without_alerting_nothing_is_sent(tmp_path):
    with ModelMonitor(storage_path=str(tmp_path), enable_alerting=False) as monitor:
        monitor.send_alert("Model down", "no answer")
        monitor.check_data_quality([{"a": None}] * 10)
        assert monitor.alert_manager is None
    assert not (tmp_path / "alerts").exists()


def test_a_default_rule_fires_on_a_poor_quality_batch(tmp_path):
    with ModelMonitor(storage_path=str(tmp_path), enable_slo_tracking=False) as monitor:
        monitor.set_reference_data([{"a": float(i), "b": float(i)} for i in range(50)])
        # every value missing (weight 0.30) and one unexpected feature of three (0.15 / 3)
        result = monitor.check_data_quality([{"a": None, "b": None, "c": 1.0}] * 10)
        assert result["quality_score"] == pytest.approx(1 - 0.30 - 0.15 / 3)
        assert result["is_healthy"] is False
        wait_until(lambda: (tmp_path / "alerts" / "alerts.jsonl").exists(), "the logged alert")
    (line,) = (tmp_path / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert "Data quality score dropped to 0.650" in line


def test_start_prometheus_server_serves_the_exporter_over_this_storage(tmp_path):
    port = free_port()
    with ModelMonitor("fraud", "2.0", storage_path=str(tmp_path)) as monitor:
        serve_traffic(monitor, 30, 2)
        url = monitor.start_prometheus_server(port)
        assert url == f"http://{LOOPBACK}:{port}"
        key = ("neural_predictions_total", (("model", "fraud"), ("version", "2.0")))
        wait_until(lambda: samples(httpx.get(f"{url}/metrics", timeout=5).text).get(key) == 32,
                   "the 32 requests exported")
        values = samples(httpx.get(f"{url}/metrics", timeout=5).text)
        slo = ("neural_slo_compliance",
               (("model", "fraud"), ("slo", "model_availability"), ("version", "2.0")))
        assert values[slo] == pytest.approx(30 / 32)
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    with socket.create_server((LOOPBACK, port)):
        pass


def test_a_port_in_use_is_a_clear_error_and_the_monitor_keeps_working(tmp_path):
    with socket.create_server((LOOPBACK, 0)) as taken:
        port = taken.getsockname()[1]
        with ModelMonitor(storage_path=str(tmp_path)) as monitor:
            with pytest.raises(MetricsServerBindError, match=f"{LOOPBACK}:{port}"):
                monitor.start_prometheus_server(port)
            monitor.log_prediction("p1", {"a": 1.0}, 1)
            other = monitor.start_prometheus_server(0)
            monitor.stop_prometheus_server()
            assert other.startswith(f"http://{LOOPBACK}:")


def test_prediction_logger_takes_the_predictions_folder_the_old_module_was_given(tmp_path):
    old_path = tmp_path / "monitoring_data" / "predictions"
    with PredictionLogger(str(old_path)) as logger:
        logger.log_prediction("p1", {"a": 1.0}, 1)
    assert logger.storage_path == tmp_path / "monitoring_data"
    (written,) = old_path.glob("*.jsonl")
    assert json.loads(written.read_text())["prediction_id"] == "p1"
    assert not (old_path / "predictions").exists()


def test_prediction_logger_given_no_path_writes_to_the_old_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with PredictionLogger(None) as logger:
        assert logger.predictions_dir.resolve() == (tmp_path / "monitoring_data" /
                                                    "predictions").resolve()


def test_prediction_logger_takes_the_old_sampling_arguments_in_their_old_order(tmp_path):
    with PredictionLogger(tmp_path, 100, True, 0.25) as logger:
        assert logger.sample_rate == 0.25
    with PredictionLogger(tmp_path, enable_sampling=True, sampling_rate=0.5,
                          sample_rate=0.5) as logger:
        assert logger.sample_rate == 0.5
    with PredictionLogger(tmp_path, enable_sampling=False) as logger:
        assert logger.sample_rate == 1.0


@pytest.mark.parametrize(("arguments", "message"), [
    ({"enable_sampling": True, "sampling_rate": 0.5, "sample_rate": 0.2}, "disagrees"),
    ({"enable_sampling": False, "sample_rate": 0.2}, "disagrees"),
    ({"sampling_rate": 0.5}, "needs enable_sampling=True"),
    ({"enable_sampling": True, "sampling_rate": 1.5}, "between 0 and 1"),
])
def test_sampling_asked_two_ways_that_disagree_is_refused(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        PredictionLogger(tmp_path, **arguments)


def test_importing_the_old_face_loads_no_engine_scipy_or_server():
    code = ("import sys, neural_tui\nneural_tui.ModelMonitor\nneural_tui.DriftMetrics\n"
            "neural_tui.QualityReport\nprint('\\n'.join(sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    loaded = set(result.stdout.split())
    assert "neural_tui.monitor" in loaded
    heavy = {"scipy", "numpy", "prometheus_client", "httpx", "textual"}
    assert not {m for m in loaded if m.split(".")[0] in heavy}
    assert not {m for m in loaded if m.startswith(("neural_tui.engines", "neural_tui.runtime"))}


def test_the_old_face_keeps_the_writers_options(tmp_path: Path):
    with ModelMonitor("fraud", "2.0", storage_path=tmp_path, sample_rate=0.0,
                      flush_interval=60.0, batch_size=10, enable_alerting=False) as monitor:
        monitor.log_prediction("p1", {"a": 1.0}, 1)
        assert (monitor.sample_rate, monitor.buffered_records) == (0.0, 0)
        assert monitor.total_predictions == 1


def test_threads_logging_while_drift_is_checked_lose_no_count(tmp_path, capsys):
    import threading

    import numpy as np

    data = np.random.default_rng(6).normal(size=(300, 2))
    with ModelMonitor("fraud", "2.0", storage_path=str(tmp_path), enable_alerting=False,
                      batch_size=64) as monitor:
        monitor.set_reference_data(data)

        def serve(worker: int) -> None:
            for i in range(500):
                monitor.log_prediction(f"w{worker}-{i}", {"x": float(i)}, i % 2,
                                       ground_truth=1, latency_ms=5.0)

        threads = [threading.Thread(target=serve, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for _ in range(5):
            monitor.check_drift(data)
        for thread in threads:
            thread.join()
        result = monitor.check_drift(data)
        slos = monitor.get_monitoring_summary()["slos"]
    assert monitor.total_predictions == 2000
    assert slos["model_availability"]["total_measurements"] == 2000
    assert result["report"]["concept"]["samples"] == 2000
    assert main(["status", "--storage", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["predictions_total"] == 2000


def test_worst_values_of_a_prediction_are_written_and_left_out_of_the_figures(tmp_path):
    with ModelMonitor(storage_path=str(tmp_path), enable_alerting=False) as monitor:
        monitor.log_prediction("nan", {"x": float("nan")}, 1, latency_ms=float("nan"))
        monitor.log_prediction("inf", {"x": 1.0}, 1, latency_ms=float("inf"))
        with pytest.raises(TypeError, match="cannot be written as JSON"):
            monitor.log_prediction("huge", {"x": 1.0}, 10**400, ground_truth=10**400)
        monitor.log_prediction("long", {"x": 1.0}, "x" * 10_000, ground_truth="x" * 10_000)
        monitor.log_prediction("nested", {"x": 1.0}, [1, 2], ground_truth={"a": 1})
        metrics = monitor.get_metrics()
        slos = monitor.get_monitoring_summary()["slos"]
    assert metrics["total_predictions"] == 4
    assert metrics["latency_p99"] is None
    assert slos["model_availability"]["total_measurements"] == 4
    assert slos["prediction_latency_p95"]["status"] == "no_data"
    assert slos["model_accuracy"]["status"] == "no_data"
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics


def test_each_minutes_slo_events_are_counted_in_that_minute(tmp_path):
    now = [1_800_000_000.0]  # a minute boundary
    with ModelMonitor(storage_path=str(tmp_path), enable_alerting=False,
                      clock=lambda: now[0]) as monitor:
        for second in (1, 20, 59):
            now[0] = 1_800_000_000.0 + second
            monitor.log_prediction(f"p{second}", {"x": 1.0}, 1, latency_ms=250.0)
        now[0] = 1_800_000_000.0 + 61
        monitor.record_error("timeout")
        monitor.record_error("timeout")
        tracker = monitor.slo_tracker
        assert tracker is not None
        first = tracker.generate_sla_report("model_availability", 1_800_000_000.0,
                                            1_800_000_059.0)
        both = tracker.get_slo_status("model_availability")
        latency = tracker.get_slo_status("prediction_latency_p95")
    assert (first.compliance_rate, first.status.total) == (1.0, 3)
    assert (both["total_measurements"], both["compliance_rate"]) == (5, pytest.approx(3 / 5))
    # 250 ms is over the 100 ms threshold: every request is a bad latency event
    assert (latency["total_measurements"], latency["compliance_rate"]) == (3, 0.0)


def test_record_events_counts_as_many_measurements_would():
    from neural_tui.slo_tracker import SLOTracker, create_latency_slo, create_throughput_slo

    clock = lambda: 1_800_000_030.0  # noqa: E731
    one_by_one, at_once = SLOTracker(clock=clock), SLOTracker(clock=clock)
    for tracker in (one_by_one, at_once):
        tracker.add_slo(create_latency_slo(100.0))
        tracker.add_slo(create_throughput_slo(10.0))
    for seconds in [0.05] * 7 + [0.5] * 3:
        one_by_one.record_measurement("prediction_latency_p95", seconds)
    at_once.record_events("prediction_latency_p95", 10, 7)
    expected = one_by_one.get_slo_status("prediction_latency_p95")
    got = at_once.get_slo_status("prediction_latency_p95")
    assert (got["total_measurements"], got["compliance_rate"]) == (
        expected["total_measurements"], expected["compliance_rate"]) == (10, 0.7)
    with pytest.raises(ValueError, match="throughput SLO counts rates"):
        at_once.record_events("throughput", 1, 1)
    with pytest.raises(ValueError, match="0 <= good <= total"):
        at_once.record_events("prediction_latency_p95", 2, 3)
