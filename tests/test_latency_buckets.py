"""The latency histogram's buckets: `[exporter] latency_buckets_ms` (by default from 0.1 ms)
plus every latency SLO's threshold, so that Prometheus can compute a latency SLO from the
bucket at its threshold."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from neural_tui.config import (
    MAX_LATENCY_BUCKETS,
    ExporterSection,
    Settings,
    SLOSection,
    StorageSection,
)
from neural_tui.exporter import build_registry
from neural_tui.prometheus_rules import render_rules
from neural_tui.records import IngestBatch
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    MAX_LATENCY_BOUNDS,
    latency_bounds_seconds,
)
from neural_tui.runtime.state import ModelState, StateLimits
from tests.batches import make_batch

T0 = 1_700_000_000.0


def latency_slo(name: str, threshold_ms: float) -> SLOSection:
    return SLOSection(name=name, type="latency", target=0.99, threshold_ms=threshold_ms)


def exported_buckets(runtime: Runtime) -> dict[str, float]:
    text = generate_latest(build_registry(runtime.build_snapshot)).decode()
    return {
        sample.labels["le"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "neural_prediction_latency_seconds_bucket"
    }


def test_without_thresholds_the_bounds_are_the_defaults():
    assert latency_bounds_seconds([]) == LATENCY_BUCKETS_SECONDS


def test_thresholds_join_the_defaults_sorted_and_once():
    bounds = latency_bounds_seconds([300.0, 250.0, 300.0, 0.5, 12_000.0])

    assert bounds == (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075,
                      0.1, 0.25, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 12.0)


def test_a_threshold_that_is_not_a_positive_finite_number_adds_no_bound():
    nonsense = [float("nan"), float("inf"), -float("inf"), -5.0, 0.0]

    assert latency_bounds_seconds(nonsense) == LATENCY_BUCKETS_SECONDS


def test_the_count_of_bounds_is_bounded_and_the_first_thresholds_are_kept():
    thresholds = [1_000.0 + i for i in range(1, 201)]

    bounds = latency_bounds_seconds(thresholds)

    extra = MAX_LATENCY_BOUNDS - len(LATENCY_BUCKETS_SECONDS)
    assert len(bounds) == MAX_LATENCY_BOUNDS
    assert set(bounds) - set(LATENCY_BUCKETS_SECONDS) == {t / 1000 for t in thresholds[:extra]}


def test_the_state_counts_a_latency_equal_to_a_threshold_as_within_it():
    limits = StateLimits(latency_bounds_seconds=latency_bounds_seconds([300.0]))
    state = ModelState("m", "1", limits)

    state.ingest(make_batch([T0] * 4, latency_ms=[299.9, 300.0, 300.1, 20.0]))

    histogram = state.histogram()
    assert histogram.bounds_seconds == limits.latency_bounds_seconds
    by_bound = dict(zip(histogram.bounds_seconds, histogram.cumulative_counts, strict=True))
    assert (by_bound[0.025], by_bound[0.25], by_bound[0.3], by_bound[0.5]) == (1, 1, 3, 4)
    assert histogram.count == 4


def test_the_runtime_takes_the_latency_slos_thresholds_and_the_exporter_writes_them(tmp_path):
    settings = Settings(storage=StorageSection(tmp_path), slo=(
        latency_slo("fast", 300.0),
        latency_slo("slow", 1_500.0),
        SLOSection(name="up", type="availability", target=0.999),
    ))
    runtime = Runtime(settings, [])
    runtime.ingest(IngestBatch(make_batch([T0] * 3, latency_ms=[200.0, 300.0, 1_400.0])))

    buckets = exported_buckets(runtime)

    assert runtime.limits.latency_bounds_seconds == latency_bounds_seconds([300.0, 1_500.0])
    assert (buckets["0.25"], buckets["0.3"], buckets["1.0"], buckets["1.5"]) == (1, 2, 2, 3)
    assert buckets["+Inf"] == 3


def test_without_latency_slos_the_exported_buckets_are_the_defaults(tmp_path):
    runtime = Runtime(Settings(storage=StorageSection(tmp_path)), [])
    runtime.ingest(IngestBatch(make_batch([T0], latency_ms=[20.0])))

    buckets = exported_buckets(runtime)

    assert list(buckets) == [str(bound) for bound in LATENCY_BUCKETS_SECONDS] + ["+Inf"]


def test_the_configured_buckets_replace_the_defaults_and_the_thresholds_join_them(tmp_path):
    settings = Settings(storage=StorageSection(tmp_path),
                        exporter=ExporterSection(latency_buckets_ms=(0.5, 2.0)),
                        slo=(latency_slo("fast", 1.0),))
    runtime = Runtime(settings, [])
    runtime.ingest(IngestBatch(make_batch([T0] * 4, latency_ms=[0.2, 0.5, 0.9, 30.0])))

    assert exported_buckets(runtime) == {"0.0005": 2, "0.001": 3, "0.002": 3, "+Inf": 4}


def test_the_default_buckets_start_at_a_tenth_of_a_millisecond():
    assert LATENCY_BUCKETS_SECONDS[:5] == (0.0001, 0.00025, 0.0005, 0.001, 0.0025)
    assert {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
            10.0} <= set(LATENCY_BUCKETS_SECONDS)


def test_past_the_most_buckets_the_first_are_kept_and_thresholds_still_join():
    buckets = [float(ms) for ms in range(1, 201)]

    bounds = latency_bounds_seconds([0.5], buckets)

    assert bounds == (0.0005, *(ms / 1000 for ms in range(1, MAX_LATENCY_BUCKETS + 1)))


def test_a_bucket_that_is_not_a_positive_finite_number_adds_no_bound():
    assert latency_bounds_seconds([], [float("nan"), -1.0, 0.0, float("inf"), 2.0]) == (0.002,)


def test_the_rules_take_a_threshold_beside_configured_buckets():
    settings = Settings(exporter=ExporterSection(latency_buckets_ms=(0.1, 0.25)),
                        slo=(latency_slo("fast", 0.3),))

    text = render_rules(settings)

    assert 'le="0.0003"' in text
