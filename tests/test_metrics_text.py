"""The fast text path of `/metrics` (`metrics_text.render`, `ExporterRegistry.exposition`)
writes what prometheus-client's `generate_latest` writes for the same registry: the same
families, types, help and samples, down to the byte, hostile labels and odd numbers included."""

from __future__ import annotations

import math

import pytest
from alert_views import alert_entry, alerts_view
from factories import idle_model_snapshot
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from scrape_snapshots import HOSTILE_LABELS, parsed, rich_snapshot

from neural_tui.alerts.delivery_metrics import register_delivery_metrics
from neural_tui.alerts.metrics import AlertsCollector
from neural_tui.exporter import ExporterRegistry, build_registry
from neural_tui.metrics_text import Family, escape_label_value, render
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    IngestStats,
    LatencyHistogram,
    Snapshot,
)


def with_alerts(registry: ExporterRegistry) -> ExporterRegistry:
    """`registry` with the collectors the headless process adds: firing alerts on hostile
    models and delivery counts."""
    view = alerts_view(*(alert_entry("drift", model) for model in HOSTILE_LABELS))
    registry.register(AlertsCollector(lambda: view))
    register_delivery_metrics(registry, lambda: {("pager \"x\"", "sent"): 3})
    return registry


def test_the_fast_exposition_is_byte_for_byte_what_generate_latest_writes():
    snapshot = rich_snapshot()
    registry = with_alerts(ExporterRegistry(lambda: snapshot))

    assert registry.exposition() == generate_latest(registry)


def test_families_types_help_and_every_sample_parse_the_same_on_both_paths():
    snapshot = rich_snapshot()
    registry = with_alerts(ExporterRegistry(lambda: snapshot))

    fast = parsed(registry.exposition().decode())

    assert fast == parsed(generate_latest(registry).decode())
    assert len(fast["neural_feature_drift"][2]) == 11 * 7  # 11 models x 7 finite statistics
    assert sum(len(samples) for _, _, samples in fast.values()) > 900


def test_hostile_label_values_read_back_exactly():
    snapshot = rich_snapshot()
    text = ExporterRegistry(lambda: snapshot).exposition().decode()

    totals = {sample.labels["model"] for family in text_string_to_metric_families(text)
              for sample in family.samples if sample.name == "neural_predictions_total"}
    features = {sample.labels["feature"] for family in text_string_to_metric_families(text)
                for sample in family.samples if sample.name == "neural_feature_drift"}
    targets = {sample.labels["target"] for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == "neural_target_up"}

    assert totals == {*HOSTILE_LABELS, "plain"}
    assert set(HOSTILE_LABELS[:4]) | {HOSTILE_LABELS[6]} <= features
    assert targets == set(HOSTILE_LABELS)


def test_escaping_is_backslash_then_newline_then_quote():
    assert escape_label_value('a\\b\nc"d') == 'a\\\\b\\nc\\"d'
    assert escape_label_value("\\n") == "\\\\n"
    assert escape_label_value("[red]模型[/]") == "[red]模型[/]"


def test_nan_and_infinite_samples_are_left_out_on_both_paths():
    snapshot = rich_snapshot()
    registry = ExporterRegistry(lambda: snapshot)
    fast = parsed(registry.exposition().decode())

    scores = {dict(labels)["drift_type"] for _, labels, _ in fast["neural_drift_score"][2]}
    features = {dict(labels)["feature"] for _, labels, _ in fast["neural_feature_drift"][2]}
    windows = {dict(labels)["window"] for _, labels, _ in fast["neural_slo_burn_rate"][2]}
    assert scores == {"distribution", "prediction", "performance"}
    assert "infinite" not in features
    assert "1h" not in windows and windows
    values = [line.rsplit(" ", 1)[1] for line in registry.exposition().decode().splitlines()
              if not line.startswith("#")]
    assert "NaN" not in values and "+Inf" not in values


def test_a_histogram_with_a_nan_sum_keeps_its_buckets_and_count():
    family = Family("latency_seconds", "histogram", "Latency.", ("model",),
                    histograms=[(("m",), [("0.1", 2.0), ("+Inf", 5.0)], math.nan)])

    assert render([family]) == (
        "# HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n"
        'latency_seconds_bucket{le="0.1",model="m"} 2.0\n'
        'latency_seconds_bucket{le="+Inf",model="m"} 5.0\n'
        'latency_seconds_count{model="m"} 5.0\n'
    )


def test_numbers_are_spelled_as_prometheus_client_spells_them():
    family = Family("x", "gauge", "Help with \\ and\nnewline.", ("k",), [
        (("a",), 1_234_567), (("b",), 1e300), (("c",), 5e-324), (("d",), -0.0),
        (("e",), 0.1), (("f",), True), (("g",), -1_234_567.5)])

    assert render([family]) == (
        "# HELP x Help with \\\\ and\\nnewline.\n# TYPE x gauge\n"
        'x{k="a"} 1.234567e+06\nx{k="b"} 1e+300\nx{k="c"} 5e-324\nx{k="d"} -0.0\n'
        'x{k="e"} 0.1\nx{k="f"} 1.0\nx{k="g"} -1234567.5\n'
    )


def test_an_empty_snapshot_still_names_every_family_with_help_and_type():
    registry = ExporterRegistry(Snapshot.empty)

    assert registry.exposition() == generate_latest(registry)
    assert "# TYPE neural_predictions_total counter\n" in registry.exposition().decode()


def test_a_remote_model_is_exported_on_neither_path():
    snapshot = rich_snapshot()
    text = ExporterRegistry(lambda: snapshot).exposition().decode()
    models = {sample.labels.get("model") for family in text_string_to_metric_families(text)
              for sample in family.samples}

    assert "remote" not in models
    assert "plain" in models


def test_other_collectors_follow_the_snapshot_families_once_each_in_registration_order():
    snapshot = Snapshot(generated_at=1.0, models=(idle_model_snapshot("churn"),),
                        ingest=IngestStats(0, {}))
    registry = with_alerts(build_registry(lambda: snapshot))
    names = [family.name for family in
             text_string_to_metric_families(registry.exposition().decode())]

    assert len(names) == len(set(names))
    assert names.index("neural_target_up") < names.index("process_cpu_seconds")
    assert names.index("process_cpu_seconds") < names.index("neural_alerts_firing")
    assert names[-1] == "neural_alert_notifications"


def test_a_collector_unregistered_is_no_longer_served():
    registry = ExporterRegistry(Snapshot.empty)
    extra = CollectorRegistry()
    counter = Counter("extra_events", "Extra events.", registry=extra)
    counter.inc()
    registry.register(extra)
    served = registry.exposition().decode()
    registry.unregister(extra)

    assert "extra_events_total 1.0" in served
    assert "extra_events" not in registry.exposition().decode()


def test_a_latency_histogram_past_a_million_reads_the_same_on_both_paths():
    bounds = len(LATENCY_BUCKETS_SECONDS)
    snapshot = Snapshot(
        generated_at=1.0,
        models=(idle_model_snapshot("churn", latency=LatencyHistogram(
            tuple(range(10**7, 10**7 + bounds)), 10**7 + bounds, 1e7)),),
        ingest=IngestStats(0, {}))
    registry = ExporterRegistry(lambda: snapshot)

    assert registry.exposition() == generate_latest(registry)


def test_a_counter_named_without_total_is_refused():
    with pytest.raises(ValueError, match="_total"):
        Family("neural_events", "counter", "Events.")
