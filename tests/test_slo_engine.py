"""SLO engine: budgets, burn rates, breaches and burn alerts against figures worked out by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_tui.engines.performance import json_equal
from neural_tui.engines.slo import (
    MinuteCounts,
    SLOSpec,
    SLOType,
    burn_tiers,
    evaluate,
    evaluate_all,
    history_minutes,
)

DAY = 86_400
HOUR = 3600
MINUTE = 60
NOW_MINUTE = 29_446_560
"""2026-01-01 00:00 UTC as a minute number; tests place events relative to it."""
NOW = NOW_MINUTE * MINUTE + 30.0
"""Half way through the current minute."""

checks = settings(max_examples=60, derandomize=True, deadline=None, database=None)


def slo(slo_type: SLOType = "availability", target: float = 0.99, window: int = 30 * DAY,
        **fields: Any) -> SLOSpec:
    return SLOSpec(name="api", type=slo_type, target=target, window_seconds=window, **fields)


def counts(first_minute: int, requests: list[float], errors: list[float] | None = None,
           **fields: Any) -> MinuteCounts:
    """Minute counts starting at `first_minute`; unnamed columns are zeros."""
    zeros = [0.0] * len(requests)
    columns = {"labelled": zeros, "correct": zeros, **fields}
    return MinuteCounts(
        first_minute=first_minute,
        requests=np.array(requests, dtype=np.float64),
        errors=np.array(errors if errors is not None else zeros, dtype=np.float64),
        labelled=np.array(columns.pop("labelled"), dtype=np.float64),
        correct=np.array(columns.pop("correct"), dtype=np.float64),
        **columns,
    )


def one_minute(requests: float, errors: float = 0.0, **fields: Any) -> MinuteCounts:
    """All events in the current minute."""
    return counts(NOW_MINUTE, [requests], [errors], **fields)


# --- the analytic case -------------------------------------------------------------


def test_ten_thousand_requests_with_fifty_failures_leave_half_the_budget_at_burn_one_half():
    status = evaluate(slo(), "m", one_minute(10_000, 50), NOW)
    # bad fraction 50 / 10,000 = 0.005; allowed 1 - 0.99 = 0.01; burn 0.5; remaining 1 - 0.5.
    assert (status.good, status.total) == (9_950, 10_000)
    assert status.compliance == pytest.approx(0.995)
    assert status.sli == pytest.approx(0.995)
    assert status.error_budget_remaining == pytest.approx(0.5)
    assert set(status.burn_rates) == {"1h", "5m", "6h", "30m", "3d"}
    assert all(rate == pytest.approx(0.5) for rate in status.burn_rates.values())
    assert status.meeting is True and not status.exhausted
    assert status.breaches == () and status.alerts == ()


def test_time_to_exhaustion_is_the_remaining_budget_at_the_page_tiers_long_burn_rate():
    status = evaluate(slo(), "m", one_minute(10_000, 50), NOW)
    # 0.5 of a 30-day budget left, spent at 0.5 budgets per 30 days: 30 days.
    assert status.time_to_exhaustion_seconds == pytest.approx(30 * DAY)


def test_an_overspent_budget_is_negative_and_exhausted_now():
    status = evaluate(slo(), "m", one_minute(10_000, 200), NOW)
    # bad fraction 0.02 against 0.01 allowed: burn 2, remaining 1 - 2 = -1.
    assert status.error_budget_remaining == pytest.approx(-1.0)
    assert status.exhausted
    assert status.time_to_exhaustion_seconds == 0.0


def test_a_budget_not_burning_has_no_time_to_exhaustion():
    status = evaluate(slo(), "m", one_minute(500), NOW)
    assert status.error_budget_remaining == 1.0
    assert status.burn_rates["1h"] == 0.0
    assert status.time_to_exhaustion_seconds is None


def test_no_events_give_no_figures_rather_than_zeros():
    status = evaluate(slo(), "m", counts(NOW_MINUTE, []), NOW)
    assert (status.good, status.total) == (0, 0)
    assert status.sli is status.compliance is status.error_budget_remaining is None
    assert all(rate is None for rate in status.burn_rates.values())
    assert status.meeting is None and not status.exhausted


# --- each type ----------------------------------------------------------------------------


def test_an_error_rate_slo_states_its_sli_as_the_error_fraction_and_promises_one_minus_target():
    status = evaluate(slo("error_rate", target=0.01), "m", one_minute(10_000, 50), NOW)
    assert status.spec.objective == pytest.approx(0.99)
    assert status.sli == pytest.approx(0.005)
    assert status.compliance == pytest.approx(0.995)
    assert status.error_budget_remaining == pytest.approx(0.5)
    assert status.burn_rates["1h"] == pytest.approx(0.5)


def test_a_latency_slo_counts_requests_within_the_threshold_among_those_with_a_latency():
    spec = slo("latency", target=0.9, threshold_ms=250.0)
    data = one_minute(100, 30, within_ms={250.0: np.array([72.0]), 500.0: np.array([79.0])},
                      timed=np.array([80.0]))
    status = evaluate(spec, "m", data, NOW)
    # 20 requests logged no latency: 72 fast of 80 timed (errors do not matter here).
    assert (status.good, status.total) == (72, 80)
    assert status.compliance == pytest.approx(0.9)
    assert status.error_budget_remaining == pytest.approx(0.0)


def test_a_latency_slo_without_a_timed_column_counts_every_request():
    spec = slo("latency", target=0.9, threshold_ms=250.0)
    status = evaluate(spec, "m", one_minute(100, within_ms={250.0: np.array([72.0])}), NOW)
    assert (status.good, status.total) == (72, 100)


def test_an_accuracy_slo_counts_correct_among_labelled_predictions():
    spec = slo("accuracy", target=0.8)
    status = evaluate(spec, "m", one_minute(1000, labelled=[50.0], correct=[45.0]), NOW)
    assert (status.good, status.total) == (45, 50)
    assert status.compliance == pytest.approx(0.9)
    # bad 0.1 against 0.2 allowed
    assert status.error_budget_remaining == pytest.approx(0.5)


def test_a_throughput_slo_counts_complete_minutes_since_the_first_that_reach_min_rps():
    spec = slo("throughput", target=0.5, window=HOUR, min_rps=1.0)
    # Minutes now-6 .. now-3 logged 60, 59, 120, 0 requests; now-2 and now-1 none (the counts
    # stop there); the current minute's 10,000 do not count, it is not over.
    data = counts(NOW_MINUTE - 6, [60, 59, 120, 0, 0, 0, 10_000])
    status = evaluate(spec, "m", data, NOW)
    assert (status.good, status.total) == (2, 6)
    assert status.compliance == pytest.approx(1 / 3)


def test_a_throughput_slo_judges_minutes_past_the_last_record_as_too_quiet():
    spec = slo("throughput", target=0.5, window=HOUR, min_rps=1.0)
    status = evaluate(spec, "m", counts(NOW_MINUTE - 6, [60, 60]), NOW)
    assert (status.good, status.total) == (2, 6)


def test_a_throughput_slo_of_an_hour_judges_the_sixty_minutes_before_the_current_one():
    spec = slo("throughput", target=0.5, window=HOUR, min_rps=1.0)
    # minute now-61 is out of the window, now-60 .. now-1 are in: 30 fast, 30 slow
    data = counts(NOW_MINUTE - 61, [60] * 31 + [0] * 30 + [10_000])
    for now in (NOW_MINUTE * MINUTE, NOW):
        status = evaluate(spec, "m", data, now)
        assert (status.good, status.total) == (30, 60)


def test_a_throughput_slo_at_a_minute_boundary_counts_the_minute_just_ended():
    spec = slo("throughput", target=0.5, window=HOUR, min_rps=0.5)
    data = counts(NOW_MINUTE - 1, [30, 30])
    assert evaluate(spec, "m", data, NOW_MINUTE * MINUTE).total == 1
    assert evaluate(spec, "m", data, NOW_MINUTE * MINUTE - 0.001).total == 0


def test_the_counts_read_reach_back_twice_the_window_less_a_minute():
    assert history_minutes(30 * DAY) == 86_399
    assert history_minutes(HOUR) == 119


def test_minutes_older_than_the_history_change_nothing():
    spec = slo(window=HOUR)
    recent = [10.0] * 119
    older = counts(NOW_MINUTE - 199, [500.0] * 81 + recent, [500.0] * 81 + [0.0] * 119)
    assert evaluate(spec, "m", older, NOW) == evaluate(spec, "m",
                                                       counts(NOW_MINUTE - 118, recent), NOW)


def test_slos_evaluated_together_get_what_each_gets_alone():
    first = NOW_MINUTE - 400
    rng = np.random.default_rng(5)
    requests = rng.integers(0, 40, 401).astype(float)
    data = counts(first, requests.tolist(), rng.binomial(requests.astype(int), 0.05).tolist(),
                  labelled=requests.tolist(), correct=(requests // 2).tolist(),
                  within_ms={100.0: requests // 3, 200.0: requests // 2}, timed=requests)
    specs = [slo(target=0.99, window=HOUR), slo("error_rate", target=0.01, window=HOUR),
             slo(target=0.9, window=HOUR), slo(target=0.99, window=2 * HOUR),
             slo("latency", target=0.5, window=HOUR, threshold_ms=100.0),
             slo("latency", target=0.5, window=HOUR, threshold_ms=200.0),
             slo("accuracy", target=0.4, window=HOUR),
             slo("throughput", target=0.5, window=HOUR, min_rps=0.3),
             slo("throughput", target=0.5, window=HOUR, min_rps=0.5)]
    together = evaluate_all(specs, "m", data, NOW)
    assert together == tuple(evaluate(spec, "m", data, NOW) for spec in specs)
    assert len({status.compliance for status in together}) >= 6


# --- window edges -------------------------------------------------------------------------


def test_the_window_holds_its_first_minute_and_the_current_one_but_not_the_minute_before():
    spec = slo(window=HOUR)
    requests = [0.0] * 62
    errors = [0.0] * 62
    first = NOW_MINUTE - 60
    requests[0], errors[0] = 100, 100  # minute now-60: one minute too old
    requests[1], errors[1] = 10, 0  # minute now-59: the window's first
    requests[60], errors[60] = 10, 1  # the current minute, the window's last
    requests[61], errors[61] = 1000, 1000  # a minute after now: not yet
    status = evaluate(spec, "m", counts(first, requests, errors), NOW)
    assert (status.good, status.total) == (19, 20)


def test_each_burn_window_ends_at_now_and_reaches_back_its_own_length():
    first = NOW_MINUTE - 5
    # errors only in minute now-5: half a minute before now the 5-minute window reaches into it
    status = evaluate(slo(), "m", counts(first, [10, 10, 10, 10, 10, 10], [10, 0, 0, 0, 0, 0]),
                      NOW)
    assert status.burn_rates["5m"] == pytest.approx((5 / 55) / 0.01)
    assert status.burn_rates["1h"] == pytest.approx((10 / 60) / 0.01)
    at_minute_end = evaluate(slo(), "m", counts(first, [10] * 6, [10, 0, 0, 0, 0, 0]),
                             (NOW_MINUTE + 1) * MINUTE)
    assert at_minute_end.burn_rates["5m"] == 0.0


def test_a_burn_rate_does_not_drop_when_a_minute_begins():
    # a one-hour SLO burns over one-minute windows: one second into the next minute the
    # incident of the minute before is still 59 s of the last minute, and still pages
    spec = slo(window=3600)
    status = evaluate(spec, "m", counts(NOW_MINUTE - 1, [30, 0], [15, 0]), NOW_MINUTE * MINUTE + 1)
    assert status.burn_rates["1m"] == pytest.approx(0.5 / 0.01)
    assert [alert.labels["severity"] for alert in status.alerts] == ["page"]


def test_records_ahead_of_now_count_for_nothing():
    spec = slo()
    status = evaluate(spec, "m", counts(NOW_MINUTE + 1, [100], [100]), NOW)
    assert status.total == 0


# --- breaches -----------------------------------------------------------------------------


def test_a_breach_starts_at_the_first_minute_end_below_and_ends_at_the_first_meeting_again():
    spec = slo(target=0.5, window=HOUR)
    first = NOW_MINUTE - 5
    # minute f: 10 good; f+1: 11 failures -> 10/21 below 0.5; f+2: 2 good -> 12/23 meeting.
    data = counts(first, [10, 11, 2, 0, 0, 0], [0, 11, 0, 0, 0, 0])
    (breach,) = evaluate(spec, "m", data, NOW).breaches
    assert breach.start == (first + 2) * MINUTE
    assert breach.end == (first + 3) * MINUTE
    assert breach.duration_seconds == MINUTE


def test_a_breach_still_running_has_no_end_and_lasts_until_now():
    spec = slo(target=0.5, window=HOUR)
    first = NOW_MINUTE - 5
    data = counts(first, [10, 11, 0, 0, 0, 0], [0, 11, 0, 0, 0, 0])
    status = evaluate(spec, "m", data, NOW)
    (breach,) = status.breaches
    assert breach.start == (first + 2) * MINUTE
    assert breach.end is None
    assert breach.duration_seconds == NOW - (first + 2) * MINUTE
    assert status.meeting is False


def test_a_breach_ends_when_its_bad_minute_leaves_the_window_and_is_counted_once():
    spec = slo(target=0.99, window=HOUR)
    first = NOW_MINUTE - 61
    # minute now-61: half of 100 failed; every later minute one good request. The SLI stays
    # below until the evaluation at the end of minute now-1, whose window no longer holds it.
    requests = [100.0] + [1.0] * 61
    errors = [50.0] + [0.0] * 61
    status = evaluate(spec, "m", counts(first, requests, errors), NOW)
    (breach,) = status.breaches
    # already running at the window's first minute end (minute now-59 ends at now-58)
    assert breach.start == (NOW_MINUTE - 58) * MINUTE
    assert breach.end == NOW_MINUTE * MINUTE
    assert breach.duration_seconds == 58 * MINUTE


def test_two_separate_breaches_are_two():
    spec = slo(target=0.5, window=HOUR)
    first = NOW_MINUTE - 5
    # below after f+1 (10/21), meeting after f+2 (22/33), below after f+3 (22/55)
    data = counts(first, [10, 11, 12, 22, 100, 0], [0, 11, 0, 22, 0, 0])
    breaches = evaluate(spec, "m", data, NOW).breaches
    assert [(b.start, b.end) for b in breaches] == [
        ((first + 2) * MINUTE, (first + 3) * MINUTE),
        ((first + 4) * MINUTE, (first + 5) * MINUTE),
    ]


# --- alerts -------------------------------------------------------------------------------


def test_one_failed_request_at_night_does_not_page_below_the_minimum_events():
    status = evaluate(slo(), "m", one_minute(1, 1), NOW)
    assert status.burn_rates["1h"] == pytest.approx(100.0)
    assert status.alerts == ()


def test_a_fast_burn_with_enough_events_pages_once_with_its_windows_as_labels():
    status = evaluate(slo(min_events=20), "fraud", one_minute(20, 20), NOW)
    # burn 100 over every window: every tier fires, the fastest holds back the others
    (alert,) = status.alerts
    assert alert.name == "slo_burn_rate"
    assert alert.severity == "page"
    assert dict(alert.labels) == {"slo": "api", "model": "fraud", "severity": "page",
                                  "long_window": "1h", "short_window": "5m"}
    assert alert.long_burn_rate == pytest.approx(100.0)
    assert status.paging


def test_a_burn_over_six_hours_pages_on_the_second_tier_and_holds_back_the_ticket():
    first = NOW_MINUTE - 359
    # 10% of requests fail for six hours: burn 10 (under 14.4, over 6 and 1)
    status = evaluate(slo(), "m", counts(first, [100.0] * 360, [10.0] * 360), NOW)
    (alert,) = status.alerts
    assert (alert.severity, alert.labels["long_window"], alert.labels["short_window"]) == (
        "page", "6h", "30m")


def test_a_slow_burn_raises_a_ticket_only():
    first = NOW_MINUTE - 359
    status = evaluate(slo(), "m", counts(first, [100.0] * 360, [2.0] * 360), NOW)
    (alert,) = status.alerts
    assert (alert.severity, alert.labels["long_window"]) == ("ticket", "3d")
    assert not status.paging


def test_a_burn_in_the_long_window_alone_does_not_alert():
    first = NOW_MINUTE - 59
    # every failure an hour ago, the last five minutes clean: 1h burns, 5m does not
    requests = [100.0] * 60
    errors = [100.0] * 10 + [0.0] * 50
    status = evaluate(slo(), "m", counts(first, requests, errors), NOW)
    assert status.burn_rates["1h"] > 14.4 and status.burn_rates["5m"] == 0.0
    assert all(alert.labels["long_window"] != "1h" for alert in status.alerts)


def test_a_quiet_throughput_slo_pages_once_it_has_twenty_minutes_of_history():
    spec = slo("throughput", target=0.99, min_rps=1.0)
    assert evaluate(spec, "m", counts(NOW_MINUTE - 19, [0.0] * 19), NOW).alerts == ()
    (alert,) = evaluate(spec, "m", counts(NOW_MINUTE - 20, [0.0] * 20), NOW).alerts
    assert alert.severity == "page"


def test_labels_that_stopped_arriving_raise_a_no_data_ticket():
    spec = slo("accuracy", target=0.9)
    status = evaluate(spec, "m", counts(NOW_MINUTE - 1, [100.0, 100.0]), NOW)
    (alert,) = status.alerts
    assert alert.name == "slo_no_data"
    assert alert.severity == "ticket"
    assert dict(alert.labels) == {"slo": "api", "model": "m", "severity": "ticket"}


def test_no_data_waits_for_a_complete_minute_of_requests():
    spec = slo("accuracy", target=0.9)
    assert evaluate(spec, "m", one_minute(100), NOW).alerts == ()


def test_alert_summaries_carry_no_text_from_the_log():
    hostile = "\x1b]0;pwned\x07[red]x"
    spec = SLOSpec(name=hostile, type="availability", target=0.99, window_seconds=30 * DAY)
    (alert,) = evaluate(spec, hostile, one_minute(50, 50), NOW).alerts
    assert "\x1b" not in alert.summary and "[red]" not in alert.summary
    assert alert.summary.isprintable()


@pytest.mark.parametrize(("prediction", "label", "match"), [
    (1, 1.0, True), (1, 1, True), ("1", 1, False), (True, 1, False), (False, 0, False),
    (True, True, True), ("cat", "cat", True), ("cat", "Cat", False), (0.5, 0.5, True),
    ([1, 2], [1, 2], True), ([1, 2], [2, 1], False), ({"a": 1}, {"a": 1}, True),
    (10**400, 10**400, True), (10**400, 10**400 + 1, False), (None, 0, False),
])
def test_a_prediction_matches_its_label_when_equal_as_json_values(prediction, label, match):
    assert json_equal(prediction, label) is match


# --- untrusted input ----------------------------------------------------------------------


@pytest.mark.parametrize("now", [math.nan, math.inf, -math.inf, 1e300, -1e300, 0.0])
def test_a_clock_reading_far_from_the_data_gives_an_empty_status_and_never_raises(now):
    status = evaluate(slo(), "m", one_minute(100, 5), now)
    assert (status.total, status.compliance, status.breaches, status.alerts) == (0, None, (), ())


@pytest.mark.parametrize("slo_type", ["availability", "error_rate", "latency", "accuracy",
                                      "throughput"])
def test_nan_negative_and_huge_counts_are_zeroed_or_capped_without_raising(slo_type):
    spec = slo(slo_type, target=0.9, threshold_ms=100.0 if slo_type == "latency" else None,
               min_rps=1.0 if slo_type == "throughput" else None)
    bad = [math.nan, -5.0, 1e300, math.inf, 3.0]
    data = counts(NOW_MINUTE - 4, bad, [1e300, math.nan, -1.0, 7.0, 9.0], labelled=bad,
                  correct=[1e308, -1, math.nan, 0, 4], within_ms={100.0: np.array(bad)},
                  timed=np.array(bad))
    status = evaluate(spec, "m", data, NOW)
    assert 0 <= status.good <= status.total
    assert status.compliance is None or 0.0 <= status.compliance <= 1.0
    for rate in status.burn_rates.values():
        assert rate is None or (math.isfinite(rate) and rate >= 0.0)


def test_a_huge_first_minute_is_just_data_out_of_reach():
    status = evaluate(slo(), "m", counts(10**30, [5.0]), NOW)
    assert status.total == 0


def test_a_latency_slo_whose_threshold_was_never_counted_has_no_events():
    spec = slo("latency", threshold_ms=123.0)
    assert evaluate(spec, "m", one_minute(100), NOW).total == 0


# --- properties against a minute-by-minute reference --------------------------------------


def reference_sums(requests: list[int], errors: list[int], first: int, current: int,
                   minutes: int) -> tuple[int, int]:
    """Good and total of an availability SLO over `minutes` ending with minute `current`,
    minute by minute."""
    good = total = 0
    for offset, (count, failed) in enumerate(zip(requests, errors, strict=True)):
        if current - minutes < first + offset <= current:
            total += count
            good += count - min(failed, count)
    return good, total


minute_counts = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 60)), min_size=1,
                         max_size=150)


@checks
@given(minute_counts, st.integers(-200, 200), st.floats(0, 59.999))
def test_window_sums_and_burn_rates_equal_minute_by_minute_sums(pairs, shift, second):
    requests, errors = [p[0] for p in pairs], [p[1] for p in pairs]
    first = NOW_MINUTE + shift
    spec = slo(target=0.9, window=HOUR)
    status = evaluate(spec, "m", counts(first, requests, errors), NOW_MINUTE * MINUTE + second)
    assert (status.good, status.total) == reference_sums(requests, errors, first, NOW_MINUTE, 60)
    for tier in burn_tiers(HOUR):
        good, total = reference_sums(requests, errors, first, NOW_MINUTE,
                                     tier.long_seconds // MINUTE)
        expected = None if total == 0 else (total - good) / total / (1 - 0.9)
        assert status.burn_rates[tier.long_window] == pytest.approx(expected)


@checks
@given(minute_counts, st.integers(-150, 0))
def test_breaches_cover_exactly_the_minute_ends_whose_window_is_below(pairs, shift):
    requests, errors = [p[0] for p in pairs], [p[1] for p in pairs]
    first = NOW_MINUTE + shift
    spec = slo(target=0.9, window=HOUR)
    now = NOW_MINUTE * MINUTE + 60.0 - 1e-6
    below = set()
    for point in range(NOW_MINUTE - 59, NOW_MINUTE + 1):
        good, total = reference_sums(requests, errors, first, point, 60)
        if total and good / total < 0.9:
            below.add(point)
    breaches = evaluate(spec, "m", counts(first, requests, errors), now).breaches
    covered = set()
    for breach in breaches:
        stop = breach.end if breach.end is not None else now + 30.0
        covered |= {round(t / MINUTE) - 1 for t in np.arange(breach.start, stop, MINUTE)}
        last = breach.end if breach.end is not None else now
        assert breach.duration_seconds == pytest.approx(last - breach.start)
    assert covered == below
