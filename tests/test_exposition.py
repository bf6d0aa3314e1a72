"""A `/metrics` body read into models: our exporter's, any exporter's of the contract's names."""

from __future__ import annotations

import pytest
from exposition import exposition
from factories import drifting_model, four_slos, model_snapshot, snapshot

from neural_tui.remote_models import FeatureDriftFigure
from neural_tui.sources.exposition import (
    MAX_FEATURES,
    MAX_LABEL_CHARS,
    MAX_LINES,
    MAX_MODELS,
    ExpositionError,
    parse_exposition,
)


def test_our_exporters_body_reads_back_as_the_snapshot_it_came_from():
    model = drifting_model("fraud", errors_total={"timeout": 7, "oom": 2},
                           slos=four_slos("fraud"))
    scrape = parse_exposition(exposition(snapshot(model, model_snapshot("churn", "2.0"))))
    assert set(scrape.models) == {("fraud", "1.0.0"), ("churn", "2.0")}
    fraud = scrape.models[("fraud", "1.0.0")]
    assert fraud.predictions_total == 12_000
    assert fraud.errors_total == {"timeout": 7, "oom": 2}
    assert fraud.latency is not None
    assert fraud.latency.bounds_seconds == model.latency.bounds_seconds
    assert fraud.latency.cumulative_counts == model.latency.cumulative_counts
    assert (fraud.latency.count, fraud.latency.sum_seconds) == (12_000, 240.0)
    assert fraud.drift_scores == pytest.approx(model.drift_scores)
    assert model.drift is not None
    assert {(f.feature, f.test): f.statistic for f in fraud.figures.feature_drift} == {
        (f.name, f.test): f.statistic for f in model.drift.features if f.statistic is not None}
    assert model.quality is not None and model.performance is not None
    assert fraud.figures.quality_score == pytest.approx(model.quality.score)
    assert fraud.figures.missing_rate == pytest.approx(model.quality.missing_values_rate)
    assert fraud.figures.accuracy == pytest.approx(model.performance.accuracy)
    assert fraud.figures.f1 == pytest.approx(model.performance.f1)
    slos = {slo.slo: slo for slo in fraud.figures.slos}
    measured = [status for status in model.slos if status.compliance is not None]
    assert set(slos) == {status.spec.name for status in measured}   # no data: not exported
    for status in measured:
        assert slos[status.spec.name].compliance == status.compliance
        assert slos[status.spec.name].burn_rates == {
            window: rate for window, rate in status.burn_rates.items() if rate is not None}
    assert scrape.notes == ()


ANY_EXPORTER = """\
# TYPE neural_predictions_total counter
neural_predictions_total{pod="a",version="3",model="m"} 10
neural_predictions_total{model="m",pod="b",version="3"} 5
neural_predictions_total{model="unversioned"} 4
# TYPE neural_model_accuracy gauge
neural_model_accuracy{pod="a",model="m",version="3"} 0.9
neural_model_accuracy{pod="b",model="m",version="3"} 0.1
# TYPE neural_feature_drift gauge
neural_feature_drift{model="m",version="3",feature="age",test="ks"} 0.4
neural_feature_drift{model="m",version="3",feature="city",test="chi2"} 9.2
# TYPE neural_feature_drifted gauge
neural_feature_drifted{test="ks",feature="age",model="m",version="3"} 1
neural_feature_drifted{model="m",version="3",feature="city",test="chi2"} 0
# TYPE neural_feature_drift_threshold gauge
neural_feature_drift_threshold{model="m",version="3",feature="age",test="ks"} 0.1
# TYPE neural_alerts_firing gauge
neural_alerts_firing{rule="HighErrors",severity="critical",model="m"} 2
neural_alerts_firing{rule="Nobody",severity="info",model=""} 1
# TYPE neural_slo_burn_rate gauge
neural_slo_burn_rate{slo="avail",model="m",version="3",window="1h"} 2.5
"""


def test_labels_in_any_order_and_extra_labels_are_read():
    scrape = parse_exposition(ANY_EXPORTER)
    model = scrape.models[("m", "3")]
    assert model.predictions_total == 15            # summed over the extra `pod` label
    assert model.figures.accuracy == 0.9             # a gauge keeps its first series
    assert set(model.figures.feature_drift) == {
        FeatureDriftFigure("age", "ks", 0.4, drifted=True, threshold=0.1),
        FeatureDriftFigure("city", "chi2", 9.2, drifted=False, threshold=None),
    }
    assert model.figures.alerts_firing == {("HighErrors", "critical"): 2}
    assert [(s.slo, s.compliance, dict(s.burn_rates)) for s in model.figures.slos] == [
        ("avail", None, {"1h": 2.5})]


def test_a_p_value_tests_p_value_is_read_beside_its_alpha():
    """For ks, chi2 and z the exported threshold is alpha, judged against the p-value, so
    the p-value must come along; a distance test exports none."""
    scrape = parse_exposition(
        'neural_feature_drift{model="m",version="1",feature="age",test="ks"} 0.4\n'
        'neural_feature_drift_threshold{model="m",version="1",feature="age",test="ks"} 0.05\n'
        'neural_feature_drift_p_value{model="m",version="1",feature="age",test="ks"} 0.001\n'
        'neural_feature_drift{model="m",version="1",feature="pay",test="psi"} 0.3\n'
        'neural_predictions_total{model="m",version="1"} 8\n')
    assert set(scrape.models[("m", "1")].figures.feature_drift) == {
        FeatureDriftFigure("age", "ks", 0.4, threshold=0.05, p_value=0.001),
        FeatureDriftFigure("pay", "psi", 0.3),
    }


def test_a_missing_version_reads_as_empty():
    assert parse_exposition(ANY_EXPORTER).models[("unversioned", "")].predictions_total == 4


def test_a_body_without_type_lines_is_read_by_sample_names():
    scrape = parse_exposition(
        'neural_predictions_total{model="m",version="1"} 8\n'
        'neural_prediction_latency_seconds_bucket{model="m",version="1",le="0.1"} 3\n'
        'neural_prediction_latency_seconds_bucket{model="m",version="1",le="+Inf"} 8\n'
        'neural_prediction_latency_seconds_sum{model="m",version="1"} 1.5\n')
    model = scrape.models[("m", "1")]
    assert model.predictions_total == 8
    assert model.latency is not None
    assert (model.latency.bounds_seconds, model.latency.cumulative_counts) == ((0.1,), (3,))
    assert (model.latency.count, model.latency.sum_seconds) == (8, 1.5)


def test_openmetrics_is_read_with_its_own_parser():
    text = ('# TYPE neural_predictions counter\n'
            'neural_predictions_total{model="m",version="1"} 8.0\n'
            'neural_predictions_created{model="m",version="1"} 1.7e9\n'
            '# EOF\n')
    assert parse_exposition(text, openmetrics=True).models[("m", "1")].predictions_total == 8


def test_a_histogram_without_inf_bucket_or_count_has_no_latency():
    scrape = parse_exposition(
        '# TYPE neural_prediction_latency_seconds histogram\n'
        'neural_prediction_latency_seconds_bucket{model="m",le="0.1"} 3\n')
    assert scrape.models[("m", "")].latency is None


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-Inf", "-3", "1" * 400, "1e400"])
def test_a_counter_that_is_not_finite_or_negative_is_dropped_and_said(value):
    scrape = parse_exposition('# TYPE neural_predictions_total counter\n'
                              f'neural_predictions_total{{model="m"}} {value}\n'
                              'neural_errors_total{model="m",error_type="x"} 2\n')
    model = scrape.models[("m", "")]
    assert model.predictions_total == 0
    assert model.errors_total == {"x": 2}
    assert len(scrape.notes) == 1
    assert "not finite" in scrape.notes[0] or "below zero" in scrape.notes[0]


def test_a_gauge_that_is_not_finite_is_not_read():
    scrape = parse_exposition('neural_model_accuracy{model="m"} NaN\n'
                              'neural_predictions_total{model="m"} 1\n')
    assert scrape.models[("m", "")].figures.accuracy is None
    assert scrape.notes == ("1 samples not finite",)


def test_a_megabyte_label_costs_its_line_only():
    text = (f'neural_predictions_total{{model="{"x" * 1_000_000}"}} 1\n'
            f'neural_predictions_total{{model="{"y" * (MAX_LABEL_CHARS + 1)}"}} 1\n'
            'neural_predictions_total{model="short"} 2\n')
    scrape = parse_exposition(text)
    assert list(scrape.models) == [("short", "")]
    assert scrape.notes == ("1 lines longer than 4096 characters",
                            f"1 series with a label longer than {MAX_LABEL_CHARS} characters")


def test_a_hundred_thousand_models_keep_the_first_ones_and_say_so():
    text = "".join(f'neural_predictions_total{{model="m{i}"}} 1\n' for i in range(100_000))
    scrape = parse_exposition(text)
    assert len(scrape.models) == MAX_MODELS
    assert ("m0", "") in scrape.models
    assert scrape.notes == (f"kept {MAX_MODELS} of 100000 models",)


def test_features_past_the_limit_are_left_out_and_said():
    text = "".join(f'neural_feature_drift{{model="m",feature="f{i}",test="ks"}} 0.1\n'
                   for i in range(MAX_FEATURES + 5))
    scrape = parse_exposition(text)
    assert len(scrape.models[("m", "")].figures.feature_drift) == MAX_FEATURES
    assert scrape.notes == ("5 feature figures past the limit",)


def test_a_repeated_series_counts_once():
    scrape = parse_exposition('neural_predictions_total{model="m",version="1"} 5\n'
                              'neural_predictions_total{version="1",model="m"} 5\n')
    assert scrape.models[("m", "1")].predictions_total == 5
    assert scrape.notes == ("1 repeated series",)


@pytest.mark.parametrize("body", [
    "<html><body>Login</body></html>",
    'neural_predictions_total{model="m" 5\n',
    "neural_predictions_total 1 2 3 4 5 six\n",
    "\x00\x01\x02",
    'neural_predictions_total{model="m"} 5 1' + "0" * 400 + "\n",
])
def test_garbage_is_refused_whole_with_the_parsers_reason(body):
    with pytest.raises(ExpositionError) as error:
        parse_exposition(body)
    assert str(error.value)
    assert "\n" not in str(error.value)


def test_too_many_lines_are_refused_before_parsing():
    with pytest.raises(ExpositionError, match=f"more than {MAX_LINES}"):
        parse_exposition("# x\n" * MAX_LINES)


def test_a_body_of_other_metrics_has_no_models():
    scrape = parse_exposition("# TYPE up gauge\nup 1\nprocess_cpu_seconds_total 3\n")
    assert scrape.models == {}
    assert scrape.notes == ()


def test_counters_whose_sum_overflows_keep_the_finite_part_and_say_so():
    scrape = parse_exposition(
        '# TYPE neural_predictions_total counter\n'
        'neural_predictions_total{model="m",instance="a"} 1.7e308\n'
        'neural_predictions_total{model="m",instance="b"} 1.7e308\n'
        '# TYPE neural_prediction_latency_seconds histogram\n'
        'neural_prediction_latency_seconds_bucket{model="m",instance="a",le="+Inf"} 1e308\n'
        'neural_prediction_latency_seconds_bucket{model="m",instance="b",le="+Inf"} 1e308\n'
        'neural_prediction_latency_seconds_sum{model="m",instance="a"} -1e308\n'
        'neural_prediction_latency_seconds_sum{model="m",instance="b"} -1e308\n')
    model = scrape.models[("m", "")]
    assert model.predictions_total == 1.7e308
    assert model.latency is not None
    assert (model.latency.count, model.latency.sum_seconds) == (1e308, -1e308)
    assert scrape.notes == ("3 samples whose sum is not finite",)


def test_a_count_that_disagrees_with_the_inf_bucket_gives_way_to_it_as_in_histogram_quantile():
    scrape = parse_exposition(
        'neural_prediction_latency_seconds_bucket{model="m",le="0.1"} 30\n'
        'neural_prediction_latency_seconds_bucket{model="m",le="+Inf"} 50\n'
        'neural_prediction_latency_seconds_count{model="m"} 100\n'
        'neural_prediction_latency_seconds_bucket{model="n",le="0.1"} 30\n'
        'neural_prediction_latency_seconds_count{model="n"} 40\n')
    latency = scrape.models[("m", "")].latency
    assert latency is not None and latency.count == 50
    only_count = scrape.models[("n", "")].latency
    assert only_count is not None and only_count.count == 40


def test_each_counter_series_is_kept_beside_the_sums_by_its_other_labels():
    scrape = parse_exposition(
        'neural_predictions_total{model="m",instance="a",job="j"} 3\n'
        'neural_predictions_total{model="m",instance="b",job="j"} 4\n'
        'neural_errors_total{model="m",instance="a",error_type="oom"} 1\n'
        'neural_prediction_latency_seconds_bucket{model="m",instance="a",le="0.5"} 2\n'
        'neural_prediction_latency_seconds_bucket{model="m",instance="a",le="+Inf"} 3\n'
        'neural_prediction_latency_seconds_count{model="m",instance="a"} 3\n')
    model = scrape.models[("m", "")]
    a, b = (("instance", "a"), ("job", "j")), (("instance", "b"), ("job", "j"))
    assert model.predictions_total == 7
    assert model.counters == {
        ("predictions", "", a): 3, ("predictions", "", b): 4,
        ("errors", "oom", (("instance", "a"),)): 1,
        ("bucket", 0.5, (("instance", "a"),)): 2,
        ("bucket", float("inf"), (("instance", "a"),)): 3,
        ("count", "", (("instance", "a"),)): 3,
    }
