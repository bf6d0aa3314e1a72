"""Concept drift: has the model's error rate risen, judged on the stream of labelled errors?

The detector is Page-Hinkley (Page 1954; Hinkley 1971), chosen over the alternatives because:

- it works on any error value (0/1 misclassification, or a regression error scaled to about
  [0, 1]), where DDM assumes Bernoulli errors;
- its state is four numbers, where ADWIN keeps a bucket list that grows with the log of the
  stream;
- within a batch it is a cumulative sum and a running minimum, so it vectorises with numpy.

For errors x_1..x_t with running mean xbar_i, it tracks m_t = sum of (x_i - xbar_i - delta)
and its running minimum M_t (starting at 0), and signals drift when m_t - M_t > threshold: the
errors have stayed above their own mean by more than `delta` per sample long enough to
accumulate `threshold`. It is one-sided on purpose: falling error is no alarm. After a drift
the statistics restart, so the new error level becomes the baseline.

Sequential part: each drift restarts the sums from the next sample, so `update` loops once per
drift found in the batch (bounded by batch length / `min_samples`), never once per sample.

Defaults (delta 0.005, threshold 50) are the usual ones for 0/1 errors: a stationary stream at
a 10% error rate then drifts down by 0.005 per sample against noise of variance 0.09, so a false
alarm needs a rise of 50 against that drift, which by Wald's approximation comes on average once
in about 10^6 samples (once in about 8 x 10^4 at a 25% error rate, whose noise is larger); a
rise from 10% to 40% error is found within a few hundred samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neural_tui.engines.columns import to_numeric


@dataclass(frozen=True, slots=True)
class ConceptDriftState:
    """The detector after the latest update.

    `statistic` is the largest m_t - M_t reached during the last update (m_t - M_t now if it
    brought no samples), so a drift found mid-batch still shows; `normalised` is it divided by
    the threshold (1 or more means drift), the value exported as
    `neural_drift_score{drift_type="concept"}`. `drift_detected`
    says whether the last update found a drift; `last_drift_at` is the position in the whole
    stream (0-based sample count) of the latest drift, if any.
    """

    samples: int
    samples_since_drift: int
    mean_error: float | None
    statistic: float
    normalised: float
    drift_detected: bool
    drifts_total: int
    last_drift_at: int | None

    def to_dict(self) -> dict[str, str | float | int | bool | None]:
        return {
            "detector": "page_hinkley",
            "samples": self.samples,
            "samples_since_drift": self.samples_since_drift,
            "mean_error": self.mean_error,
            "statistic": self.statistic,
            "normalised": self.normalised,
            "drift_detected": self.drift_detected,
            "drifts_total": self.drifts_total,
            "last_drift_at": self.last_drift_at,
        }


class PageHinkley:
    """Page-Hinkley test for a rise in the mean of a stream of errors, updated per batch."""

    _count: int
    _sum: float
    _deviation_sum: float
    _minimum: float
    _statistic: float

    def __init__(
        self, delta: float = 0.005, threshold: float = 50.0, min_samples: int = 30
    ) -> None:
        if delta < 0 or threshold <= 0 or min_samples < 1:
            raise ValueError("page-hinkley needs delta >= 0, threshold > 0, min_samples >= 1")
        self.delta = delta
        self.threshold = threshold
        self.min_samples = min_samples
        self._samples = 0
        self._drifts_total = 0
        self._last_drift_at: int | None = None
        self._restart()
        self._state = self._snapshot(drift_detected=False, statistic=0.0)

    @property
    def state(self) -> ConceptDriftState:
        return self._state

    def update(self, errors: np.ndarray) -> ConceptDriftState:
        """Feed the next errors in stream order and return the new state.

        Anything but a finite number (NaN, +-inf, an integer beyond float range, null) is
        skipped: one such value would otherwise make every later sum NaN.
        """
        values = np.asarray(errors)
        values = values.astype(np.float64) if values.dtype.kind in "fiub" else to_numeric(
            values.astype(object).ravel()
        )
        values = values[np.isfinite(values)]
        drift_detected = False
        peak = self._statistic if values.size == 0 else 0.0
        while values.size:
            positions = self._count + np.arange(1, values.size + 1)
            running_sum = self._sum + np.cumsum(values)
            deviation_sum = self._deviation_sum + np.cumsum(
                values - running_sum / positions - self.delta
            )
            running_min = np.minimum(self._minimum, np.minimum.accumulate(deviation_sum))
            excess = deviation_sum - running_min
            alarms = np.flatnonzero((excess > self.threshold) & (positions >= self.min_samples))
            if alarms.size == 0:
                self._count = int(positions[-1])
                self._sum = float(running_sum[-1])
                self._deviation_sum = float(deviation_sum[-1])
                self._minimum = float(running_min[-1])
                self._statistic = float(excess[-1])
                peak = max(peak, float(excess.max()))
                self._samples += values.size
                break
            used = int(alarms[0]) + 1
            peak = max(peak, float(excess[:used].max()))
            self._samples += used
            self._drifts_total += 1
            self._last_drift_at = self._samples - 1
            drift_detected = True
            self._restart()
            values = values[used:]
        self._state = self._snapshot(drift_detected, peak)
        return self._state

    def _restart(self) -> None:
        self._count = 0
        self._sum = 0.0
        self._deviation_sum = 0.0
        self._minimum = 0.0
        self._statistic = 0.0

    def _snapshot(self, drift_detected: bool, statistic: float) -> ConceptDriftState:
        return ConceptDriftState(
            samples=self._samples,
            samples_since_drift=self._count,
            mean_error=self._sum / self._count if self._count else None,
            statistic=statistic,
            normalised=statistic / self.threshold,
            drift_detected=drift_detected,
            drifts_total=self._drifts_total,
            last_drift_at=self._last_drift_at,
        )
