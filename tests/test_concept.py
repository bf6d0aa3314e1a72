"""Page-Hinkley concept drift: finds a step in the error rate, stays quiet on a steady stream."""

import numpy as np
import pytest

from neural_tui.engines.concept import PageHinkley


def _errors(rng, rate, n):
    return (rng.random(n) < rate).astype(float)


def test_a_step_from_ten_to_forty_percent_error_is_found_soon_after_it_happens():
    for seed in range(50):
        rng = np.random.default_rng(seed)
        stream = np.concatenate([_errors(rng, 0.1, 2000), _errors(rng, 0.4, 1000)])
        state = PageHinkley().update(stream)
        assert state.drift_detected and state.drifts_total == 1
        assert 2000 <= state.last_drift_at < 2400, (seed, state)


@pytest.mark.parametrize(("rate", "allowed"), [(0.1, 2), (0.25, 10)])
def test_a_steady_error_rate_raises_no_alarm_in_almost_every_stream(rate, allowed):
    # Wald's approximation of the average run to a false alarm: ~10^6 samples at a 10% error
    # rate, ~8 x 10^4 at 25%. 100 streams of 5,000 samples (5 x 10^5) thus expect under 1 and
    # about 6 alarms; the allowance is roughly that plus 1.5 Poisson sd.
    alarms = sum(
        PageHinkley().update(_errors(np.random.default_rng(seed), rate, 5000)).drifts_total
        for seed in range(100)
    )
    assert alarms <= allowed


def test_updating_in_batches_equals_one_update_over_the_whole_stream():
    rng = np.random.default_rng(7)
    stream = np.concatenate([_errors(rng, 0.1, 1500), _errors(rng, 0.5, 500)])
    whole = PageHinkley().update(stream)
    batched = PageHinkley()
    for chunk in np.array_split(stream, 13):
        batched.update(chunk)
    assert batched.state.last_drift_at == whole.last_drift_at
    assert batched.state.samples == whole.samples == 2000
    assert batched.state.samples_since_drift == whole.samples_since_drift


def test_the_statistic_matches_the_page_hinkley_definition_by_hand():
    # errors 0, 1, 1 with delta 0.1: running means 0, 0.5, 2/3
    # m_1 = 0 - 0 - 0.1 = -0.1 ; m_2 = -0.1 + (1 - 0.5 - 0.1) = 0.3
    # m_3 = 0.3 + (1 - 2/3 - 0.1) = 0.5333 ; min M = -0.1 -> m_3 - M_3 = 0.6333
    state = PageHinkley(delta=0.1, threshold=10.0, min_samples=1).update(np.array([0, 1, 1.0]))
    assert state.statistic == pytest.approx(0.5 + 1 / 3 - 0.2)
    assert state.normalised == pytest.approx(state.statistic / 10)
    assert state.mean_error == pytest.approx(2 / 3)
    assert not state.drift_detected


def test_after_a_drift_the_new_error_level_becomes_the_baseline():
    rng = np.random.default_rng(3)
    tracker = PageHinkley()
    tracker.update(np.concatenate([_errors(rng, 0.1, 2000), _errors(rng, 0.4, 500)]))
    later = tracker.update(_errors(rng, 0.4, 5000))
    assert not later.drift_detected and later.drifts_total == 1
    assert later.mean_error == pytest.approx(0.4, abs=0.03)


def test_a_falling_error_rate_is_no_alarm_and_nan_errors_are_skipped():
    rng = np.random.default_rng(4)
    stream = np.concatenate([_errors(rng, 0.4, 1000), _errors(rng, 0.05, 2000), [np.nan] * 10])
    state = PageHinkley().update(stream)
    assert state.drifts_total == 0 and state.samples == 3000


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="threshold"):
        PageHinkley(threshold=0)
