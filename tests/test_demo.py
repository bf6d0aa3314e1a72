"""The demo traffic writes valid contract records, is reproducible, and drifts on schedule."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neural_tui.demo import MODEL_VERSIONS, DemoRequest, DemoTraffic, generate

START = 1_700_000_000.0
PREDICTION_KEYS = {
    "timestamp",
    "prediction_id",
    "input_features",
    "prediction",
    "prediction_proba",
    "ground_truth",
    "latency_ms",
    "metadata",
    "model_name",
    "model_version",
}
LABEL_KEYS = {"timestamp", "prediction_id", "ground_truth", "model_name", "model_version"}
ERROR_KEYS = {"timestamp", "prediction_id", "error", "latency_ms", "model_name", "model_version"}


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def read_records(storage: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((storage / "predictions").glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


def run_for(
    storage: Path,
    seconds: float,
    *,
    seed: int = 3,
    step: float = 5.0,
    drifting_model: str = "fraud-detector",
) -> list[dict]:
    """Drive a DemoTraffic with a fake clock, one step every `step` seconds, then stop it."""
    clock = FakeClock(START)
    traffic = DemoTraffic(
        storage,
        rate_per_model=20.0,
        drift_after=60.0,
        seed=seed,
        clock=clock,
        drifting_model=drifting_model,
    )
    traffic.step()
    while clock.now < START + seconds:
        clock.now += step
        traffic.step()
    traffic.stop()
    return read_records(storage)


def assert_contract_record(record: dict[str, Any]) -> None:
    assert isinstance(record["timestamp"], float)
    assert math.isfinite(record["timestamp"])
    assert isinstance(record["prediction_id"], str)
    assert record["prediction_id"]
    assert record["model_version"] == MODEL_VERSIONS[record["model_name"]]
    if "error" in record:
        assert set(record) == ERROR_KEYS
        assert record["error"] in {"timeout", "model_error", "invalid_input"}
        assert record["latency_ms"] > 0
    elif "input_features" in record:
        assert set(record) == PREDICTION_KEYS
        features = record["input_features"]
        assert features
        assert all(isinstance(name, str) for name in features)
        assert all(
            value is None or isinstance(value, int | float | str | bool)
            for value in features.values()
        )
        assert record["prediction"] is not None
        assert record["ground_truth"] is None
        assert record["latency_ms"] > 0
        assert isinstance(record["metadata"], dict)
        proba = record["prediction_proba"]
        if record["model_name"] == "fraud-detector":
            assert set(proba) == {"0", "1"}
            assert math.isclose(sum(proba.values()), 1.0, abs_tol=1e-5)
        else:
            assert proba is None
    else:
        assert set(record) == LABEL_KEYS
        assert record["ground_truth"] is not None


def share(requests: tuple[DemoRequest, ...], predicate: Any) -> float:
    return sum(1 for request in requests if predicate(request)) / len(requests)


def accuracy(requests: tuple[DemoRequest, ...]) -> float:
    served = [request for request in requests if request.error is None]
    return sum(r.prediction == r.ground_truth for r in served) / len(served)


@pytest.mark.parametrize("model", sorted(MODEL_VERSIONS))
def test_generate_is_deterministic_for_a_seed(model: str) -> None:
    first = generate(model, START, START + 30, rate=20.0, drifted=False, seed=11)
    again = generate(model, START, START + 30, rate=20.0, drifted=False, seed=11)
    other = generate(model, START, START + 30, rate=20.0, drifted=False, seed=12)

    assert first == again
    assert first != other


@pytest.mark.parametrize("model", sorted(MODEL_VERSIONS))
def test_generate_spreads_requests_over_the_interval_at_the_rate(model: str) -> None:
    requests = generate(model, START, START + 100, rate=20.0, drifted=False, seed=5)
    timestamps = [request.timestamp for request in requests]

    assert 1_800 < len(requests) < 2_200  # Poisson(2000): +-4.5 standard deviations
    assert timestamps == sorted(timestamps)
    assert timestamps[0] >= START and timestamps[-1] < START + 100
    assert len({request.prediction_id for request in requests}) == len(requests)


def test_generate_mixes_numeric_categorical_and_missing_features() -> None:
    requests = generate("fraud-detector", START, START + 200, rate=20.0, drifted=False, seed=1)
    amounts = np.array([r.input_features["amount"] for r in requests])
    countries = Counter(r.input_features["country"] for r in requests)

    assert amounts.min() > 0
    assert np.median(amounts) < amounts.mean()  # lognormal: a long right tail
    assert set(countries) == {"US", "GB", "DE", "FR", "BR", "IN"}
    assert 0 < share(requests, lambda r: r.input_features["account_age_days"] is None) < 0.03


def test_latency_has_a_long_tail_and_errors_are_about_one_percent() -> None:
    requests = generate("churn-model", START, START + 500, rate=20.0, drifted=False, seed=2)
    latency = np.array([request.latency_ms for request in requests])

    assert np.percentile(latency, 99.9) > 5 * np.median(latency)
    assert 0.005 < share(requests, lambda r: r.error is not None) < 0.02


def test_most_but_not_all_served_requests_get_a_late_label() -> None:
    requests = generate("fraud-detector", START, START + 200, rate=20.0, drifted=False, seed=4)
    served = tuple(request for request in requests if request.error is None)
    delays = [request.label_delay for request in served if request.label_delay is not None]

    assert 0.7 < len(delays) / len(served) < 0.95
    assert min(delays) > 0
    assert 1.0 < float(np.median(delays)) < 10.0
    assert all(r.label_delay is None for r in requests if r.error is not None)


def test_drift_moves_inputs_and_raises_errors_and_latency_and_lowers_accuracy() -> None:
    calm = generate("fraud-detector", START, START + 300, rate=20.0, drifted=False, seed=8)
    drifted = generate("fraud-detector", START, START + 300, rate=20.0, drifted=True, seed=8)

    def mean_amount(requests: tuple[DemoRequest, ...]) -> float:
        return float(np.mean([r.input_features["amount"] for r in requests]))

    def error_share(requests: tuple[DemoRequest, ...]) -> float:
        return share(requests, lambda r: r.error is not None)

    def median_latency(requests: tuple[DemoRequest, ...]) -> float:
        return float(np.median([r.latency_ms for r in requests]))

    def tablet_share(requests: tuple[DemoRequest, ...]) -> float:
        return share(requests, lambda r: r.input_features["device"] == "tablet")

    assert mean_amount(drifted) > 1.5 * mean_amount(calm)
    assert tablet_share(drifted) > 2 * tablet_share(calm)
    assert error_share(drifted) > 3 * error_share(calm)
    assert median_latency(drifted) > 2 * median_latency(calm)
    assert accuracy(calm) > 0.8
    assert accuracy(drifted) < accuracy(calm) - 0.2


def test_an_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown demo model"):
        generate("nope", START, START + 1, rate=1.0, drifted=False, seed=0)


def test_demo_traffic_writes_valid_contract_records_for_three_models(tmp_path: Path) -> None:
    records = run_for(tmp_path, 30.0)

    for record in records:
        assert_contract_record(record)
    assert {record["model_name"] for record in records} == set(MODEL_VERSIONS)
    assert 3 * 20 * 30 * 0.8 < sum("input_features" in r for r in records) < 3 * 20 * 30 * 1.2
    assert any("error" in record for record in records)


def test_labels_arrive_after_their_prediction_for_most_predictions(tmp_path: Path) -> None:
    records = run_for(tmp_path, 60.0)
    predictions = {
        (r["model_name"], r["prediction_id"]): r["timestamp"]
        for r in records
        if "input_features" in r
    }
    labels = [r for r in records if set(r) == LABEL_KEYS]

    assert labels
    for label in labels:
        predicted_at = predictions[(label["model_name"], label["prediction_id"])]
        assert label["timestamp"] > predicted_at
    assert 0.5 < len(labels) / len(predictions) < 0.95


def test_the_same_seed_and_clock_write_the_same_records(tmp_path: Path) -> None:
    def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # failed requests get a fresh random id from record_error; everything else must match
        return sorted(
            (
                {key: value for key, value in r.items() if key != "prediction_id"}
                if "error" in r
                else r
                for r in records
            ),
            key=lambda r: (r["model_name"], r["timestamp"]),
        )

    first = run_for(tmp_path / "first", 20.0, seed=9)
    second = run_for(tmp_path / "second", 20.0, seed=9)
    third = run_for(tmp_path / "third", 20.0, seed=10)

    assert comparable(first) == comparable(second)
    assert comparable(first) != comparable(third)


def test_only_the_drifting_model_drifts_and_only_after_the_switch(tmp_path: Path) -> None:
    records = run_for(tmp_path, 180.0)
    switch = START + 60.0

    def rows(model: str, after: bool) -> list[dict[str, Any]]:
        return [
            r
            for r in records
            if r["model_name"] == model
            and set(r) != LABEL_KEYS
            and (r["timestamp"] >= switch) == after
        ]

    def mean_amount(model_rows: list[dict[str, Any]]) -> float:
        return float(
            np.mean([r["input_features"]["amount"] for r in model_rows if "error" not in r])
        )

    def error_share(model_rows: list[dict[str, Any]]) -> float:
        return sum("error" in r for r in model_rows) / len(model_rows)

    fraud_before, fraud_after = rows("fraud-detector", False), rows("fraud-detector", True)
    churn_before, churn_after = rows("churn-model", False), rows("churn-model", True)
    assert mean_amount(fraud_after) > 1.5 * mean_amount(fraud_before)
    assert error_share(fraud_after) > 2 * error_share(fraud_before)
    assert error_share(churn_after) < 0.03
    assert error_share(churn_before) < 0.03


def test_the_drifting_model_can_be_chosen(tmp_path: Path) -> None:
    records = run_for(tmp_path, 120.0, drifting_model="price-regressor")
    switch = START + 60.0

    def mean_sqft(after: bool) -> float:
        return float(
            np.mean(
                [
                    r["input_features"]["sqft"]
                    for r in records
                    if r["model_name"] == "price-regressor"
                    and "input_features" in r
                    and (r["timestamp"] >= switch) == after
                ]
            )
        )

    def fraud_error_share(after: bool) -> float:
        rows = [
            r
            for r in records
            if r["model_name"] == "fraud-detector"
            and set(r) != LABEL_KEYS
            and (r["timestamp"] >= switch) == after
        ]
        return sum("error" in r for r in rows) / len(rows)

    assert mean_sqft(after=True) > 1.2 * mean_sqft(after=False)
    assert fraud_error_share(after=True) < 0.03


def test_a_long_pause_generates_at_most_a_minute_of_missed_traffic(tmp_path: Path) -> None:
    clock = FakeClock(START)
    traffic = DemoTraffic(tmp_path, rate_per_model=10.0, seed=1, clock=clock)
    traffic.step()
    clock.now += 3600.0
    traffic.step()
    traffic.stop()

    requests = [r for r in read_records(tmp_path) if set(r) != LABEL_KEYS]
    assert min(r["timestamp"] for r in requests) >= clock.now - 60.0
    assert 3 * 10 * 60 * 0.8 < len(requests) < 3 * 10 * 60 * 1.2


def test_started_traffic_reaches_storage_without_manual_steps(tmp_path: Path) -> None:
    traffic = DemoTraffic(tmp_path, rate_per_model=200.0, seed=1, tick=0.02)
    traffic.start()
    deadline = time.monotonic() + 10.0
    predictions = tmp_path / "predictions"
    while not any(p.stat().st_size for p in predictions.glob("*.jsonl")):
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    traffic.stop()

    records = read_records(tmp_path)
    assert records
    for record in records:
        assert_contract_record(record)
