"""Per-model state: exact totals, windows by record time, the late-label join, fixed memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from neural_tui.runtime.label_join import AwaitingLabels
from neural_tui.runtime.snapshot import LATENCY_BUCKETS_SECONDS
from neural_tui.runtime.state import (
    DROPPED_CLASSES,
    DROPPED_FEATURES,
    MAX_CLASSES_KEPT,
    OTHER_ERROR_TYPE,
    ModelState,
    StateLimits,
)
from tests.batches import make_batch, objects

T0 = 1_700_000_000.0


def test_totals_count_every_prediction_and_error_by_type():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0] * 5, errors=[None, "timeout", None, "timeout", "oom"]))
    state.ingest(make_batch([T0 + 1] * 2))
    assert state.predictions_total == 7
    assert state.errors == {"timeout": 2, "oom": 1}


def test_label_lines_are_not_predictions():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0, T0], ids=["a", "b"]))
    state.ingest(make_batch([T0 + 5], ids=["a"], is_label=[True], ground_truth=[1]))
    assert state.predictions_total == 2
    assert state.labels_total == 1


def test_latency_histogram_is_cumulative_with_prometheus_le_semantics():
    state = ModelState("m", "1")
    latencies_ms = [5.0, 5.0001, 100.0, 20_000.0, float("nan")]
    state.ingest(make_batch([T0] * 5, latency_ms=latencies_ms))
    histogram = state.histogram()
    bounds = LATENCY_BUCKETS_SECONDS
    expected = [sum(1 for v in (0.005, 0.0050001, 0.1, 20.0) if v <= b) for b in bounds]
    assert list(histogram.cumulative_counts) == expected
    assert histogram.cumulative_counts[bounds.index(0.005)] == 1
    assert histogram.count == 4
    assert histogram.sum_seconds == pytest.approx(0.005 + 0.0050001 + 0.1 + 20.0)


def test_error_types_beyond_the_limit_fold_into_other():
    state = ModelState("m", "1", StateLimits(error_types=2))
    state.ingest(make_batch([T0] * 4, errors=["a", "b", "c", "a"]))
    assert state.errors == {"a": 2, "b": 1, OTHER_ERROR_TYPE: 1}


def test_recent_window_figures_use_record_time():
    state = ModelState("m", "1")
    rng = np.random.default_rng(7)
    old = T0 + rng.uniform(0, 30, 500)
    recent = T0 + 100 + rng.uniform(0, 60, 600)
    latency = rng.lognormal(3, 0.5, 600)
    state.ingest(make_batch(old, latency_ms=np.full(500, 1.0)))
    errors = [None] * 540 + ["boom"] * 60
    state.ingest(make_batch(recent, latency_ms=latency, errors=errors, ids=[f"r{i}" for i in
                                                                           range(600)]))
    activity = state.recent(now=T0 + 160, window_seconds=60, series_seconds=60)
    assert activity.throughput_rps == pytest.approx(600 / 60)
    assert activity.error_rate == pytest.approx(60 / 600)
    assert activity.latency_p95_ms == pytest.approx(np.percentile(latency, 95))
    assert activity.latency_p50_ms == pytest.approx(np.percentile(latency, 50))
    assert activity.latency_p99_ms == pytest.approx(np.percentile(latency, 99))


def test_series_hold_one_point_per_second_oldest_first():
    state = ModelState("m", "1")
    stamps = [T0 + 0.1, T0 + 0.2, T0 + 2.5, T0 + 2.6, T0 + 2.7]
    state.ingest(make_batch(stamps, latency_ms=[10, 30, 1, 2, 3],
                            errors=[None, "x", None, None, None]))
    activity = state.recent(now=T0 + 3.5, window_seconds=60, series_seconds=3)
    assert activity.throughput_series == (2.0, 0.0, 3.0)
    assert activity.error_rate_series == (0.5, 0.0, 0.0)
    assert activity.latency_p95_series == pytest.approx(
        (np.percentile([10, 30], 95), 0.0, np.percentile([1, 2, 3], 95)))


def test_no_records_gives_zero_rates_and_no_quantiles():
    activity = ModelState("m", "1").recent(now=T0, window_seconds=60, series_seconds=5)
    assert activity.throughput_rps == 0.0
    assert activity.error_rate == 0.0
    assert activity.latency_p95_ms is None
    assert activity.throughput_series == (0.0,) * 5


def test_a_late_label_joins_its_prediction():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0, T0], ids=["a", "b"], predictions=["cat", "dog"],
                            proba=[b'{"cat": 0.9}', None]))
    state.ingest(make_batch([T0 + 9], ids=["b"], is_label=[True], ground_truth=["cat"]))
    labelled = state.labelled()
    assert state.labels_joined == 1
    assert labelled.prediction.tolist() == ["dog"]
    assert labelled.ground_truth.tolist() == ["cat"]
    assert labelled.timestamp.tolist() == [T0], "a pair keeps its prediction's time"


def test_a_label_read_before_its_prediction_joins_when_the_prediction_arrives():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0 + 9], ids=["a"], is_label=[True], ground_truth=[1]))
    assert state.labels_joined == 0
    state.ingest(make_batch([T0], ids=["a"], predictions=[0]))
    assert state.labels_joined == 1
    assert state.labelled().ground_truth.tolist() == [1]


def test_a_prediction_logged_with_its_label_counts_as_joined():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0], ids=["a"], predictions=[1], ground_truth=[1]))
    assert state.labels_joined == 1
    assert state.predictions_total == 1


def test_a_label_is_joined_at_most_once():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0], ids=["a"]))
    state.ingest(make_batch([T0 + 1, T0 + 2], ids=["a", "a"], is_label=[True, True],
                            ground_truth=[1, 1]))
    assert state.labels_joined == 1
    assert state.labels_total == 2


def test_state_is_bounded_whatever_the_stream_length():
    limits = StateLimits(seconds=120, latency_samples=1000, pending_predictions=500,
                         pending_labels=100, labelled_pairs=200, feature_rows=300)
    state = ModelState("m", "1", limits)
    for step in range(50):
        n = 2000
        ids = [f"s{step}-{i}" for i in range(n)]
        state.ingest(make_batch(T0 + step * 10 + np.linspace(0, 9, n), ids=ids,
                                latency_ms=np.full(n, 3.0)))
        labels = [f"s{step}-{i}" for i in range(0, n, 2)] + [f"never-{step}-{i}" for i in
                                                             range(300)]
        state.ingest(make_batch(np.full(len(labels), T0 + step * 10 + 9), ids=labels,
                                is_label=[True] * len(labels), ground_truth=[1] * len(labels)))
    assert state.predictions_total == 100_000
    assert len(state._awaiting_label) <= 1000
    assert len(state._early_labels) <= 100
    assert len(state.labelled().timestamp) == 200
    assert len(state.feature_rows().timestamp) == 300
    assert state._latency_ms.shape == (1000,)


def test_ten_million_records_do_not_grow_memory_past_a_fixed_bound():
    state = ModelState("m", "1")
    n = 200_000
    ids = np.char.add("id", np.arange(n).astype(str)).astype(object)
    latency = np.random.default_rng(1).lognormal(3, 1, n)
    base = make_batch(np.zeros(n), latency_ms=latency, ids=ids)
    resident = []
    for step in range(50):
        batch = make_batch(T0 + step * 20 + np.linspace(0, 19, n), latency_ms=latency,
                           ids=base.prediction_id)
        state.ingest(batch)
        del batch
        if step in (9, 49):
            resident.append(resident_bytes())
    assert state.predictions_total == 10_000_000
    assert resident[1] - resident[0] < 64 * 2**20


def resident_bytes() -> int:
    """Current resident set size of this process (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def test_the_newest_predictions_always_await_their_label_and_old_ones_are_forgotten():
    awaiting = AwaitingLabels(capacity=100)
    for step in range(10):
        ids = objects([f"s{step}-{i}" for i in range(60)])
        awaiting.add(ids, objects([step] * 60), objects([None] * 60), np.full(60, T0 + step))
    assert len(awaiting) <= 200
    assert awaiting.pop("s9-59") == (9, None, T0 + 9)
    assert awaiting.pop("s8-0") == (8, None, T0 + 8)
    assert awaiting.pop("s0-0") is None
    assert awaiting.pop("s9-59") is None


def test_the_label_rings_grow_and_wrap_without_mixing_up_predictions():
    awaiting = AwaitingLabels(capacity=5000)
    for step in range(30):
        ids = objects([f"s{step}-{i}" for i in range(700)])
        awaiting.add(ids, objects([f"p{step}-{i}" for i in range(700)]), objects([None] * 700),
                     T0 + step * 1000 + np.arange(700.0))
        assert awaiting.pop(f"s{step}-699") == (f"p{step}-699", None, T0 + step * 1000 + 699)
    assert awaiting.pop("s25-3") == ("p25-3", None, T0 + 25_003)
    assert awaiting.pop("s1-3") is None


def test_a_stream_younger_than_the_window_shows_its_true_rate():
    state = ModelState("m", "1")
    state.ingest(make_batch(T0 + np.linspace(0, 9.9, 200)))
    activity = state.recent(now=T0 + 10, window_seconds=60, series_seconds=60)
    assert activity.throughput_rps == pytest.approx(20.0)


def test_the_label_index_stays_bounded_when_late_labels_keep_it_half_empty():
    awaiting = AwaitingLabels(capacity=1000)
    for step in range(400):
        awaiting.add(objects([f"s{step}-{i}" for i in range(50)]), objects([1] * 50),
                     objects([None] * 50), np.full(50, T0))
        if step >= 5:
            for i in range(50):
                assert awaiting.pop(f"s{step - 5}-{i}") == (1, None, T0)
    assert len(awaiting._generations) <= 10
    assert len(awaiting) <= 1000


def kept_bytes(state: ModelState) -> int:
    """Bytes of the raw JSON objects the state holds in its rings (shared objects counted
    every time, as distinct records would be)."""
    rows = [*state._features, *state._first_features, *state._labelled, *state._first_labelled]
    blobs = [value for row in rows for value in row if isinstance(value, bytes)]
    blobs += [b for b in state._awaiting_label._probabilities.tolist() if isinstance(b, bytes)]
    return sum(map(len, blobs))


def thousand_class_probabilities(top: str) -> bytes:
    shares = {f"class_{i}": 0.0001 for i in range(1000)}
    shares[top] = 0.9
    shares["class_7"] = 0.05
    return json.dumps(shares).encode()


def test_a_thousand_class_probability_keeps_only_its_most_probable_classes():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0], ids=["a"], proba=[thousand_class_probabilities("class_42")]))
    state.ingest(make_batch([T0 + 1], ids=["a"], is_label=[True], ground_truth=[1]))
    kept = json.loads(state.labelled().prediction_proba[0])
    assert len(kept) == MAX_CLASSES_KEPT
    assert list(kept)[:2] == ["class_42", "class_7"]
    assert kept["class_42"] == 0.9
    assert state.dropped == {DROPPED_CLASSES: 1000 - MAX_CLASSES_KEPT}
    assert any("prediction_proba" in notice for notice in state.notices)


def test_worst_case_records_keep_the_rings_under_a_byte_bound():
    """15,000 records of 1,000-class probabilities, then rows whose features are 500 KB: the
    state keeps a bounded number of bytes, not one blob per record."""
    state = ModelState("m", "1")
    proba = thousand_class_probabilities("class_3")
    n = 5_000
    for step in range(3):
        ids = [f"s{step}-{i}" for i in range(n)]
        state.ingest(make_batch(T0 + step * 600 + np.linspace(0, 599, n), ids=ids,
                                proba=[proba] * n))
    huge_features = json.dumps({"blob": "x" * 500_000}).encode()
    state.ingest(make_batch(np.full(2000, T0 + 1800), ids=[f"h{i}" for i in range(2000)],
                            features=[huge_features] * 2000))
    assert state.predictions_total == 3 * n + 2000
    assert kept_bytes(state) < 32 * 2**20
    assert state.dropped[DROPPED_FEATURES] == 2000


def test_probabilities_wait_for_a_label_only_among_the_newest_predictions():
    awaiting = AwaitingLabels(capacity=100, probabilities_capacity=10)
    ids = objects([f"p{i}" for i in range(50)])
    awaiting.add(ids, objects(list(range(50))), objects([f"proba{i}" for i in range(50)]),
                 np.full(50, T0))
    assert awaiting.pop("p45") == (45, "proba45", T0)
    assert awaiting.pop("p5") == (5, None, T0)


def test_probabilities_of_the_newest_predictions_survive_their_ring_wrapping_mid_batch():
    awaiting = AwaitingLabels(capacity=100, probabilities_capacity=30)
    for step in range(3):
        ids = objects([f"s{step}-{i}" for i in range(45)])
        awaiting.add(ids, objects([f"p{step}-{i}" for i in range(45)]),
                     objects([f"proba{step}-{i}" for i in range(45)]), T0 + step + np.arange(45))
    assert awaiting.pop("s2-44") == ("p2-44", "proba2-44", T0 + 2 + 44)
    assert awaiting.pop("s2-15") == ("p2-15", "proba2-15", T0 + 2 + 15), "the 30th newest"
    assert awaiting.pop("s2-14") == ("p2-14", None, T0 + 2 + 14)
    assert awaiting.pop("s1-44") == ("p1-44", None, T0 + 1 + 44)


def test_an_absurd_latency_is_not_observed_and_the_sum_stays_finite():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0] * 4, latency_ms=[1.7e308, 1.7e308, -1.7e308, 20.0]))
    histogram = state.histogram()
    assert histogram.count == 1
    assert histogram.sum_seconds == pytest.approx(0.02)
    assert state.recent(T0 + 1, 60, 2).latency_p95_ms == pytest.approx(20.0)


def test_one_record_hours_ahead_neither_evicts_the_window_nor_becomes_now():
    state = ModelState("m", "1")
    rate, seconds = 33, 180
    stamps = T0 + np.arange(rate * seconds) / rate
    half = stamps.shape[0] // 2
    state.ingest(make_batch(stamps[:half], ids=[f"a{i}" for i in range(half)]))
    state.ingest(make_batch([T0 + 7200.0], ids=["ahead"]))
    rest = stamps[half:]
    state.ingest(make_batch(rest, ids=[f"b{i}" for i in range(rest.shape[0])]))

    now = state.robust_now()
    assert now is not None and T0 + seconds - 5 <= now <= T0 + seconds
    assert state.last_record_at == pytest.approx(stamps[-1])
    assert state.recent(now, 60, 60).throughput_rps == pytest.approx(rate, rel=0.05)


def test_a_stream_that_resumes_after_a_pause_moves_the_window_on():
    state = ModelState("m", "1")
    state.ingest(make_batch(T0 + np.arange(3600) / 10, ids=[f"a{i}" for i in range(3600)]))
    resumed = T0 + 7200 + np.arange(100) / 10
    state.ingest(make_batch(resumed, ids=[f"b{i}" for i in range(100)]))
    assert state.last_record_at == pytest.approx(resumed[-1])
    assert state.robust_now() == pytest.approx(resumed[-1])
    assert state.recent(resumed[-1], 60, 60).throughput_rps == pytest.approx(100 / 60)


def test_a_quiet_model_takes_each_new_record_as_now():
    state = ModelState("m", "1")
    for i in range(12):
        state.ingest(make_batch([T0 + 300 * i], ids=[f"q{i}"]))
    assert state.robust_now() == T0 + 300 * 11


def test_a_long_probability_object_that_is_odd_costs_only_its_probabilities():
    odd_values = {f"c{i}": "high" if i == 0 else 10**400 if i == 1 else 0.001 for i in range(100)}
    too_deep = b'{"c": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    state = ModelState("m", "1")
    state.ingest(make_batch([T0, T0], ids=["a", "b"],
                            proba=[json.dumps(odd_values).encode(), too_deep]))
    state.ingest(make_batch([T0 + 1] * 2, ids=["a", "b"], is_label=[True] * 2,
                            ground_truth=[1, 1]))
    kept = state.labelled().prediction_proba
    assert next(iter(json.loads(kept[0]))) == "c1"
    assert kept[1] is None
    assert state.labels_joined == 2


def test_two_days_of_a_quiet_model_read_in_one_batch_are_all_admitted():
    state = ModelState("m", "1")
    stamps = T0 + 10.0 * np.arange(20_000)
    state.ingest(make_batch(stamps, ids=[f"q{i}" for i in range(20_000)]))
    assert state.robust_now() == state.last_record_at == stamps[-1]
    assert state.recent(stamps[-1] + 1, 600, 60).throughput_rps == pytest.approx(0.1)


def test_a_record_a_year_ahead_in_the_first_batch_is_held_back():
    state = ModelState("m", "1")
    stamps = T0 + np.arange(33 * 600) / 33
    state.ingest(make_batch([*stamps, T0 + 365 * 86_400.0],
                            ids=[f"s{i}" for i in range(stamps.shape[0] + 1)]))
    assert state.last_record_at == pytest.approx(stamps[-1])
    assert state.recent(T0 + 600, 60, 60).throughput_rps == pytest.approx(33, rel=0.05)


def test_a_label_read_before_its_prediction_joins_at_the_predictions_time():
    state = ModelState("m", "1")
    state.ingest(make_batch([500.0], ids=["late"], is_label=[True], ground_truth=[1]))
    state.ingest(make_batch([100.0], ids=["late"], predictions=[1]))
    assert state.labelled().timestamp.tolist() == [100.0]
    assert state.labelled_between(50.0, 150.0).ground_truth.tolist() == [1]
