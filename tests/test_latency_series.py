"""The latency percentiles over time: p50, p95 and p99 of each second, computed by the runtime
from the latencies its state keeps, exactly as `numpy.percentile` computes them."""

from __future__ import annotations

import numpy as np
import pytest

from neural_tui.config import RuntimeSection, Settings, StorageSection
from neural_tui.records import IngestBatch
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.state import (
    SERIES_PERCENTILES,
    ModelState,
    StateLimits,
    percentile_series,
)
from tests.batches import make_batch

T0 = 1_700_000_000.0


def test_each_second_s_percentiles_equal_numpy_percentile_on_seeded_data():
    rng = np.random.default_rng(11)
    seconds = rng.integers(0, 30, size=5_000)
    values = rng.lognormal(3.0, 0.8, size=5_000)

    series = percentile_series(seconds, values, 30, SERIES_PERCENTILES)

    for second in range(30):
        observed = values[seconds == second]
        expected = np.percentile(observed, SERIES_PERCENTILES)
        got = [series[i][second] for i in range(len(SERIES_PERCENTILES))]
        assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("length", [3_600, 40_000])
def test_a_full_ring_of_latencies_over_many_seconds_matches_numpy_percentile(length: int):
    """An hour of one-second points (the per-second ring), and more seconds than a 16-bit
    group number holds: unsorted values, several per second, ties among them."""
    rng = np.random.default_rng(5)
    seconds = rng.integers(0, length, size=50_000)
    values = np.round(rng.lognormal(3.0, 0.8, size=50_000), 1)

    series = percentile_series(seconds, values, length, SERIES_PERCENTILES)

    for second in np.unique(seconds)[:: max(1, length // 400)]:
        expected = np.percentile(values[seconds == second], SERIES_PERCENTILES)
        got = [series[i][second] for i in range(len(SERIES_PERCENTILES))]
        assert got == pytest.approx(expected, rel=1e-12)


def test_percentiles_by_hand_interpolate_between_the_closest_ranks():
    """Ten values 10..100 ms: p50 lies halfway between 50 and 60 (rank 4.5), p95 at rank
    8.55 (95 + 0.55 * 10 = 95.5), p99 at rank 8.91 (99.1)."""
    values = np.arange(10, 101, 10, dtype=np.float64)[::-1].copy()

    p50, p95, p99 = percentile_series(np.zeros(10, dtype=np.int64), values, 1, SERIES_PERCENTILES)

    assert (p50[0], p95[0], p99[0]) == pytest.approx((55.0, 95.5, 99.1))


def test_a_second_without_latency_is_zero_and_one_value_is_every_percentile():
    series = percentile_series(np.array([2]), np.array([7.5]), 4, SERIES_PERCENTILES)

    assert series == ((0.0, 0.0, 7.5, 0.0),) * 3


def test_no_latency_at_all_gives_series_of_zeros_of_the_asked_length():
    series = percentile_series(np.empty(0, np.int64), np.empty(0), 3, SERIES_PERCENTILES)

    assert series == ((0.0, 0.0, 0.0),) * 3


def test_the_state_publishes_the_three_series_one_point_per_second():
    """Seconds 0..9 after T0, each with latencies 1..100 ms shifted by the second: p50 of
    1..100 is 50.5, p95 95.05, p99 99.01."""
    timestamps = np.repeat(T0 + np.arange(10), 100) + 0.5
    latency = np.tile(np.arange(1.0, 101.0), 10) + np.repeat(np.arange(10.0), 100)
    state = ModelState("m", "1")
    state.ingest(make_batch(timestamps.tolist(), latency_ms=latency.tolist()))

    recent = state.recent(T0 + 10, 300.0, 10)

    shift = np.arange(10.0)
    assert recent.latency_p50_series == pytest.approx(50.5 + shift)
    assert recent.latency_p95_series == pytest.approx(95.05 + shift)
    assert recent.latency_p99_series == pytest.approx(99.01 + shift)


def test_a_second_whose_latencies_all_fell_out_of_the_ring_reads_zero():
    """The state keeps the newest `latency_samples` latencies: the series is bounded in bytes
    by that ring, and older seconds of a fast stream have no point."""
    state = ModelState("m", "1", StateLimits(latency_samples=100))
    timestamps = np.repeat(T0 + np.arange(3), 100) + 0.5
    state.ingest(make_batch(timestamps.tolist(), latency_ms=[5.0] * 300))

    recent = state.recent(T0 + 3, 300.0, 3)

    assert recent.latency_p50_series == (0.0, 0.0, 5.0)


def test_one_record_gives_its_latency_as_every_percentile_of_its_second():
    state = ModelState("m", "1")
    state.ingest(make_batch([T0 + 1.2], latency_ms=[123.0]))

    recent = state.recent(T0 + 2, 300.0, 2)

    assert recent.latency_p50_series == recent.latency_p99_series == (0.0, 123.0)


def test_the_runtime_s_snapshot_carries_the_series_of_series_seconds_points(tmp_path):
    settings = Settings(storage=StorageSection(tmp_path), runtime=RuntimeSection(series_seconds=5))
    runtime = Runtime(settings, [], clock=lambda: T0 + 5)
    runtime.ingest(IngestBatch(make_batch([T0 + 4.5] * 3, latency_ms=[10.0, 20.0, 30.0])))

    model = runtime.build_snapshot().models[0]

    assert model.latency_p50_series == (0.0, 0.0, 0.0, 0.0, 20.0)
    assert model.latency_p99_series == pytest.approx((0.0, 0.0, 0.0, 0.0, 29.8))
