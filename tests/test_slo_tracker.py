"""The old module's SLO API (`from neural_tui import SLOTracker, SLO, SLAReport`), called as a
model server written for it calls it, against figures computed by hand."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from neural_tui import SLO, SLAReport, SLOTracker, SLOType
from neural_tui.slo_tracker import (
    DEFAULT_GOOD_SHARE,
    create_accuracy_slo,
    create_availability_slo,
    create_error_rate_slo,
    create_latency_slo,
)

T0 = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC, a minute's edge."""


def tracker_with(slo: SLO) -> SLOTracker:
    tracker = SLOTracker()
    tracker.add_slo(slo)
    return tracker


def record_spread(tracker: SLOTracker, name: str, values: list[float], *, span: float,
                  start: float = T0) -> None:
    """`values` measured evenly over `span` seconds from `start`."""
    for i, value in enumerate(values):
        tracker.record_measurement(name, value, timestamp=start + i * span / len(values))


def test_the_old_names_import_from_the_package():
    assert SLOTracker.__module__ == SLO.__module__ == SLAReport.__module__ == (
        "neural_tui.slo_tracker")
    assert [t.value for t in SLOType] == ["availability", "latency", "accuracy", "error_rate",
                                          "throughput"]


def test_importing_the_package_does_not_load_the_slo_api_until_it_is_used():
    code = ("import sys, neural_tui; before = 'neural_tui.slo_tracker' in sys.modules; "
            "neural_tui.SLOTracker; print(before, 'neural_tui.slo_tracker' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.split() == ["False", "True"]


def test_fifty_failures_in_ten_thousand_against_99_percent_leave_half_the_budget():
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    # one failure in each 200 requests, 200 a minute for 50 minutes
    values = [0.0 if i % 200 == 100 else 1.0 for i in range(10_000)]
    record_spread(tracker, "availability", values, span=3000)

    status = tracker.get_slo_status("availability")
    report = tracker.generate_sla_report("availability")

    assert status["status"] == "ok"
    assert status["total_measurements"] == 10_000
    assert status["compliance_rate"] == pytest.approx(0.995)
    assert status["is_meeting"] is True
    # 1 - (50 / 10,000) / (1 - 0.99)
    assert status["error_budget_remaining"] == pytest.approx(0.5)
    assert status["burn_rates"] == pytest.approx(dict.fromkeys(status["burn_rates"], 0.5))
    assert status["recent_compliance"] == pytest.approx(0.995)
    assert report.compliance_rate == pytest.approx(0.995)
    assert report.error_budget_remaining == pytest.approx(0.5)
    assert (report.total_breaches, report.total_breach_duration) == (0, 0.0)
    assert len(report.measurements) == 10_000
    assert sum(not m.is_meeting for m in report.measurements) == 50


def test_a_latency_slo_with_40_percent_slow_requests_is_not_met():
    """The old module averaged passes (0.6) and compared them with the threshold (0.1 s), so
    this SLO was "meeting"; now 60% fast requests against the promised 95% is a breach."""
    tracker = tracker_with(create_latency_slo(target_ms=100.0, window_hours=1))
    values = [0.2 if i % 5 < 2 else 0.05 for i in range(1_000)]
    record_spread(tracker, "prediction_latency_p95", values, span=1200)

    status = tracker.get_slo_status("prediction_latency_p95")

    assert DEFAULT_GOOD_SHARE == 0.95
    assert status["compliance_rate"] == pytest.approx(0.6)
    assert status["is_meeting"] is False
    # 1 - 0.4 / (1 - 0.95)
    assert status["error_budget_remaining"] == pytest.approx(-7.0)
    assert status["slo"]["objective"] == 0.95


def test_an_error_rate_slo_counts_failed_requests_against_its_maximum():
    tracker = tracker_with(create_error_rate_slo(target=0.01, window_hours=1))
    values = [1.0 if i < 5 else 0.0 for i in range(1_000)]
    record_spread(tracker, "error_rate", values, span=600)

    status = tracker.get_slo_status("error_rate")

    assert status["compliance_rate"] == pytest.approx(0.995)
    assert status["sli"] == pytest.approx(0.005)
    assert status["slo"]["objective"] == pytest.approx(0.99)
    assert status["error_budget_remaining"] == pytest.approx(0.5)


def test_an_accuracy_slo_counts_right_and_wrong_labelled_predictions():
    tracker = tracker_with(create_accuracy_slo(target=0.9, window_hours=24))
    values = [0.0 if i % 10 == 0 else 1.0 for i in range(500)]
    values[1] = 0.0  # 51 wrong of 500: 89.8% against 90%
    record_spread(tracker, "model_accuracy", values, span=3000)

    status = tracker.get_slo_status("model_accuracy")

    assert status["compliance_rate"] == pytest.approx(449 / 500)
    assert status["is_meeting"] is False
    assert status["error_budget_remaining"] == pytest.approx(1 - (51 / 500) / 0.1)


def test_an_slo_without_measurements_has_no_data():
    tracker = tracker_with(create_availability_slo())

    assert tracker.get_slo_status("model_availability") == {
        "status": "no_data", "slo": create_availability_slo().to_dict(),
        "message": "No measurements available"}
    report = tracker.generate_sla_report("model_availability", start_time=T0,
                                         end_time=T0 + 3600)
    assert (report.compliance_rate, report.error_budget_remaining) == (None, None)
    assert report.measurements == []


def test_measurements_outside_the_reports_range_are_not_counted():
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    record_spread(tracker, "availability", [0.0] * 100, span=600, start=T0)
    record_spread(tracker, "availability", [1.0] * 100, span=600, start=T0 + 1200)

    report = tracker.generate_sla_report("availability", start_time=T0 + 1200,
                                         end_time=T0 + 1800)

    assert report.compliance_rate == 1.0
    assert len(report.measurements) == 100


def test_the_report_is_written_as_json_under_the_storage_path(tmp_path):
    tracker = SLOTracker(storage_path=tmp_path / "slo")
    tracker.add_slo(SLO("a/b", SLOType.AVAILABILITY, 0.99, 3600))
    record_spread(tracker, "a/b", [1.0, 0.0], span=60)

    report = tracker.generate_sla_report("a/b", start_time=T0, end_time=T0 + 59)

    (written,) = (tmp_path / "slo").iterdir()
    assert written.name == f"report_a_b_{int(T0)}_{int(T0) + 59}.json"
    assert json.loads(written.read_text()) == json.loads(json.dumps(report.to_dict()))
    assert json.loads(written.read_text())["compliance_rate"] == 0.5


def test_an_unknown_slo_is_a_value_error_as_before():
    with pytest.raises(ValueError, match="SLO not found: nope"):
        SLOTracker().record_measurement("nope", 1.0)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_measurement_that_is_not_a_finite_number_is_refused(value):
    tracker = tracker_with(create_availability_slo())
    with pytest.raises(ValueError, match="must be finite"):
        tracker.record_measurement("model_availability", value, timestamp=T0)
    with pytest.raises(ValueError, match="must be finite"):
        tracker.record_measurement("model_availability", 1.0, timestamp=value)


@pytest.mark.parametrize(("slo_type", "target", "window"), [
    (SLOType.AVAILABILITY, 1.0, 3600),
    (SLOType.ERROR_RATE, 0.0, 3600),
    (SLOType.LATENCY, math.nan, 3600),
    (SLOType.AVAILABILITY, 0.99, 59),
    (SLOType.AVAILABILITY, 0.99, 10**12),
])
def test_an_slo_that_cannot_be_judged_is_refused_when_declared(slo_type, target, window):
    with pytest.raises(ValueError, match="SLO 'x'"):
        SLO("x", slo_type, target, window)


def test_a_measurement_older_than_the_kept_minutes_is_ignored():
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    tracker.record_measurement("availability", 1.0, timestamp=T0)
    tracker.record_measurement("availability", 0.0, timestamp=T0 - 3 * 3600)

    status = tracker.get_slo_status("availability")

    assert (status["total_measurements"], status["compliance_rate"]) == (1, 1.0)


def test_the_slo_type_may_be_given_by_its_old_value():
    assert SLO("x", "latency", 0.1, 3600).slo_type is SLOType.LATENCY  # type: ignore[arg-type]


def test_a_breach_that_starts_and_ends_is_counted_once_with_its_length():
    """2h window, 99%: 100 good requests a minute, except minute 60 whose 100 fail. At the end
    of minute 60 the window holds 6,000 good of 6,100 (98.4%): the breach begins; at the end of
    minute m it holds 100m good of 100(m + 1), met again from m = 99. So one breach from
    T0 + 61 min to T0 + 100 min (39 minutes), where the old module summed the running length
    of each of the 100 failing measurements."""
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 7200))
    for minute in range(131):
        record_spread(tracker, "availability", [0.0 if minute == 60 else 1.0] * 100, span=60,
                      start=T0 + 60 * minute)

    report = tracker.generate_sla_report("availability")
    status = tracker.get_slo_status("availability")

    assert report.total_breaches == 1
    assert report.total_breach_duration == report.max_breach_duration == 39 * 60
    assert status["breaches"] == [{"start": T0 + 61 * 60, "end": T0 + 100 * 60,
                                   "duration_seconds": 39 * 60}]
    assert (status["current_breach"], status["is_meeting"]) == (False, True)
    during = next(m for m in report.measurements if m.timestamp == T0 + 80 * 60)
    assert during.breach_duration == 19 * 60
    assert next(m for m in report.measurements if m.timestamp == T0 + 110 * 60
                ).breach_duration == 0.0


def test_a_throughput_rate_holds_until_the_next_measurement():
    """10 rps promised in 95% of minutes; a rate measured every 5 minutes: 12 rps, except 5 rps
    measured at minute 50. Judged at minute 55, the complete minutes 0..54 count: 50 at 12 rps,
    and 50..54 at the 5 rps that held, so 50 good of 55."""
    tracker = tracker_with(SLO("throughput", SLOType.THROUGHPUT, 10.0, 3600))
    for minute in range(0, 60, 5):
        tracker.record_measurement("throughput", 5.0 if minute == 50 else 12.0,
                                   timestamp=T0 + 60 * minute + 30)

    status = tracker.get_slo_status("throughput")

    assert (status["compliance_rate"], status["total_measurements"]) == (
        pytest.approx(50 / 55), 55)
    assert status["error_budget_remaining"] == pytest.approx(1 - (5 / 55) / 0.05)
    assert status["is_meeting"] is False


def test_a_timestamp_more_than_a_day_ahead_is_refused_and_moves_nothing():
    tracker = tracker_with(create_availability_slo())
    tracker.record_measurement("model_availability", 1.0)
    with pytest.raises(ValueError, match="more than a day ahead"):
        tracker.record_measurement("model_availability", 0.0, timestamp=1e12)
    tracker.record_measurement("model_availability", 1.0)

    status = tracker.get_slo_status("model_availability")

    assert (status["total_measurements"], status["compliance_rate"]) == (2, 1.0)


def test_a_huge_throughput_rate_is_a_good_minute_not_an_overflow():
    tracker = tracker_with(SLO("throughput", SLOType.THROUGHPUT, 10.0, 3600))
    for minute in range(3):
        tracker.record_measurement("throughput", 1e308, timestamp=T0 + 60 * minute)
        tracker.record_measurement("throughput", 1e308, timestamp=T0 + 60 * minute + 1)

    status = tracker.get_slo_status("throughput")

    assert (status["compliance_rate"], status["total_measurements"]) == (1.0, 2)


def one_a_minute(tracker: SLOTracker, name: str, failed_minutes: int, minutes: int) -> None:
    """One measurement in the middle of each of `minutes` minutes from T0, the first
    `failed_minutes` of them failed."""
    for minute in range(minutes):
        tracker.record_measurement(name, 0.0 if minute < failed_minutes else 1.0,
                                   timestamp=T0 + 60 * minute + 30)


def test_a_report_longer_than_the_kept_minutes_is_cut_to_them_and_says_so():
    """A 1h SLO keeps 119 minutes (twice the window less one). 300 minutes, the first 250
    failed, reported from T0: the kept minutes are 181..299, of which 181..249 failed (69) and
    250..299 were served (50)."""
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    one_a_minute(tracker, "availability", failed_minutes=250, minutes=300)

    report = tracker.generate_sla_report("availability", start_time=T0)

    assert (report.start_time, report.requested_start_time) == (T0 + 181 * 60, T0)
    assert report.end_time == T0 + 299 * 60 + 30
    assert report.status is not None
    assert (report.status.good, report.status.total) == (50, 119)
    assert report.compliance_rate == pytest.approx(50 / 119)
    assert len(report.measurements) == 119
    assert report.to_dict()["requested_start_time"] == T0


def test_a_report_within_the_kept_minutes_is_not_cut():
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    one_a_minute(tracker, "availability", failed_minutes=250, minutes=300)

    report = tracker.generate_sla_report("availability", start_time=T0 + 240 * 60,
                                         end_time=T0 + 299 * 60 + 30)

    # minutes 240..299: 10 failed, 50 served
    assert (report.start_time, report.requested_start_time) == (T0 + 240 * 60, None)
    assert report.compliance_rate == pytest.approx(50 / 60)


@pytest.mark.parametrize("start", [0.0, -1e300])
def test_a_report_from_the_dawn_of_time_is_cut_to_the_kept_minutes(start):
    """The uncut range was 29 million minutes (start 0): gigabytes, then a MemoryError."""
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    one_a_minute(tracker, "availability", failed_minutes=0, minutes=300)

    report = tracker.generate_sla_report("availability", start_time=start)

    assert (report.start_time, report.requested_start_time) == (T0 + 181 * 60, start)
    assert report.status is not None and report.status.total == 119


def test_a_report_that_ends_before_the_kept_minutes_is_refused():
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    one_a_minute(tracker, "availability", failed_minutes=0, minutes=300)

    with pytest.raises(ValueError, match=r"nothing is kept .*oldest minute kept begins at "
                                         rf"{int(T0) + 181 * 60}"):
        tracker.generate_sla_report("availability", start_time=T0, end_time=T0 + 3600)


@pytest.mark.parametrize(("start", "end", "message"), [
    (math.nan, None, "start_time must be finite"),
    (-math.inf, None, "start_time must be finite"),
    (None, math.nan, "end_time must be finite"),
    (None, math.inf, "end_time must be finite"),
    (None, 1e300, "end_time 1e\\+300 is more than a day ahead"),
    (None, -1.0, "end_time -1.0 is before 1970"),
    (T0 + 60, T0, "start_time .* is after end_time"),
])
def test_a_report_range_that_cannot_be_judged_is_refused_naming_it(start, end, message):
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    one_a_minute(tracker, "availability", failed_minutes=0, minutes=10)

    with pytest.raises(ValueError, match=f"SLO 'availability': {message}"):
        tracker.generate_sla_report("availability", start_time=start, end_time=end)


@pytest.mark.parametrize("window", [0, 59, 119 * 60 + 1, 10**12, 3600.5])
def test_an_evaluation_window_beyond_the_kept_minutes_is_refused(window):
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    one_a_minute(tracker, "availability", failed_minutes=0, minutes=10)

    with pytest.raises(ValueError, match="window_seconds must be a whole number between 60 "
                                         "and 7140"):
        tracker.evaluate("availability", window_seconds=window)  # type: ignore[arg-type]


@pytest.mark.parametrize(("at", "message"), [
    (math.nan, "at must be finite"),
    (1e300, "more than a day ahead"),
    (-1e300, "before 1970"),
])
def test_an_evaluation_time_that_cannot_be_judged_is_refused(at, message):
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    one_a_minute(tracker, "availability", failed_minutes=0, minutes=10)

    with pytest.raises(ValueError, match=message):
        tracker.evaluate("availability", at=at)


def test_a_timestamp_before_1970_is_refused():
    tracker = tracker_with(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    with pytest.raises(ValueError, match="timestamp -1e\\+300 is before 1970"):
        tracker.record_measurement("availability", 1.0, timestamp=-1e300)


class Clock:
    """A host clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


NOW = T0 + 10 * 3600 + 30
"""The host clock in the clock tests: half a minute into a minute."""


def test_a_measurement_ahead_of_the_host_clock_moves_neither_the_clock_nor_the_counts():
    """Before, the failure at now + 23h became the SLO's clock: the 2,000 good measurements
    fell out of the window, leaving compliance 0.0 from 1 event and a budget of -99."""
    tracker = SLOTracker(clock=Clock(NOW))
    tracker.add_slo(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    record_spread(tracker, "availability", [1.0] * 1_000, span=300, start=NOW - 600)
    tracker.record_measurement("availability", 0.0, timestamp=NOW + 23 * 3600)
    record_spread(tracker, "availability", [1.0] * 1_000, span=300, start=NOW - 300)

    status = tracker.get_slo_status("availability")
    report = tracker.generate_sla_report("availability")

    assert (status["total_measurements"], status["compliance_rate"]) == (2_000, 1.0)
    assert status["error_budget_remaining"] == 1.0
    assert report.end_time == NOW - 300 + 999 * 0.3
    assert (report.compliance_rate, len(report.measurements)) == (1.0, 2_000)


def test_a_measurement_ahead_of_the_host_clock_counts_once_the_clock_reaches_it():
    clock = Clock(NOW)
    tracker = SLOTracker(clock=clock)
    tracker.add_slo(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    record_spread(tracker, "availability", [1.0] * 1_000, span=300, start=NOW - 300)
    tracker.record_measurement("availability", 0.0, timestamp=NOW + 600)

    clock.now = NOW + 599  # the failure's minute has begun
    status = tracker.get_slo_status("availability")
    report = tracker.generate_sla_report("availability")

    assert (status["total_measurements"], status["compliance_rate"]) == (
        1_001, pytest.approx(1_000 / 1_001))
    assert tracker.evaluate("availability").at == NOW + 599  # the clock, not the failure
    assert report.compliance_rate == pytest.approx(1_000 / 1_001)
    assert sum(not m.is_meeting for m in report.measurements) == 1


def test_a_measurement_ahead_of_the_clock_is_still_refused_past_a_day():
    tracker = SLOTracker(clock=Clock(NOW))
    tracker.add_slo(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    with pytest.raises(ValueError, match="more than a day ahead"):
        tracker.record_measurement("availability", 0.0, timestamp=NOW + 86_401)


def test_a_day_of_minutes_waiting_ahead_of_the_clock_each_count_when_their_minute_comes():
    """A measurement in each of the 1,440 minutes ahead, the last 60 failed; a day later the
    1h window holds exactly those 60."""
    clock = Clock(NOW)
    tracker = SLOTracker(clock=clock)
    tracker.add_slo(SLO("availability", SLOType.AVAILABILITY, 0.99, 3600))
    for minute in range(1, 1_441):
        tracker.record_measurement("availability", 0.0 if minute > 1_380 else 1.0,
                                   timestamp=NOW + 60 * minute)
    assert tracker.get_slo_status("availability")["status"] == "no_data"

    clock.now = NOW + 86_400
    status = tracker.get_slo_status("availability")

    assert (status["total_measurements"], status["compliance_rate"]) == (60, 0.0)
    assert tracker.evaluate("availability").at == NOW + 86_400
