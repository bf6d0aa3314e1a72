"""The old module's `ModelMonitor` as a model server written for it calls it: the old
constructor, `set_reference_data`, `check_drift`, `check_data_quality` and the readers, their
old keys checked against scipy, hand-computed values and the engines themselves."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import neural_tui
from neural_tui import DriftMetrics, ModelMonitor, QualityReport
from neural_tui.engines.concept import PageHinkley
from neural_tui.engines.drift import build_reference, detect
from neural_tui.engines.quality import build_quality_reference, check

NAMES = ["amount", "age", "score"]


def quiet_monitor(storage, **options) -> ModelMonitor:
    """An old-style monitor with alerting and SLOs off, so each test reads one concern."""
    return ModelMonitor("fraud", "2.0", storage_path=str(storage), enable_alerting=False,
                        enable_slo_tracking=False, **options)


def reference_and_shifted(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(800, 3))
    current = rng.normal(size=(400, 3))
    current[:, 0] += 1.0
    return reference, current


def strict_json(value: object) -> object:
    return json.loads(json.dumps(value, allow_nan=False))


def test_the_old_constructor_takes_its_arguments_in_their_old_order(tmp_path):
    monitor = ModelMonitor("fraud", "2.0", "fraud-eu", str(tmp_path / "data"), False, True,
                           False, {"webhook_url": "http://127.0.0.1:9/hook"})
    with monitor:
        assert (monitor.model_name, monitor.model_version, monitor.model_id) == (
            "fraud", "2.0", "fraud-eu")
        assert monitor.storage_path == tmp_path / "data"
        assert monitor.slo_tracker is None
        assert monitor.alert_manager is not None
        assert monitor.alert_manager.channels == {"log": "log", "webhook": "webhook"}
        with pytest.raises(RuntimeError, match="not enabled"):
            monitor.start_prometheus_server()


def test_the_old_defaults_name_the_default_model_in_monitoring_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with ModelMonitor() as monitor:
        assert (monitor.model_name, monitor.model_version, monitor.model_id) == (
            "default", "1.0", "default")
        assert monitor.storage_path.resolve() == (tmp_path / "monitoring_data").resolve()
        assert monitor.predictions_dir.is_dir()
        assert monitor.alert_manager is not None and monitor.slo_tracker is not None


def test_the_result_shapes_are_importable_and_the_engine_report_keeps_its_name():
    from neural_tui.engines.quality import QualityReport as EngineQualityReport

    assert neural_tui.QualityReport is QualityReport
    assert QualityReport is not EngineQualityReport
    assert set(DriftMetrics(timestamp=0.0).to_dict()) >= {
        "feature_drift", "prediction_drift", "performance_drift", "data_distribution_drift",
        "concept_drift_score", "statistical_distance", "is_drifting", "drift_severity", "report"}
    assert set(QualityReport(timestamp=0.0, total_samples=0).to_dict()) >= {
        "total_samples", "missing_values", "missing_rate", "outliers", "outlier_rate",
        "invalid_values", "invalid_rate", "schema_violations", "data_types", "value_ranges",
        "quality_score", "is_healthy", "warnings", "report"}


def test_feature_drift_is_each_features_ks_statistic_as_scipy_computes_it(tmp_path):
    reference, current = reference_and_shifted()
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference, feature_names=NAMES)
        result = monitor.check_drift(current)
    for i, name in enumerate(NAMES):
        expected = stats.ks_2samp(reference[:, i], current[:, i])
        assert result["feature_drift"][name] == pytest.approx(expected.statistic, abs=1e-12)
        feature = next(f for f in result["report"]["features"] if f["name"] == name)
        assert feature["ks_p_value"] == pytest.approx(expected.pvalue, rel=1e-9)


def test_check_drift_is_the_drift_engines_report_with_the_old_keys_over_it(tmp_path):
    reference, current = reference_and_shifted()
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference, feature_names=NAMES)
        result = monitor.check_drift(current)
    columns = {name: column for name, column in zip(NAMES, reference.T, strict=True)}
    engine = detect(build_reference(columns), dict(zip(NAMES, current.T, strict=True)))
    report = engine.to_dict()
    assert result["report"]["features"] == strict_json(report["features"])
    drifted = report["drifted_features"]
    assert "amount" in drifted
    assert result["data_distribution_drift"] == pytest.approx(len(drifted) / 3)
    assert result["is_drifting"] is True
    assert "distribution" in result["drift_kinds"]
    largest = max(stats.ks_2samp(reference[:, NAMES.index(n)], current[:, NAMES.index(n)])
                  .statistic for n in drifted)
    assert 0.25 <= largest < 0.5
    assert result["drift_severity"] == "high"
    means = result["statistical_distance"]
    assert means["ks"] == pytest.approx(np.mean([stats.ks_2samp(reference[:, i], current[:, i])
                                                 .statistic for i in range(3)]))
    assert means["wasserstein"] == pytest.approx(np.mean(
        [stats.wasserstein_distance(reference[:, i], current[:, i]) for i in range(3)]))
    assert strict_json(result) == result


def test_the_same_distribution_does_not_drift_and_has_no_severity(tmp_path):
    rng = np.random.default_rng(11)
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(rng.normal(size=(800, 3)))
        result = monitor.check_drift(rng.normal(size=(400, 3)))
    assert result["report"]["drifted_features"] == []
    assert (result["is_drifting"], result["drift_severity"], result["drift_kinds"]) == (
        False, "none", [])


def test_prediction_drift_is_the_moved_share_of_predicted_classes(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(1000, 2))
    reference_predictions = np.array([1] * 200 + [0] * 800)
    current_predictions = np.array([1] * 500 + [0] * 500)
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(data, predictions=reference_predictions)
        result = monitor.check_drift(data[:1000], predictions=current_predictions)
    assert result["prediction_drift"] == pytest.approx(0.5 - 0.2)
    assert "prediction" in result["drift_kinds"]
    assert result["drift_severity"] == "high"


def test_performance_drift_is_the_drop_of_accuracy_from_the_reference_figures(tmp_path):
    data = np.random.default_rng(5).normal(size=(300, 2))
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(data, performance={"accuracy": 0.95, "f1": 0.94})
        worse = monitor.check_drift(data, performance={"accuracy": 0.80, "f1": 0.70})
        better = monitor.check_drift(data, performance={"accuracy": 0.99})
    assert worse["performance_drift"] == pytest.approx(0.15)
    assert worse["drift_kinds"] == ["performance"]
    assert worse["drift_severity"] == "medium"
    assert (better["performance_drift"], better["is_drifting"]) == (0.0, False)


def test_figures_given_to_update_performance_metrics_are_what_check_drift_compares(tmp_path):
    data = np.random.default_rng(5).normal(size=(300, 2))
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(data, performance={"accuracy": 0.9})
        monitor.update_performance_metrics({"accuracy": 0.6, "precision": 0.5})
        result = monitor.check_drift(data)
        metrics = monitor.get_metrics()
    assert result["performance_drift"] == pytest.approx(0.3)
    assert result["drift_severity"] == "high"
    assert (metrics["accuracy"], metrics["precision"]) == (0.6, 0.5)


def test_concept_drift_is_page_hinkley_over_the_labelled_predictions_logged(tmp_path):
    errors = [0.0] * 300 + [1.0] * 300
    data = np.random.default_rng(9).normal(size=(200, 2))
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(data)
        for i, wrong in enumerate(errors):
            monitor.log_prediction(f"p{i}", {"x": 1.0}, 0 if wrong else 1, ground_truth=1)
        result = monitor.check_drift(data)
    expected = PageHinkley().update(np.array(errors))
    assert result["concept_drift_score"] == pytest.approx(expected.normalised)
    assert expected.drift_detected
    assert "concept" in result["drift_kinds"]
    assert result["report"]["concept"]["drifts_total"] == expected.drifts_total


def test_the_first_check_without_a_reference_becomes_it_as_the_old_module_did(tmp_path):
    reference, current = reference_and_shifted()
    with quiet_monitor(tmp_path) as monitor:
        first = monitor.check_drift(reference)
        second = monitor.check_drift(current)
    assert (first["is_drifting"], first["report"]) == (False, None)
    assert second["feature_drift"]["feature_0"] == pytest.approx(
        stats.ks_2samp(reference[:, 0], current[:, 0]).statistic)


def test_a_list_of_dicts_names_its_features_and_categories_drift_by_total_variation(tmp_path):
    reference = [{"country": "FR" if i % 4 else "DE", "amount": float(i)} for i in range(400)]
    current = [{"country": "FR" if i % 2 else "DE", "amount": float(i)} for i in range(400)]
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference)
        result = monitor.check_drift(current)
    # DE: 1/4 of the reference, 1/2 of the window; total variation = 0.5 * (0.25 + 0.25)
    assert result["feature_drift"]["country"] == pytest.approx(0.25)
    assert result["feature_drift"]["amount"] == pytest.approx(0.0)
    assert "country" in result["report"]["drifted_features"]


def test_missing_rate_is_missing_cells_over_all_cells_and_counted_per_feature(tmp_path):
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(500, 4))
    batch = rng.normal(size=(200, 4))
    batch[:30, 1] = np.nan
    batch[:5, 2] = np.inf
    batch[10:12, 3] = -np.inf
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference)
        result = monitor.check_data_quality(batch)
    assert result["missing_rate"] == pytest.approx((30 + 5 + 2) / (200 * 4))
    assert result["missing_values"] == {"feature_1": 30, "feature_2": 5, "feature_3": 2}
    assert result["total_samples"] == 200
    assert result["data_types"] == dict.fromkeys(
        ["feature_0", "feature_1", "feature_2", "feature_3"], "numeric")


def test_outliers_are_beyond_the_references_median_and_mad_and_the_score_is_the_engines(
        tmp_path):
    rng = np.random.default_rng(4)
    reference = rng.normal(size=(500, 2))
    batch = rng.normal(size=(100, 2))
    batch[:6, 0] = 50.0
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference)
        result = monitor.check_data_quality(batch)
    expected = 0
    checked = 0
    for i in range(2):
        median = np.median(reference[:, i])
        mad = np.median(np.abs(reference[:, i] - median))
        reach = 3.5 * mad / 0.6745
        expected += int(np.sum(np.abs(batch[:, i] - median) > reach))
        checked += batch.shape[0]
    assert result["outliers"]["feature_0"] >= 6
    assert sum(result["outliers"].values()) == expected
    assert result["outlier_rate"] == pytest.approx(expected / checked)
    columns = {f"feature_{i}": reference[:, i] for i in range(2)}
    engine = check(build_quality_reference(columns),
                   {f"feature_{i}": batch[:, i] for i in range(2)})
    assert result["quality_score"] == pytest.approx(engine.score)
    assert result["report"] == strict_json(engine.to_dict())
    assert any("outside the reference range" in line for line in result["schema_violations"])
    assert result["value_ranges"]["feature_0"]["max"] == 50.0


def test_text_in_a_numeric_feature_is_an_invalid_value(tmp_path):
    reference = [{"amount": float(i)} for i in range(100)]
    batch = [{"amount": "n/a" if i < 5 else float(i)} for i in range(50)]
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference)
        result = monitor.check_data_quality(batch)
    assert result["invalid_values"] == {"amount": 5}
    assert result["invalid_rate"] == pytest.approx(5 / 50)
    assert any(line.startswith("Invalid values") for line in result["warnings"])


def test_a_feature_the_reference_lacks_is_a_schema_violation(tmp_path):
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data([{"a": 1.0, "b": 2.0}] * 50)
        result = monitor.check_data_quality([{"a": 1.0, "c": 3.0}] * 10)
    assert result["schema_violations"] == ["missing feature 'b'", "unexpected feature 'c'"]


@pytest.mark.parametrize(("data", "message"), [
    ("not data", "got str"),
    (42, "got int"),
    ({"a": [1, 2]}, "got dict"),
    ([], "no rows"),
    (np.empty((0, 3)), "no rows"),
    (np.empty((5, 0)), "no features"),
    ([[1.0, 2.0], [3.0]], "row 1 has 1 values but row 0 has 2"),
    ([{"a": 1.0}, [1.0]], r"row 1 is a list and row 0 a dict \(dict\)"),
    ([[1.0], {"a": 1.0}], r"row 1 is a dict and row 0 a list of values \(list\)"),
    ([[1.0], 2.0], r"row 1 is a float and row 0 a list of values"),
    ([{}, {}], "no features"),
    (np.array([["a", "b"], ["c", "d"]]), "text"),
    (np.zeros((2, 2, 2)), "2-D"),
    (np.zeros((2, 10_000)), r"10000 features, more than max_features \(500\)"),
    ([{f"f{i}": 1.0 for i in range(501)}], "more than 500 features"),
])
def test_garbage_data_is_refused_with_what_is_wrong(tmp_path, data, message):
    with quiet_monitor(tmp_path) as monitor:
        for call in (monitor.set_reference_data, monitor.check_drift,
                     monitor.check_data_quality):
            with pytest.raises(ValueError, match=message):
                call(data)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"feature_names": ["a"]}, r"data has 2 columns but feature_names has 1 \(a\)"),
    ({"feature_names": ["a", "a"]}, "feature_names repeat 'a'"),
    ({"predictions": [1, 0]}, "2 predictions for 3 rows"),
    ({"predictions": np.zeros((3, 2))}, r"one value per row \(1-D\)"),
    ({"predictions": "abc"}, "one value per row, got str"),
    ({"performance": {"accuracy": math.nan}}, "figure 'accuracy' must be finite"),
    ({"performance": {"accuracy": "high"}}, "figure 'accuracy' must be a number"),
    ({"performance": [0.9]}, "dict of name to number"),
])
def test_bad_companions_of_the_data_are_refused_naming_them(tmp_path, arguments, message):
    with quiet_monitor(tmp_path) as monitor, pytest.raises(ValueError, match=message):
        monitor.set_reference_data(np.zeros((3, 2)), **arguments)


def test_a_list_of_values_is_one_feature_as_a_1d_array_is(tmp_path):
    rng = np.random.default_rng(12)
    reference, current = rng.normal(size=300), rng.normal(size=200) + 0.5
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference.tolist())
        from_list = monitor.check_drift(current.tolist())
        from_array = monitor.check_drift(current)
    expected = stats.ks_2samp(reference, current).statistic
    assert from_list["feature_drift"] == from_array["feature_drift"] == {
        "feature_0": pytest.approx(expected)}


def test_dicts_are_checked_by_their_keys_after_an_array_reference(tmp_path):
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(np.arange(20.0).reshape(10, 2), feature_names=["a", "b"])
        result = monitor.check_data_quality([{"a": 1.0, "b": 2.0}] * 5)
    assert result["schema_violations"] == []


def test_a_window_with_other_columns_than_the_reference_is_refused(tmp_path):
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(np.zeros((10, 3)), feature_names=NAMES)
        for call in (monitor.check_drift, monitor.check_data_quality):
            with pytest.raises(ValueError, match=r"data has 2 columns but the reference has 3 "
                                                 r"\(amount, age, score\)"):
                call(np.zeros((10, 2)))


def test_nan_and_huge_values_are_judged_not_crashed_on_and_the_result_is_strict_json(tmp_path):
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(300, 3))
    reference[:, 2] = np.nan
    current = rng.normal(size=(100, 3))
    current[:, 1] = 1e308
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference)
        drift = monitor.check_drift(current)
        quality = monitor.check_data_quality(current)
    reasons = {f["name"]: f["reason"] for f in drift["report"]["features"]}
    # beyond 1e150 a number reads as infinite to the drift tests (see engines/columns.py)
    assert reasons == {"feature_0": None, "feature_1": "no current values",
                       "feature_2": "no reference values"}
    assert list(drift["feature_drift"]) == ["feature_0"]
    assert quality["outliers"] == {"feature_1": 100}
    assert quality["missing_values"] == {}
    assert strict_json(drift) == drift
    assert strict_json(quality) == quality


def test_the_readers_summarise_the_checks_and_predictions_with_the_old_keys(tmp_path):
    reference, current = reference_and_shifted()
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(reference)
        monitor.check_drift(current)
        monitor.check_drift(reference[:400])
        monitor.check_data_quality(current)
        for latency in range(1, 101):
            monitor.log_prediction(f"p{latency}", {"x": 1.0}, 1,
                                   ground_truth=0 if latency % 4 == 0 else 1,
                                   latency_ms=float(latency))
        monitor.record_error("timeout")
        metrics = monitor.get_metrics()
        summary = monitor.get_monitoring_summary()
    # latencies 1..100: p99 at position 0.99 * 99 = 98.01, between 99 and 100
    assert metrics["latency_p99"] == pytest.approx(99.01)
    assert (metrics["total_predictions"], metrics["total_errors"]) == (100, 1)
    assert metrics["error_rate"] == pytest.approx(1 / 101)
    drift = summary["drift"]
    assert (drift["status"], drift["total_samples"], drift["drift_rate"]) == ("ok", 2, 0.5)
    assert summary["quality"]["healthy_rate"] == 1.0
    assert summary["errors_by_type"] == {"timeout": 1}
    performance = summary["predictions"]["performance"]
    # prediction 1 everywhere, label 0 for every fourth: 75 of 100 right
    assert (performance["n_labelled"], performance["accuracy"]) == (100, 0.75)
    assert summary["predictions"]["accuracy"] == {"total_labeled": 100, "correct": 75,
                                                  "accuracy": 0.75}
    latency = summary["predictions"]["latency"]
    assert (latency["median"], latency["mean"], latency["max"]) == (50.5, 50.5, 100.0)
    assert strict_json(summary) == summary


def test_detect_anomalies_names_a_high_error_rate_and_a_shifted_class_mix(tmp_path):
    rng = np.random.default_rng(8)
    data = rng.normal(size=(500, 2))
    with quiet_monitor(tmp_path) as monitor:
        monitor.set_reference_data(data, predictions=np.array([0, 1] * 250))
        monitor.check_drift(data[:200], predictions=np.ones(200, dtype=int))
        for i in range(90):
            monitor.log_prediction(f"p{i}", {"x": 1.0}, 1)
        for _ in range(10):
            monitor.record_error("timeout")
        anomalies = {a["type"]: a for a in monitor.detect_anomalies()}
        health = monitor.generate_health_report()
    assert anomalies["error_rate"]["severity"] == "critical"
    assert anomalies["error_rate"]["message"] == "High error rate: 10.00%"
    assert "total variation 0.500" in anomalies["prediction_mix"]["message"]
    assert health["status"] == "critical"
    assert "High error rate: 10.00%" in health["issues"]


def test_the_old_faces_own_limits_are_the_configs_defaults():
    from neural_tui import config, monitor, monitor_data, monitor_results

    assert config.RuntimeSection().max_features == monitor_data.DEFAULT_MAX_FEATURES
    assert monitor_data.MAX_FEATURES_LIMIT == config.MAX_FEATURES_LIMIT
    assert config.HealthSection().min_quality_score == monitor_results.MIN_QUALITY_SCORE
    assert config.HealthSection().max_error_rate == monitor.ERROR_RATE_CRITICAL


def test_the_drift_score_is_the_largest_score_with_concept_capped_at_one():
    metrics = DriftMetrics(timestamp=0.0, prediction_drift=0.3, data_distribution_drift=0.1,
                           concept_drift_score=4.0)
    assert metrics.drift_score == 1.0
    assert DriftMetrics(timestamp=0.0, prediction_drift=0.3).drift_score == 0.3
