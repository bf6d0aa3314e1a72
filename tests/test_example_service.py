"""The example model services of `examples/`, run as a user runs them: a bad request is told
what the service accepts, a label for an id it never issued is refused, and what they write
is read by `neural-tui status --json`. The old-API variant is driven the same way."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from realservers import free_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SERVICE = EXAMPLES / "model_service.py"
OLD_API_SERVICE = EXAMPLES / "model_service_old_api.py"
VALID = {"amount": 120.5, "account_age_days": 30, "country": "BR", "device": "tablet"}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("model_service", SERVICE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def status(storage: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "neural_tui.cli", "status", "--storage", str(storage), "--json"],
        capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@contextmanager
def running(script: Path, storage: Path, *extra: str) -> Iterator[str]:
    """The service serving on a free loopback port; stopped with SIGTERM on the way out."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(script), "--storage", str(storage), "--port", str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(f"{url}/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service did not start in 60 s"
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr


def post(url: str, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}{path}", content=json.dumps(body), timeout=10)


def test_a_bad_request_is_told_what_the_service_accepts(tmp_path):
    with running(SERVICE, tmp_path) as url:
        country = post(url, "/predict", {"features": {**VALID, "country": "ZZ"}})
        missing = post(url, "/predict", {"features": {"amount": 3}})
        amount = post(url, "/predict", {"features": {**VALID, "amount": "12"}})
        huge = post(url, "/predict", {"features": {**VALID, "device": "x" * 50_000}})
        not_object = post(url, "/predict", {"features": [1, 2]})
    assert country.status_code == 400
    assert country.json()["error"] == ("feature 'country' must be one of BR, DE, FR, GB, US; "
                                       "got 'ZZ'")
    assert missing.json()["error"] == ("missing feature 'account_age_days', 'country', "
                                       "'device': a request needs amount, account_age_days, "
                                       "country, device")
    assert amount.json()["error"] == "feature 'amount' must be a number > 0; got '12'"
    assert huge.status_code == 400
    assert huge.json()["error"].startswith("feature 'device' must be one of desktop, mobile, "
                                           "tablet; got 'xxx")
    assert len(huge.json()["error"]) < 150
    assert not_object.json()["error"] == ("features must be a JSON object of amount, "
                                          "account_age_days, country, device")
    assert status(tmp_path)["models"][0]["errors_total"] == {"invalid_input": 5}


def test_a_body_past_the_bound_or_not_json_is_refused_with_why(tmp_path):
    with running(SERVICE, tmp_path) as url:
        long_body = httpx.post(f"{url}/predict", content=b" " * 100_000, timeout=10)
        garbage = httpx.post(f"{url}/predict", content=b"{not json", timeout=10)
        elsewhere = post(url, "/nowhere", {})
    assert long_body.status_code == 400
    assert long_body.json()["error"] == "a body is at most 65536 bytes; got 100000"
    assert garbage.json()["error"] == "the body must be a JSON object"
    assert elsewhere.status_code == 404


def test_a_label_for_an_unknown_or_labelled_prediction_is_refused(tmp_path):
    with running(SERVICE, tmp_path) as url:
        issued = post(url, "/predict", {"features": VALID}).json()["prediction_id"]
        unknown = post(url, "/label", {"prediction_id": "never-issued", "label": 1})
        bad_value = post(url, "/label", {"prediction_id": issued, "label": "yes"})
        first = post(url, "/label", {"prediction_id": issued, "label": 0})
        again = post(url, "/label", {"prediction_id": issued, "label": 1})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == ("unknown prediction_id 'never-issued': not issued by "
                                       "this service (or older than its newest 100,000 "
                                       "predictions)")
    assert bad_value.status_code == 400
    assert bad_value.json()["error"] == "label must be one of 0, 1; got 'yes'"
    assert first.json() == {"ok": True}
    assert again.status_code == 409
    assert again.json()["error"] == f"prediction_id {issued!r} is already labelled"
    model = status(tmp_path)["models"][0]
    assert (model["predictions_total"], model["labels_total"], model["labels_joined"]) == (1, 1, 1)


class RecordingMonitor:
    def __init__(self) -> None:
        self.labels: list[tuple[str, int]] = []

    def log_prediction(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log_ground_truth(self, prediction_id: str, ground_truth: int) -> None:
        self.labels.append((prediction_id, ground_truth))


def test_the_service_remembers_only_its_newest_ids(monkeypatch):
    example = load_example()
    monkeypatch.setattr(example, "MAX_ISSUED_IDS", 3)
    monitor = RecordingMonitor()
    service = example.PredictionService(monitor, example.ToyFraudModel())
    ids = [service.predict(VALID)["prediction_id"] for _ in range(4)]
    with pytest.raises(example.UnknownPrediction):
        service.label(ids[0], 1)
    service.label(ids[1], 1)
    assert monitor.labels == [(ids[1], 1)]


def test_simulated_traffic_is_read_by_neural_tui_status(tmp_path):
    subprocess.run([sys.executable, str(SERVICE), "--storage", str(tmp_path), "--requests",
                    "300", "--rate", "0"], check=True, timeout=120, capture_output=True)
    model = status(tmp_path)["models"][0]
    assert (model["name"], model["version"]) == ("toy-fraud", "1.0.0")
    assert model["predictions_total"] == 300
    assert sum(model["errors_total"].values()) >= 1
    assert model["labels_joined"] == model["labels_total"] > 150


def test_the_old_api_variant_simulates_and_reports_drift_in_the_old_keys(tmp_path):
    result = subprocess.run(
        [sys.executable, str(OLD_API_SERVICE), "--storage", str(tmp_path), "--requests", "300",
         "--rate", "0"], check=True, timeout=120, capture_output=True, text=True)
    report = json.loads(result.stdout.splitlines()[-1])
    assert {"feature_drift", "prediction_drift", "is_drifting", "drift_severity"} <= set(
        report["drift"])
    assert {"quality_score", "missing_rate", "outlier_rate", "is_healthy"} <= set(
        report["quality"])
    assert report["summary"]["model"]["name"] == "toy-fraud"
    model = status(tmp_path)["models"][0]
    assert model["predictions_total"] == 300
    assert model["labels_joined"] > 150


def test_the_old_api_variant_serves_requests_and_its_metrics(tmp_path):
    metrics_port = free_port()
    with running(OLD_API_SERVICE, tmp_path, "--metrics-port", str(metrics_port)) as url:
        issued = [post(url, "/predict", {"features": VALID}).json()["prediction_id"]
                  for _ in range(5)]
        refused = post(url, "/predict", {"features": {**VALID, "country": "ZZ"}})
        post(url, "/label", {"prediction_id": issued[0], "label": 1})
        drift = httpx.get(f"{url}/drift", timeout=30).json()
        summary = httpx.get(f"{url}/summary", timeout=30).json()
        deadline = time.monotonic() + 30
        while True:
            scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
            totals = [s.value for f in text_string_to_metric_families(scrape)
                      for s in f.samples if s.name == "neural_predictions_total"]
            if (totals and totals[0] >= 5) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert refused.json()["error"].startswith("feature 'country' must be one of")
    assert "is_drifting" in drift
    assert summary["model"]["name"] == "toy-fraud"
    assert totals and totals[0] >= 5
    model = status(tmp_path)["models"][0]
    assert model["predictions_total"] == 6
    assert model["errors_total"] == {"invalid_input": 1}
    assert model["labels_joined"] == 1
