"""Rates and quantiles between two scrapes, checked against hand-computed values."""

from __future__ import annotations

from itertools import pairwise

import pytest
from scraped import scraped_model

from neural_tui.sources.exposition import ScrapedModel, parse_exposition
from neural_tui.sources.remote_rates import (
    ModelSeries,
    RateWindow,
    WindowRates,
    counter_increase,
    histogram_quantile,
    poll_increase,
    remote_model,
    window_rates,
)

BOUNDS = (0.1, 0.2, 0.4)


def scraped(predictions: float, errors: dict[str, float] | None = None,
            buckets: tuple[float, ...] | None = None, count: float | None = None,
            bounds: tuple[float, ...] = BOUNDS) -> ScrapedModel:
    return scraped_model(predictions, errors, bounds, buckets, count)


def test_a_counter_that_grew_increased_by_the_difference():
    assert counter_increase(100.0, 130.0) == 30.0
    assert counter_increase(7.0, 7.0) == 0.0


def test_a_counter_that_went_down_restarted_so_its_new_value_is_the_increase():
    assert counter_increase(500.0, 20.0) == 20.0
    assert counter_increase(500.0, 0.0) == 0.0


# Buckets: 10 at or below 0.1 s, 20 more by 0.2 s, 10 more by 0.4 s, 10 above (50 in all).
@pytest.mark.parametrize(("q", "expected"), [
    (0.1, 0.05),     # rank 5 in the lowest bucket, which starts at 0: 0 + 0.1 * 5/10
    (0.5, 0.175),    # rank 25, 15 into the (0.1, 0.2] bucket of 20: 0.1 + 0.1 * 15/20
    (0.7, 0.3),      # rank 35, 5 into the (0.2, 0.4] bucket of 10: 0.2 + 0.2 * 5/10
    (0.8, 0.4),      # rank 40: exactly the top of the last finite bucket
    (0.95, 0.4),     # rank 47.5 falls in +Inf: the highest finite bound answers
])
def test_histogram_quantile_interpolates_linearly_inside_the_bucket(q, expected):
    assert histogram_quantile(q, BOUNDS, (10, 30, 40), 50) == pytest.approx(expected)


def test_histogram_quantile_without_observations_is_none():
    assert histogram_quantile(0.5, BOUNDS, (0, 0, 0), 0) is None
    assert histogram_quantile(0.5, (), (), 10) is None


def test_histogram_quantile_raises_a_falling_count_to_the_one_before():
    # (10, 5, 40) reads as (10, 10, 40): rank 25 is 15 into the (0.2, 0.4] bucket of 30.
    assert histogram_quantile(0.5, BOUNDS, (10, 5, 40), 50) == pytest.approx(0.2 + 0.2 * 15 / 30)


def test_histogram_quantile_answers_a_lowest_bound_at_or_below_zero_as_itself():
    assert histogram_quantile(0.25, (0.0, 1.0), (5, 10), 10) == 0.0


def test_rates_between_two_scrapes_are_hand_computed():
    before = scraped(1_000, {"timeout": 10}, (100, 600, 900), 1_000)
    after = scraped(1_200, {"timeout": 14, "oom": 2}, (140, 740, 1_090), 1_200)
    rates = window_rates(before, after, 10.0)
    assert rates.throughput_rps == pytest.approx(20.0)          # 200 predictions / 10 s
    assert rates.error_rate == pytest.approx(6 / 200)           # 4 timeouts + 2 new ooms
    # Increases: 40, 140, 190 of 200. p50: rank 100, 60 into (0.1, 0.2] of 100 -> 160 ms.
    assert rates.latency_p50_ms == pytest.approx(160.0)
    # p95: rank 190 = the top of (0.2, 0.4] -> 400 ms; p99: rank 198 in +Inf -> 400 ms.
    assert rates.latency_p95_ms == pytest.approx(400.0)
    assert rates.latency_p99_ms == pytest.approx(400.0)


def test_a_restarted_exporter_counts_its_new_totals_as_the_increase():
    before = scraped(5_000, {"timeout": 50}, (1_000, 4_000, 5_000), 5_000)
    after = scraped(30, {"timeout": 3}, (10, 20, 30), 30)
    rates = window_rates(before, after, 5.0)
    assert rates.throughput_rps == pytest.approx(6.0)
    assert rates.error_rate == pytest.approx(3 / 30)
    # Increases 10, 20, 30 of 30: p50 rank 15, 5 into (0.1, 0.2] of 10 -> 150 ms.
    assert rates.latency_p50_ms == pytest.approx(150.0)


def test_no_traffic_between_scrapes_has_no_error_rate_and_no_quantiles():
    model = scraped(100, {"timeout": 1}, (50, 80, 100), 100)
    rates = window_rates(model, model, 5.0)
    assert rates == WindowRates(0.0, None, None, None, None)


def test_buckets_that_changed_between_scrapes_give_no_quantiles():
    before = scraped(100, buckets=(50, 80, 100), count=100)
    after = scraped(200, buckets=(100, 160, 200), count=200, bounds=(0.1, 0.25, 0.4))
    rates = window_rates(before, after, 5.0)
    assert rates.throughput_rps == pytest.approx(20.0)
    assert rates.latency_p95_ms is None


def test_a_rate_that_overflows_is_zero_rather_than_infinite():
    rates = window_rates(scraped(0), scraped(1e308), 1e-10)
    assert rates.throughput_rps == 0.0


def test_series_keep_one_point_per_poll_and_only_the_newest():
    series = ModelSeries(points=3)
    for rps in (1.0, 2.0, 3.0, 4.0):
        series.add(WindowRates(rps, None, None, None, None))
    model = remote_model(scraped(10), WindowRates(4.0, 0.5, 1.0, 2.0, 3.0), 5.0, series, "a")
    assert model.throughput_series == (2.0, 3.0, 4.0)
    assert model.error_rate_series == (0.0, 0.0, 0.0)
    assert model.latency_p95_series == (0.0, 0.0, 0.0)
    assert (model.throughput_rps, model.error_rate, model.latency_p95_ms) == (4.0, 0.5, 2.0)
    assert model.instance == "a"


def test_a_model_before_its_second_scrape_has_no_rates():
    model = remote_model(scraped(10), None, 5.0, ModelSeries(3), "a")
    assert (model.throughput_rps, model.error_rate, model.latency_p50_ms) == (None, None, None)
    assert model.predictions_total == 10


def two_instances(a: int, b: int, a_fast: int, b_fast: int, a_errors: int = 0) -> ScrapedModel:
    """A body (a federating endpoint's) with instances `a` and `b` of one model: totals and
    how many predictions took at most 0.1 s, the rest at most 0.2 s."""
    lines = []
    for instance, total, fast, errors in (("a", a, a_fast, a_errors), ("b", b, b_fast, 0)):
        labels = f'model="fraud",version="1.0",instance="{instance}"'
        lines += [f"neural_predictions_total{{{labels}}} {total}",
                  f'neural_errors_total{{{labels},error_type="timeout"}} {errors}',
                  f'neural_prediction_latency_seconds_bucket{{{labels},le="0.1"}} {fast}',
                  f'neural_prediction_latency_seconds_bucket{{{labels},le="0.2"}} {total}',
                  f'neural_prediction_latency_seconds_bucket{{{labels},le="+Inf"}} {total}',
                  f"neural_prediction_latency_seconds_count{{{labels}}} {total}"]
    return parse_exposition("\n".join(lines) + "\n").models[("fraud", "1.0")]


def test_one_instance_of_several_restarting_resets_its_own_series_only():
    # a: 1,000 then restarted and at 10 (all fast, 5 of them errors); b: 1,000,000 then
    # 1,000,090 (30 of the 90 fast). Increases: 10 + 90 = 100 predictions, 5 errors, 40 fast.
    before = two_instances(a=1_000, b=1_000_000, a_fast=1_000, b_fast=500_000, a_errors=50)
    after = two_instances(a=10, b=1_000_090, a_fast=10, b_fast=500_030, a_errors=5)
    assert after.predictions_total == 1_000_100                 # the totals stay summed
    rates = window_rates(before, after, 10.0)
    assert rates.throughput_rps == pytest.approx(10.0)          # not 1,000,100 / 10 s
    assert rates.error_rate == pytest.approx(5 / 100)
    # p50: rank 50 of 100, 10 into the (0.1, 0.2] bucket of 60 -> 100 + 100 * 10/60 ms.
    assert rates.latency_p50_ms == pytest.approx(100 + 100 * 10 / 60)


def test_a_producer_writing_every_other_poll_reads_its_steady_rate_over_the_window():
    """Polled every 5 s, a writer that flushes 100 records every 10 s reads 0 and 20 rps by
    turns between two polls; over a 20 s window it reads 10 rps."""
    window = RateWindow(20.0)
    totals = [0, 0, 100, 100, 200, 200, 300]
    per_poll = []
    for before, after in pairwise(totals):
        poll = poll_increase(scraped(before), scraped(after), 5.0)
        per_poll.append(poll.rates().throughput_rps)
        window.add(poll)
    assert per_poll == [0.0, 20.0, 0.0, 20.0, 0.0, 20.0]
    assert window.covered_seconds == 20.0
    assert window.rates().throughput_rps == pytest.approx(200 / 20)


def test_the_window_keeps_the_polls_that_span_it_and_at_least_the_newest():
    window = RateWindow(10.0)
    window.add(poll_increase(scraped(0), scraped(600), 60.0))
    assert window.covered_seconds == 60.0
    assert window.rates().throughput_rps == pytest.approx(10.0)
    window.add(poll_increase(scraped(600), scraped(610), 5.0))
    window.add(poll_increase(scraped(610), scraped(640), 5.0))
    assert window.covered_seconds == 10.0
    assert window.rates().throughput_rps == pytest.approx(40 / 10)


def test_quantiles_over_the_window_add_the_bucket_increases_and_restart_when_buckets_change():
    bounds = (0.1, 0.2, 0.4)
    window = RateWindow(60.0)
    window.add(poll_increase(scraped(0, buckets=(0, 0, 0), bounds=bounds),
                             scraped(100, buckets=(100, 100, 100), bounds=bounds), 5.0))
    window.add(poll_increase(scraped(100, buckets=(100, 100, 100), bounds=bounds),
                             scraped(200, buckets=(100, 200, 200), bounds=bounds), 5.0))
    # 100 observations at or under 0.1 s and 100 in (0.1, 0.2]: the median is the 100th,
    # the top of the first bucket; p95 is 0.1 + 0.1 * (190 - 100) / 100 = 0.19 s.
    rates = window.rates()
    assert rates.latency_p50_ms == pytest.approx(100.0)
    assert rates.latency_p95_ms == pytest.approx(190.0)
    other = (0.05, 0.4)
    window.add(poll_increase(scraped(200, buckets=(100, 200, 200), bounds=bounds),
                             scraped(300, buckets=(50, 100), bounds=other), 5.0))
    assert window.covered_seconds == 5.0
    assert window.rates().latency_p50_ms is None
