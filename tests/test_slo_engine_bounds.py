"""SLO engine at its extremes: a flapping SLO's breaches stay bounded, and a window exactly at its
objective leaves exactly no budget, whatever the objective's binary rounding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neural_tui.engines.slo import SHOWN_BREACHES, MinuteCounts, SLOSpec, SLOType, evaluate

MINUTE = 60
DAY = 86_400
NOW_MINUTE = 29_446_560
"""2026-01-01 00:00 UTC as a minute number (even)."""
NOW = NOW_MINUTE * MINUTE + 30.0
"""Half way through the current minute."""
FLAPPING_WINDOW = 30 * DAY + MINUTE
"""43,201 minutes: an odd number, so a window of alternating minutes is never half and half."""


def alternating(failing_parity: int) -> MinuteCounts:
    """One request a minute over twice the window up to the current minute, failing in the
    minutes whose number has `failing_parity`."""
    first = NOW_MINUTE - 2 * (FLAPPING_WINDOW // MINUTE) + 2
    minutes = np.arange(first, NOW_MINUTE + 1)
    requests = np.ones(minutes.shape[0])
    errors = (minutes % 2 == failing_parity).astype(np.float64)
    zeros = np.zeros_like(requests)
    return MinuteCounts(first, requests, errors, zeros, zeros)


def flapping_slo() -> SLOSpec:
    return SLOSpec("flap", "availability", 0.5, FLAPPING_WINDOW)


def test_a_flapping_slo_counts_every_breach_but_lists_only_the_newest():
    status = evaluate(flapping_slo(), "m", alternating(failing_parity=1), NOW)
    # The window ending with minute e holds 43,201 alternating minutes; it holds 21,601
    # failures (below 0.5) when e is odd. The SLO is judged at the end of minutes
    # now-43,200 .. now-1 and at now: the 21,600 odd ones breach, each from the end of its
    # minute e, (e + 1) * 60, to the next judgement, 60 s later, except the newest (e = now-1)
    # which ends at the judgement at now, 30 s in: 21,599 * 60 + 30 seconds in all.
    assert status.breach_count == 21_600
    assert status.breached_seconds == 21_599 * 60 + 30
    assert status.longest_breach_seconds == 60
    assert len(status.breaches) == SHOWN_BREACHES == 100
    # the newest 100 are the odd minutes now-199 .. now-1, oldest first
    assert status.breaches[0].start == (NOW_MINUTE - 198) * MINUTE
    assert status.breaches[0].end == (NOW_MINUTE - 197) * MINUTE
    assert status.breaches[-1].start == NOW_MINUTE * MINUTE
    assert status.breaches[-1].end == NOW
    assert status.breaches[-1].duration_seconds == 30
    assert all(b.duration_seconds == 60 for b in status.breaches[:-1])


def test_a_flapping_slo_breaching_now_keeps_its_ongoing_breach_last():
    status = evaluate(flapping_slo(), "m", alternating(failing_parity=0), NOW)
    # even minutes now-43,200 .. now breach: 21,600 full minutes and one that begins at now
    assert status.breach_count == 21_601
    assert status.breached_seconds == 21_600 * 60
    assert len(status.breaches) == SHOWN_BREACHES
    ongoing = status.breaches[-1]
    assert (ongoing.start, ongoing.end, ongoing.duration_seconds) == (NOW, None, 0.0)
    assert all(b.end is not None for b in status.breaches[:-1])


def test_a_few_breaches_are_all_listed_and_their_totals_match_the_list():
    spec = SLOSpec("api", "availability", 0.5, 3600)
    first = NOW_MINUTE - 5
    # below after f+1 (10/21), meeting after f+2 (22/33), below after f+3 (22/55) until now
    minutes = [10.0, 11.0, 12.0, 22.0, 100.0, 0.0]
    failures = [0.0, 11.0, 0.0, 22.0, 0.0, 0.0]
    zeros = np.zeros(6)
    data = MinuteCounts(first, np.array(minutes), np.array(failures), zeros, zeros)
    status = evaluate(spec, "m", data, NOW)
    assert status.breach_count == len(status.breaches) == 2
    assert status.breached_seconds == 60 + 60
    assert status.longest_breach_seconds == 60


def test_no_breach_gives_zero_totals():
    zeros = np.zeros(1)
    data = MinuteCounts(NOW_MINUTE, np.array([100.0]), zeros, zeros, zeros)
    status = evaluate(SLOSpec("api", "availability", 0.99, 3600), "m", data, NOW)
    assert (status.breaches, status.breach_count, status.breached_seconds,
            status.longest_breach_seconds) == ((), 0, 0.0, 0.0)


@pytest.mark.parametrize(("slo_type", "target", "requests"), [
    ("availability", 0.9, 10), ("availability", 0.95, 20), ("availability", 0.99, 100),
    ("availability", 0.999, 1000), ("error_rate", 0.1, 10), ("error_rate", 0.05, 20),
    ("error_rate", 0.01, 100), ("error_rate", 0.001, 1000),
])
def test_one_bad_request_exactly_at_the_objective_leaves_exactly_no_budget(
        slo_type: SLOType, target: float, requests: int):
    spec = SLOSpec("api", slo_type, target, 3600)
    zeros = np.zeros(1)
    data = MinuteCounts(NOW_MINUTE, np.array([float(requests)]), np.array([1.0]), zeros, zeros)
    status = evaluate(spec, "m", data, NOW)
    # 1 bad of `requests` is exactly the allowed fraction: the whole budget spent, none over
    assert status.error_budget_remaining == 0.0
    assert math.copysign(1.0, status.error_budget_remaining) == 1.0
    assert status.meeting is True
    assert status.exhausted  # "none left, or overspent" (README, health)
    assert status.breach_count == 0


@pytest.mark.parametrize(("target", "requests", "bad", "remaining"), [
    (0.9, 1_000_000, 100_001, -1e-5), (0.9, 1_000_000, 99_999, 1e-5),
    (0.999, 10_000_000, 10_001, -1e-4), (0.999, 10_000_000, 9_999, 1e-4),
])
def test_one_bad_request_more_or_fewer_than_the_budget_is_not_absorbed(
        target: float, requests: int, bad: int, remaining: float):
    zeros = np.zeros(1)
    data = MinuteCounts(NOW_MINUTE, np.array([float(requests)]), np.array([float(bad)]), zeros,
                        zeros)
    status = evaluate(SLOSpec("api", "availability", target, 3600), "m", data, NOW)
    # allowed (1 - target) * requests: 100,000 or 10,000 bad; one more or less is 1 / that
    assert status.error_budget_remaining == pytest.approx(remaining, rel=1e-9)


def test_the_largest_minute_exactly_at_the_objective_still_leaves_exactly_no_budget():
    zeros = np.zeros(1)
    # 1e12 requests (the cap of a minute), a thousandth of them failed, against 99.9 %
    data = MinuteCounts(NOW_MINUTE, np.array([1e12]), np.array([1e9]), zeros, zeros)
    status = evaluate(SLOSpec("api", "availability", 0.999, 3600), "m", data, NOW)
    assert status.error_budget_remaining == 0.0
    assert math.copysign(1.0, status.error_budget_remaining) == 1.0
