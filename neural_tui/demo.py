"""Built-in demo traffic: three synthetic models that write to storage through `ModelLogger`.

`neural-tui --demo` and `make demo` run this beside the console so that every panel has
something real to show: a fraud classifier with probabilities, a churn classifier without,
and a price regressor. Traffic has numeric (normal, lognormal, counts) and categorical
features, a few missing values, long-tailed latency with rare spikes, ~1 % failed requests,
and labels that arrive a few seconds late for most but not all predictions. Labels come from
a hidden "true" relationship close to what each model learned, so accuracy is meaningful.

After `drift_after` seconds one model (by default `fraud-detector`) drifts: a numeric
feature's mean moves, the category mix changes, errors and latency rise, and the true
relationship moves away from the model's, so its accuracy drops.

`generate()` is the pure part (a seed in, requests out); `DemoTraffic` writes what it
generates from a daemon thread, so it never blocks an event loop. The thread works in ticks:
each tick generates the requests that arrived since the last one and the labels that came
due, stamps each with its own simulated time, and flushes, so the files stay a tick behind.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neural_tui.producer import ModelLogger

_log = logging.getLogger(__name__)

MODEL_VERSIONS: dict[str, str] = {
    "fraud-detector": "2.3.0",
    "churn-model": "1.4.2",
    "price-regressor": "0.9.1",
}
"""The demo's models and their versions."""

MAX_CATCH_UP_SECONDS = 60.0
"""After a long pause (a suspended laptop), only this much missed traffic is generated."""

ERROR_TYPES = ("timeout", "model_error", "invalid_input")


@dataclass(frozen=True, slots=True)
class DemoRequest:
    """One request to a demo model, with what its late label will say.

    A failed request (`error` set) has no prediction and no label; it is logged with
    `ModelLogger.record_error`, which gives it a fresh id.
    """

    timestamp: float
    prediction_id: str
    input_features: dict[str, Any]
    prediction: Any
    prediction_proba: dict[str, float] | None
    latency_ms: float
    metadata: dict[str, Any]
    error: str | None
    ground_truth: Any
    label_delay: float | None
    """Seconds until the label arrives; None when it never does."""


@dataclass(frozen=True, slots=True)
class _Regime:
    """How one model's traffic behaves, before or after its drift."""

    median_latency_ms: float
    spike_rate: float
    error_rate: float
    label_rate: float


_CALM = {
    "fraud-detector": _Regime(12.0, 0.005, 0.01, 0.85),
    "churn-model": _Regime(25.0, 0.005, 0.01, 0.70),
    "price-regressor": _Regime(40.0, 0.005, 0.01, 0.90),
}
_DRIFTED = {
    "fraud-detector": _Regime(30.0, 0.03, 0.06, 0.85),
    "churn-model": _Regime(60.0, 0.03, 0.06, 0.70),
    "price-regressor": _Regime(100.0, 0.03, 0.06, 0.90),
}


def generate(
    model: str, start: float, end: float, *, rate: float, drifted: bool, seed: int
) -> tuple[DemoRequest, ...]:
    """The requests `model` receives in `[start, end)` at `rate` per second, in time order.

    Deterministic: the same arguments always give the same requests.
    """
    if model not in MODEL_VERSIONS:
        raise ValueError(f"unknown demo model {model!r}; known: {', '.join(MODEL_VERSIONS)}")
    rng = np.random.default_rng(seed)
    count = int(rng.poisson(rate * max(end - start, 0.0)))
    timestamps = np.sort(rng.uniform(start, end, count))
    regime = (_DRIFTED if drifted else _CALM)[model]
    features, predictions, probas, truths = _MODELS[model](rng, count, drifted)
    latency = rng.lognormal(np.log(regime.median_latency_ms), 0.45, count)
    spikes = rng.random(count) < regime.spike_rate
    latency[spikes] += rng.uniform(250.0, 2500.0, int(spikes.sum()))
    failed = rng.random(count) < regime.error_rate
    error_types = rng.choice(ERROR_TYPES, count, p=[0.5, 0.3, 0.2])
    latency[failed & (error_types == "timeout")] = 5000.0
    labelled = rng.random(count) < regime.label_rate
    delays = rng.lognormal(np.log(3.0), 0.5, count)
    ids = rng.integers(0, 1 << 60, count)
    replicas = rng.integers(1, 4, count)
    prefix = model.split("-")[0]
    return tuple(
        DemoRequest(
            timestamp=timestamp,
            prediction_id=f"{prefix}-{request_id:015x}",
            input_features=feature_row,
            prediction=None if is_failed else prediction,
            prediction_proba=None if is_failed else proba,
            latency_ms=round(latency_ms, 3),
            metadata={"replica": f"{model}-{replica}"},
            error=str(error_type) if is_failed else None,
            ground_truth=None if is_failed else truth,
            label_delay=delay if is_labelled and not is_failed else None,
        )
        for timestamp, request_id, feature_row, prediction, proba, truth, latency_ms, replica,
        is_failed, error_type, is_labelled, delay in zip(
            timestamps.tolist(), ids.tolist(), features, predictions, probas, truths,
            latency.tolist(), replicas.tolist(), failed.tolist(), error_types.tolist(),
            labelled.tolist(), delays.tolist(), strict=True,
        )
    )  # fmt: skip


_ModelOutput = tuple[list[dict[str, Any]], list[Any], list[dict[str, float] | None], list[Any]]


def _fraud(rng: np.random.Generator, count: int, drifted: bool) -> _ModelOutput:
    """Card payments. Drift: bigger amounts, newer accounts, more tablets and BR/IN traffic."""
    countries = np.array(["US", "GB", "DE", "FR", "BR", "IN"])
    country_mix = [0.2, 0.1, 0.1, 0.05, 0.3, 0.25] if drifted else [0.4, 0.2, 0.15, 0.1, 0.08, 0.07]
    devices = np.array(["mobile", "desktop", "tablet"])
    device_mix = [0.4, 0.2, 0.4] if drifted else [0.55, 0.35, 0.10]
    amount = rng.lognormal(4.4 if drifted else 3.6, 1.0, count)
    account_age = np.clip(rng.normal(150.0 if drifted else 420.0, 200.0, count), 0, None).round()
    transactions = rng.poisson(6.0 if drifted else 3.0, count)
    hour = rng.integers(0, 24, count)
    country = rng.choice(len(countries), count, p=country_mix)
    device = rng.choice(len(devices), count, p=device_mix)
    age_missing = rng.random(count) < 0.01
    country_risk = np.array([0.0, 0.0, -0.2, 0.0, 0.9, 0.7])[country]
    device_risk = np.array([0.2, -0.2, 0.0])[device]
    known_age = np.where(age_missing, 420.0, account_age)
    logit = (
        -1.2
        + 0.9 * (np.log(amount) - 3.6)
        - 0.003 * (known_age - 420.0)
        + 0.25 * (transactions - 3.0)
        + country_risk
        + device_risk
    )
    proba = 1.0 / (1.0 + np.exp(-logit))
    true_logit = 2.0 * logit
    if drifted:
        # Fraud moved to tablets; big amounts and BR/IN are now mostly honest new customers.
        true_logit += 2.5 * (device == 2) - 2.0 * country_risk - 1.8 * (np.log(amount) - 3.6) - 2.0
    truth = rng.random(count) < 1.0 / (1.0 + np.exp(-true_logit))
    features = [
        {
            "amount": round(a, 2),
            "account_age_days": None if missing else int(age),
            "transactions_24h": int(tx),
            "hour": int(h),
            "country": str(countries[c]),
            "device": str(devices[d]),
        }
        for a, age, missing, tx, h, c, d in zip(
            amount.tolist(), account_age.tolist(), age_missing.tolist(), transactions.tolist(),
            hour.tolist(), country.tolist(), device.tolist(), strict=True,
        )
    ]  # fmt: skip
    probas: list[dict[str, float] | None] = [
        {"0": round(1.0 - p, 6), "1": round(p, 6)} for p in proba.tolist()
    ]
    return features, (proba >= 0.5).astype(int).tolist(), probas, truth.astype(int).tolist()


def _churn(rng: np.random.Generator, count: int, drifted: bool) -> _ModelOutput:
    """Subscribers. Drift: higher charges, shorter tenure, a shift from annual to monthly."""
    plans = np.array(["basic", "standard", "premium"])
    contracts = np.array(["monthly", "annual", "two_year"])
    contract_mix = [0.8, 0.15, 0.05] if drifted else [0.55, 0.3, 0.15]
    regions = np.array(["north", "south", "east", "west"])
    tenure = rng.gamma(2.0, 6.0 if drifted else 12.0, count).round(1)
    charges = np.clip(rng.normal(95.0 if drifted else 70.0, 20.0, count), 10.0, None).round(2)
    tickets = rng.poisson(1.2, count)
    plan = rng.choice(len(plans), count, p=[0.5, 0.35, 0.15])
    contract = rng.choice(len(contracts), count, p=contract_mix)
    region = rng.integers(0, len(regions), count)
    charges_missing = rng.random(count) < 0.005
    logit = (
        0.5
        - 0.06 * tenure
        + 0.02 * (charges - 70.0)
        + 0.5 * (tickets - 1.2)
        + np.array([0.8, -0.6, -1.5])[contract]
        + np.array([0.2, 0.0, -0.3])[plan]
    )
    true_logit = 1.5 * logit - (2.5 if drifted else 0.0)
    truth = rng.random(count) < 1.0 / (1.0 + np.exp(-true_logit))
    features = [
        {
            "tenure_months": t,
            "monthly_charges": None if missing else ch,
            "support_tickets": int(k),
            "plan": str(plans[p]),
            "contract": str(contracts[c]),
            "region": str(regions[r]),
        }
        for t, ch, missing, k, p, c, r in zip(
            tenure.tolist(), charges.tolist(), charges_missing.tolist(), tickets.tolist(),
            plan.tolist(), contract.tolist(), region.tolist(), strict=True,
        )
    ]  # fmt: skip
    return features, (logit >= 0.0).astype(int).tolist(), [None] * count, truth.astype(int).tolist()


def _price(rng: np.random.Generator, count: int, drifted: bool) -> _ModelOutput:
    """House prices in thousands. Drift: bigger houses, more waterfront, a market 30 % up."""
    neighborhoods = np.array(["downtown", "suburb", "rural", "waterfront"])
    neighborhood_mix = [0.3, 0.3, 0.1, 0.3] if drifted else [0.3, 0.45, 0.2, 0.05]
    sqft = rng.lognormal(np.log(2100.0 if drifted else 1500.0), 0.35, count).round()
    bedrooms = np.clip(rng.poisson(3.0, count), 1, 6)
    age = np.clip(rng.normal(30.0, 15.0, count), 0.0, None).round(1)
    neighborhood = rng.choice(len(neighborhoods), count, p=neighborhood_mix)
    garage = rng.random(count) < 0.6
    age_missing = rng.random(count) < 0.01
    known_age = np.where(age_missing, 30.0, age)
    price = (
        50.0
        + 0.18 * sqft
        + 15.0 * bedrooms
        - 1.2 * known_age
        + np.array([120.0, 40.0, -30.0, 250.0])[neighborhood]
        + 25.0 * garage
    )
    true_price = price * (1.3 if drifted else 1.0) + rng.normal(0.0, 25.0, count)
    features = [
        {
            "sqft": s,
            "bedrooms": int(b),
            "age_years": None if missing else a,
            "neighborhood": str(neighborhoods[n]),
            "has_garage": g,
        }
        for s, b, a, missing, n, g in zip(
            sqft.tolist(), bedrooms.tolist(), age.tolist(), age_missing.tolist(),
            neighborhood.tolist(), garage.tolist(), strict=True,
        )
    ]  # fmt: skip
    return features, price.round(2).tolist(), [None] * count, true_price.round(2).tolist()


_MODELS: dict[str, Callable[[np.random.Generator, int, bool], _ModelOutput]] = {
    "fraud-detector": _fraud,
    "churn-model": _churn,
    "price-regressor": _price,
}


class DemoTraffic:
    """Synthetic traffic for the demo models, written into `storage` from a daemon thread.

    `start()` runs it; `stop()` ends the thread and flushes and closes the writers. `step()`
    does one tick by hand (tests drive it with a fake `clock` instead of starting the thread).
    The same `seed` and the same sequence of clock readings give the same records, except the
    ids of failed requests, which `record_error` draws itself.
    """

    def __init__(
        self,
        storage: Path,
        *,
        rate_per_model: float = 20.0,
        drift_after: float = 60.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        drifting_model: str = "fraud-detector",
        tick: float = 0.25,
    ) -> None:
        if drifting_model not in MODEL_VERSIONS:
            raise ValueError(f"unknown demo model {drifting_model!r}")
        if rate_per_model <= 0 or tick <= 0:
            raise ValueError("rate_per_model and tick must be > 0")
        self.storage = storage
        self.rate_per_model = rate_per_model
        self.drift_after = drift_after
        self.drifting_model = drifting_model
        self._tick = tick
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self._record_time = 0.0
        self._monitors = {
            name: ModelLogger(name, version, storage, clock=self._stamp)
            for name, version in MODEL_VERSIONS.items()
        }
        self._pending_labels: list[tuple[float, str, str, Any]] = []
        self._started_at: float | None = None
        self._generated_until = 0.0
        self._step_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neural-tui-demo", daemon=True)

    @property
    def drift_at(self) -> float | None:
        """Clock time at which the drift starts (None before the first step)."""
        return None if self._started_at is None else self._started_at + self.drift_after

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the thread (if started), then flush and close every writer."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for monitor in self._monitors.values():
            monitor.close()

    def step(self) -> None:
        """Write the traffic that arrived since the last step and the labels now due.

        The first step only starts the clock.
        """
        with self._step_lock:
            now = self._clock()
            if self._started_at is None:
                self._started_at = self._generated_until = now
                return
            start = max(self._generated_until, now - MAX_CATCH_UP_SECONDS)
            self._generated_until = max(now, self._generated_until)
            for model, monitor in self._monitors.items():
                for begin, end, drifted in self._segments(model, start, now):
                    seed = int(self._rng.integers(0, 1 << 62))
                    requests = generate(
                        model, begin, end, rate=self.rate_per_model, drifted=drifted, seed=seed
                    )
                    self._write(model, monitor, requests)
            self._write_due_labels(now)
            for monitor in self._monitors.values():
                monitor.flush()

    def _segments(self, model: str, start: float, end: float) -> list[tuple[float, float, bool]]:
        """`[start, end)` cut where the drift begins, each piece with its regime."""
        drift_at = self.drift_at
        if model != self.drifting_model or drift_at is None or end <= drift_at:
            return [(start, end, False)] if end > start else []
        if start >= drift_at:
            return [(start, end, True)]
        return [(start, drift_at, False), (drift_at, end, True)]

    def _write(self, model: str, monitor: ModelLogger, requests: tuple[DemoRequest, ...]) -> None:
        for request in requests:
            self._record_time = request.timestamp
            if request.error is not None:
                monitor.record_error(request.error, latency_ms=request.latency_ms)
                continue
            monitor.log_prediction(
                request.prediction_id,
                request.input_features,
                request.prediction,
                prediction_proba=request.prediction_proba,
                latency_ms=request.latency_ms,
                metadata=request.metadata,
            )
            if request.label_delay is not None:
                due = request.timestamp + request.label_delay
                label = (due, model, request.prediction_id, request.ground_truth)
                heapq.heappush(self._pending_labels, label)

    def _write_due_labels(self, now: float) -> None:
        while self._pending_labels and self._pending_labels[0][0] <= now:
            due, model, prediction_id, truth = heapq.heappop(self._pending_labels)
            self._record_time = due
            self._monitors[model].log_ground_truth(prediction_id, truth)

    def _stamp(self) -> float:
        """The writers' clock: each record carries its own simulated arrival time."""
        return self._record_time

    def _run(self) -> None:
        try:
            self.step()
            while not self._stop.wait(self._tick):
                self.step()
        except Exception:
            _log.exception("demo traffic stopped")
