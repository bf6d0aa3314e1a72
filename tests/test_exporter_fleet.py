"""What the exporter adds for a fleet: each feature's drift verdict and threshold beside its
statistic, the polled endpoints' `neural_target_up`, and never a remote model."""

from __future__ import annotations

import math

from exposition import exposition, labels, samples
from factories import (
    drift_report,
    feature_drift,
    four_features,
    idle_model_snapshot,
    slo_status,
)

from neural_tui.remote_models import FeatureDriftFigure, RemoteFigures, TargetStatus
from neural_tui.runtime.snapshot import IngestStats, ModelSnapshot, Snapshot


def snapshot_of(*models: ModelSnapshot, targets: tuple[TargetStatus, ...] = (),
                generated_at: float = 1_000.0) -> Snapshot:
    return Snapshot(generated_at=generated_at, models=models, ingest=IngestStats(0, {}),
                    targets=targets)


def feature(name: str, test: str) -> frozenset[tuple[str, str]]:
    return labels(model="fraud", version="1.0", feature=name, test=test)


FOUR = {"age": "ks", "income": "ks", "payment_method": "chi2", "tenure_days": "wasserstein"}
"""The deciding test of each of `four_features()`."""


def test_each_feature_exports_the_engines_verdict_beside_its_statistic():
    text = exposition(snapshot_of(idle_model_snapshot(
        "fraud", drift=drift_report(*four_features()))))

    assert samples(text, "neural_feature_drifted") == {
        feature("age", "ks"): 0.0,
        feature("income", "ks"): 1.0,
        feature("payment_method", "chi2"): 1.0,
        feature("tenure_days", "wasserstein"): 0.0,
    }
    assert samples(text, "neural_feature_drift") == {
        feature("age", "ks"): 0.031,
        feature("income", "ks"): 0.31,
        feature("payment_method", "chi2"): 48.2,
        feature("tenure_days", "wasserstein"): 0.07,
    }


def test_the_threshold_is_the_distance_tests_own_and_alpha_for_a_p_value_test():
    text = exposition(snapshot_of(idle_model_snapshot(
        "fraud", drift=drift_report(*four_features()))))

    assert samples(text, "neural_feature_drift_threshold") == {
        feature("age", "ks"): 0.05,
        feature("income", "ks"): 0.05,
        feature("payment_method", "chi2"): 0.05,
        feature("tenure_days", "wasserstein"): 0.1,
    }
    assert "compared with neural_feature_drift_p_value, not with the statistic" in text


def test_the_p_value_is_exported_only_for_p_value_tests_as_the_correction_gives_it():
    features = four_features()
    uncorrected = exposition(snapshot_of(idle_model_snapshot(
        "fraud", drift=drift_report(*features))))
    bonferroni = exposition(snapshot_of(idle_model_snapshot(
        "fraud", drift=drift_report(*features, correction="bonferroni"))))
    bh = exposition(snapshot_of(idle_model_snapshot(
        "fraud", drift=drift_report(*features, correction="bh"))))

    assert samples(uncorrected, "neural_feature_drift_p_value") == {
        feature("age", "ks"): 0.72,
        feature("income", "ks"): 1e-12,
        feature("payment_method", "chi2"): 3.4e-10,
    }
    assert samples(bonferroni, "neural_feature_drift_p_value") == {
        feature("age", "ks"): 1.0,
        feature("income", "ks"): 1.0,
        feature("payment_method", "chi2"): 1.4e-9,
    }
    assert samples(bh, "neural_feature_drift_p_value") == {
        feature("age", "ks"): 0.9,
        feature("income", "ks"): 0.9,
        feature("payment_method", "chi2"): 1.4e-9,
    }


def test_a_feature_no_test_measured_has_no_series_in_any_feature_family():
    untested = feature_drift("empty", statistic=None, p_value=None, reason="no current values")
    overflowed = feature_drift("huge", statistic=math.inf)
    bad_threshold = feature_drift("odd", threshold=math.nan, p_value=math.nan)
    text = exposition(snapshot_of(idle_model_snapshot(
        "fraud", drift=drift_report(untested, overflowed, bad_threshold))))

    assert samples(text, "neural_feature_drift") == {feature("odd", "ks"): 0.031}
    assert samples(text, "neural_feature_drifted") == {feature("odd", "ks"): 0.0}
    assert samples(text, "neural_feature_drift_threshold") == {}
    assert samples(text, "neural_feature_drift_p_value") == {}


def test_targets_are_one_when_up_and_zero_when_down():
    text = exposition(snapshot_of(targets=(
        TargetStatus("host-1", "http://10.0.0.1:9108/metrics", up=True),
        TargetStatus("host-2", "http://10.0.0.2:9108/metrics", up=False, detail="timed out"),
    )))

    assert "# TYPE neural_target_up gauge" in text
    assert samples(text, "neural_target_up") == {
        labels(target="host-1"): 1.0, labels(target="host-2"): 0.0}


def test_a_target_name_listed_twice_is_one_series_down_if_either_is_down():
    text = exposition(snapshot_of(targets=(
        TargetStatus("twin", "http://a:1/metrics", up=True),
        TargetStatus("twin", "http://b:1/metrics", up=False),
        TargetStatus("solo", "http://c:1/metrics", up=True),
    )))

    assert samples(text, "neural_target_up") == {
        labels(target="twin"): 0.0, labels(target="solo"): 1.0}


def remote_copy(model: ModelSnapshot, source: str) -> ModelSnapshot:
    """`model` as a remote source would show it: same name, read from `source`."""
    figures = RemoteFigures(
        feature_drift=(FeatureDriftFigure("income", "ks", 0.31, True, 0.05),),
        quality_score=0.9, accuracy=0.8, slos=())
    return idle_model_snapshot(model.name, model.version, source=source, remote=figures,
                               predictions_total=999, errors_total={"timeout": 3},
                               last_record_at=model.last_record_at,
                               drift_scores={"distribution": 0.5}, drifted=True,
                               slos=(slo_status(),))


def test_a_remote_model_is_never_exported_and_not_counted_as_active():
    local = idle_model_snapshot("fraud", predictions_total=7, last_record_at=990.0)
    remote = remote_copy(local, "target host-1")
    elsewhere = idle_model_snapshot("ranker", source="prometheus", last_record_at=995.0,
                                    predictions_total=40)
    text = exposition(snapshot_of(local, remote, elsewhere))

    model_series = {
        (sample_name, key)
        for sample_name in ("neural_predictions_total", "neural_errors_total",
                            "neural_prediction_latency_seconds_count", "neural_drift_score",
                            "neural_drift_detected", "neural_feature_drift",
                            "neural_slo_compliance")
        for key in samples(text, sample_name)
    }
    assert model_series == {("neural_predictions_total", labels(model="fraud", version="1.0")),
                            ("neural_prediction_latency_seconds_count",
                             labels(model="fraud", version="1.0"))}
    assert samples(text, "neural_predictions_total") == {
        labels(model="fraud", version="1.0"): 7}
    assert samples(text, "neural_active_models") == {frozenset(): 1}


def test_an_empty_snapshot_declares_the_fleet_families_without_series():
    text = exposition(Snapshot.empty())

    for name in ("neural_feature_drifted", "neural_feature_drift_threshold",
                 "neural_feature_drift_p_value", "neural_target_up"):
        assert f"# TYPE {name} gauge" in text
        assert samples(text, name) == {}


def test_a_hostile_target_name_comes_back_unchanged_from_the_exposition():
    hostile = 'a"b\nc\\d' + "x" * 10_000
    text = exposition(snapshot_of(targets=(TargetStatus(hostile, "http://a:1/metrics", up=True),)))

    assert samples(text, "neural_target_up") == {labels(target=hostile): 1.0}
