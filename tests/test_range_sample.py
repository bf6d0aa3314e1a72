"""The range sample: a uniform sample of each time range's prediction rows, in bounded memory."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from neural_tui.runtime.range_sample import WIDTHS, RangeSample

START = 1_800_000_000.0
HOUR = 3600.0
DAY = 86_400.0


def feed(sample: RangeSample, timestamps: np.ndarray, batch: int = 500) -> None:
    """Rows in time order, in batches, each row's feature the row's time (to find it again)."""
    for low in range(0, timestamps.shape[0], batch):
        times = timestamps[low:low + batch]
        objects = np.empty(times.shape[0], dtype=object)
        objects[:] = times.tolist()
        sample.add(times, objects, objects.copy(), np.full(times.shape[0], None, dtype=object),
                   now=float(times.max()))


def test_while_every_bucket_holds_all_its_rows_a_range_is_exactly_its_rows():
    sample = RangeSample(per_bucket=100)
    times = START + np.arange(0.0, 2 * HOUR, 30.0)  # 2 rows a minute
    feed(sample, times)
    now = float(times[-1])
    hour = sample.rows(now, HOUR, size=1000)
    expected = times[times > now - HOUR]
    assert hour.records == expected.shape[0]
    np.testing.assert_array_equal(hour.rows.timestamp, expected)
    np.testing.assert_array_equal(hour.rows.input_features.astype(float), expected)


def test_a_range_sample_follows_the_traffic_over_time_as_a_uniform_sample_would():
    rng = np.random.default_rng(7)
    # traffic that grows through the hour: the sample must hold more of the late rows
    times = np.sort(START + HOUR * np.sqrt(rng.random(200_000)))
    sample = RangeSample(per_bucket=500, seed=1)
    feed(sample, times, batch=2000)
    now = float(times[-1])
    hour = sample.rows(now, HOUR, size=1000)
    in_range = times[times > now - HOUR]
    assert hour.records == pytest.approx(in_range.shape[0], rel=0.01)
    assert 900 <= len(hour.rows) <= 1000
    assert stats.ks_2samp(hour.rows.timestamp, in_range).pvalue > 0.01
    assert np.unique(hour.rows.timestamp).shape[0] == len(hour.rows)


def test_each_range_samples_only_its_own_stretch_of_time():
    times = START + np.arange(0.0, DAY, 2.0)
    sample = RangeSample(per_bucket=200, seed=2)
    feed(sample, times, batch=5000)
    now = float(times[-1])
    for seconds in (300.0, HOUR, DAY):
        shown = sample.rows(now, seconds, size=1000)
        assert shown.rows.timestamp.min() > now - seconds
        assert shown.rows.timestamp.max() <= now
        assert shown.records == pytest.approx(seconds / 2.0, rel=0.05)


def test_a_day_of_heavy_traffic_holds_a_bounded_number_of_rows():
    sample = RangeSample(per_bucket=100, seed=3)
    times = START + np.sort(np.random.default_rng(3).random(1_000_000)) * DAY
    feed(sample, times, batch=20_000)
    assert sample.rows_held <= 45 * 100


def test_traffic_in_one_bucket_gives_a_smaller_sample_that_keeps_the_proportion():
    sample = RangeSample(per_bucket=50, seed=4)
    quiet = START + np.arange(0.0, HOUR - 300.0, 60.0)  # one row a minute
    burst = START + HOUR - 10.0 + np.arange(5000) / 1000.0  # 5,000 rows in 5 seconds
    feed(sample, np.concatenate((quiet, burst)))
    shown = sample.rows(float(burst[-1]), HOUR, size=1000)
    burst_share = np.count_nonzero(shown.rows.timestamp >= burst[0]) / len(shown.rows)
    assert burst_share == pytest.approx(5000 / (5000 + quiet.shape[0] - 1), abs=0.02)
    assert len(shown.rows) >= 50


def test_a_row_a_year_ahead_is_not_sampled_and_evicts_nothing():
    sample = RangeSample(per_bucket=100)
    times = START + np.arange(0.0, 600.0, 10.0)
    feed(sample, times)
    ahead = np.array([START + 365 * DAY])
    objects = np.array([b"{}"], dtype=object)
    sample.add(ahead, objects, objects, objects, now=float(times[-1]))
    shown = sample.rows(float(times[-1]), HOUR, size=1000)
    assert shown.records == times.shape[0]
    assert shown.rows.timestamp.max() == times[-1]


def test_rows_older_than_a_day_or_nan_times_are_left_out():
    sample = RangeSample(per_bucket=100)
    times = np.array([START - 2 * DAY, np.nan, START - 10.0, START])
    objects = np.full(4, b"{}", dtype=object)
    sample.add(times, objects, objects, objects, now=START)
    assert sample.rows(START, DAY, size=1000).records == 2


def test_an_empty_range_is_an_empty_sample():
    sample = RangeSample(per_bucket=10)
    shown = sample.rows(START, 300.0, size=100)
    assert (shown.records, len(shown.rows)) == (0, 0)


def test_bucket_widths_nest_so_aged_buckets_merge_whole():
    assert WIDTHS == (25.0, 300.0, 7200.0)
    assert all(wider % narrow == 0 for narrow, wider in itertools.pairwise(WIDTHS))


def test_a_burst_just_before_the_range_does_not_shrink_its_sample():
    sample = RangeSample(per_bucket=50, seed=5)
    burst_bucket = np.floor(START / 7200.0) * 7200.0
    burst = burst_bucket + np.sort(np.random.default_rng(5).random(100_000)) * 7000.0
    after = burst_bucket + 7200.0 + np.arange(0.0, DAY - 7200.0, 20.0)  # 3 rows a minute
    feed(sample, np.concatenate((burst, after)), batch=10_000)
    now = float(after[-1])
    # the day reaches 200 s into the burst's bucket: that bucket straddles the range's start
    shown = sample.rows(now, now - (burst_bucket + 7000.0), size=1000)
    assert len(shown.rows) >= 500


def test_rows_with_features_too_long_keep_their_place_but_are_never_sampled():
    sample = RangeSample(per_bucket=10, max_features_bytes=4, seed=6)
    times = START + np.arange(100, dtype=np.float64)
    features = np.array([b"long-features" if i % 2 else b"{}" for i in range(100)], dtype=object)
    nothing = np.full(100, None, dtype=object)
    sample.add(times, features, nothing, nothing, now=float(times[-1]))
    shown = sample.rows(float(times[-1]), 300.0, size=100)
    assert shown.records == 100
    assert set(shown.rows.input_features.tolist()) == {b"{}"}
