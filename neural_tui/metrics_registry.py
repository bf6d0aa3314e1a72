"""The old module's in-process Prometheus metrics: `MetricsRegistry` and `PrometheusExporter`.

A model server that counted its own predictions with the old module keeps doing so: the same
method names and arguments, the same metric names and labels as the headless exporter (see the
README's metric table), on prometheus-client. Each registry has a `CollectorRegistry` of its
own, never the process-wide one unless passed in, so two monitors in one process never clash.

Methods, as the old module named them (`model`, `version` label every series but the last):

- `record_prediction(model, version, latency_seconds)`: `neural_predictions_total` + 1, and
  `neural_prediction_latency_seconds` observes the latency when it is above 0 (0, the old
  default, means "not measured").
- `update_performance_metrics(model, version, accuracy, precision, recall, f1)`:
  `neural_model_accuracy`, `neural_model_precision`, `neural_model_recall`, `neural_model_f1`
  (each only when given).
- `update_drift_metrics(model, version, drift_scores)`: `neural_drift_score{drift_type}`; a
  score of None (a kind not computed) is left as it was.
- `update_quality_metrics(model, version, quality_score, missing_rate, outlier_rate)`:
  `neural_data_quality_score`, `neural_missing_values_rate`, `neural_outlier_rate`.
- `record_error(model, version, error_type)`: `neural_errors_total{error_type}` + 1.
- `set_active_models(count)`: `neural_active_models`.
- `get_metrics()`: the exposition text, as bytes.

Every exported number is finite and the series are bounded: a bad value is a `ValueError`
naming the argument; past `MAX_MODELS` (model, version) pairs or `MAX_DRIFT_TYPES` drift types a
new one is refused, and past `MAX_ERROR_TYPES` error types of a model the others count as
`other`, as the runtime counts them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from neural_tui.config import DEFAULT_LATENCY_BUCKETS_MS
from neural_tui.decode import MAX_LATENCY_MS
from neural_tui.metrics_server import DEFAULT_HOST, MetricsServer
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.runtime.state import OTHER_ERROR_TYPE

DEFAULT_LATENCY_BUCKETS_SECONDS: tuple[float, ...] = tuple(
    bound / 1000.0 for bound in DEFAULT_LATENCY_BUCKETS_MS)
"""The headless exporter's default bounds, so dashboards and SLO rules read both alike."""
MAX_MODELS = 100
MAX_DRIFT_TYPES = 16
MAX_ERROR_TYPES = 50
MAX_LABEL_LENGTH = 256
MODEL_LABELS = ("model", "version")


class MetricsRegistry:
    """The old metric names on a registry of its own; thread-safe.

    `metrics` holds the prometheus-client metrics under the old module's keys
    (`predictions_total`, `prediction_latency`, `model_accuracy`, ..., `active_models`).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        latency_buckets_seconds: Sequence[float] = DEFAULT_LATENCY_BUCKETS_SECONDS,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._lock = threading.Lock()
        self._models: set[tuple[str, str]] = set()
        self._drift_types: dict[tuple[str, str], set[str]] = {}
        self._error_types: dict[tuple[str, str], set[str]] = {}

        def gauge(name: str, documentation: str, labels: Sequence[str] = MODEL_LABELS) -> Gauge:
            return Gauge(name, documentation, labels, registry=self.registry)

        self.metrics: dict[str, Any] = {
            "predictions_total": Counter(
                "neural_predictions_total", "Predictions recorded.", MODEL_LABELS,
                registry=self.registry),
            "prediction_latency": Histogram(
                "neural_prediction_latency_seconds", "Prediction latency.", MODEL_LABELS,
                buckets=_buckets(latency_buckets_seconds), registry=self.registry),
            "model_accuracy": gauge("neural_model_accuracy", "Model accuracy."),
            "model_precision": gauge("neural_model_precision", "Model precision."),
            "model_recall": gauge("neural_model_recall", "Model recall."),
            "model_f1": gauge("neural_model_f1", "Model F1 score."),
            "drift_score": gauge("neural_drift_score", "Model drift score, by kind.",
                                 (*MODEL_LABELS, "drift_type")),
            "data_quality_score": gauge("neural_data_quality_score", "Data quality score."),
            "missing_values_rate": gauge("neural_missing_values_rate", "Missing values rate."),
            "outlier_rate": gauge("neural_outlier_rate", "Outlier rate."),
            "errors_total": Counter(
                "neural_errors_total", "Failed requests, by error type.",
                (*MODEL_LABELS, "error_type"), registry=self.registry),
            "active_models": Gauge("neural_active_models", "Models being served.",
                                   registry=self.registry),
        }

    def record_prediction(
        self, model: str = "default", version: str = "1.0", latency_seconds: float = 0.0
    ) -> None:
        seconds = _number("latency_seconds", latency_seconds, 0.0, MAX_LATENCY_MS / 1000.0)
        labels = self._model(model, version)
        self.metrics["predictions_total"].labels(*labels).inc()
        if seconds > 0:
            self.metrics["prediction_latency"].labels(*labels).observe(seconds)

    def update_performance_metrics(
        self,
        model: str,
        version: str,
        accuracy: float | None = None,
        precision: float | None = None,
        recall: float | None = None,
        f1: float | None = None,
    ) -> None:
        given = {key: _number(key, value, 0.0, 1.0) for key, value in (
            ("accuracy", accuracy), ("precision", precision), ("recall", recall), ("f1", f1))
            if value is not None}
        labels = self._model(model, version)
        for key, value in given.items():
            self.metrics[f"model_{key}"].labels(*labels).set(value)

    def update_drift_metrics(
        self, model: str, version: str, drift_scores: Mapping[str, float]
    ) -> None:
        scores = {_label("drift_type", kind): _number(f"drift_scores[{kind!r}]", value)
                  for kind, value in drift_scores.items() if value is not None}
        labels = self._model(model, version)
        with self._lock:
            known = self._drift_types.setdefault(labels, set())
            new = scores.keys() - known
            if len(known) + len(new) > MAX_DRIFT_TYPES:
                raise ValueError(f"more than {MAX_DRIFT_TYPES} drift types for model "
                                 f"{labels[0]!r} version {labels[1]!r}")
            known |= new
        for kind, value in scores.items():
            self.metrics["drift_score"].labels(*labels, kind).set(value)

    def update_quality_metrics(
        self,
        model: str,
        version: str,
        quality_score: float,
        missing_rate: float = 0.0,
        outlier_rate: float = 0.0,
    ) -> None:
        values = {key: _number(key, value, 0.0, 1.0) for key, value in (
            ("data_quality_score", quality_score), ("missing_values_rate", missing_rate),
            ("outlier_rate", outlier_rate))}
        labels = self._model(model, version)
        for key, value in values.items():
            self.metrics[key].labels(*labels).set(value)

    def record_error(self, model: str, version: str, error_type: str) -> None:
        error_type = _label("error_type", error_type)
        labels = self._model(model, version)
        with self._lock:
            known = self._error_types.setdefault(labels, set())
            if error_type not in known:
                if len(known) >= MAX_ERROR_TYPES:
                    error_type = OTHER_ERROR_TYPE
                known.add(error_type)
        self.metrics["errors_total"].labels(*labels, error_type).inc()

    def set_active_models(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an int >= 0, got {count!r}")
        self.metrics["active_models"].set(count)

    def get_metrics(self) -> bytes:
        """The exposition text of every metric, as Prometheus scrapes it."""
        return generate_latest(self.registry)

    def _model(self, model: str, version: str) -> tuple[str, str]:
        labels = (_label("model", model), _label("version", version))
        with self._lock:
            if labels not in self._models:
                if len(self._models) >= MAX_MODELS:
                    raise ValueError(f"more than {MAX_MODELS} (model, version) pairs")
                self._models.add(labels)
        return labels


class PrometheusExporter:
    """The registry served over HTTP (`/metrics`, `/healthz`) by the headless exporter's
    server, from daemon threads, on `host` (127.0.0.1 unless asked) until `stop()`.

    `port=0` asks for a free port; `port` then says which one was bound.
    """

    def __init__(
        self,
        port: int = 9090,
        registry: MetricsRegistry | None = None,
        *,
        host: str = DEFAULT_HOST,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in [0, 65535], got {port!r}")
        self.registry = registry if registry is not None else MetricsRegistry()
        self.host = host
        self._requested_port = port
        self._clock = clock
        self.server: MetricsServer | None = None

    @property
    def port(self) -> int:
        """The port bound while serving, else the port asked for."""
        return self.server.port if self.server is not None else self._requested_port

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("PrometheusExporter is not serving: call start_server()")
        return self.server.url

    def start_server(self) -> None:
        """Serve until `stop()`; raises `MetricsServerBindError` (an OSError) naming the
        address when it cannot bind."""
        if self.server is not None:
            raise RuntimeError("PrometheusExporter is already serving")
        server = MetricsServer(lambda: Snapshot.empty(self._clock()), host=self.host,
                               port=self._requested_port, registry=self.registry.registry)
        server.start()
        self.server = server

    def stop(self) -> None:
        """Stop serving; the port is free on return."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def get_metrics_text(self) -> str:
        return self.registry.get_metrics().decode("utf-8")

    def create_flask_endpoint(self) -> Callable[[], tuple[bytes, int, dict[str, str]]]:
        """A view function for a web framework's route: (body, status, headers)."""

        def metrics_endpoint() -> tuple[bytes, int, dict[str, str]]:
            return self.registry.get_metrics(), 200, {"Content-Type": CONTENT_TYPE_LATEST}

        return metrics_endpoint

    def __enter__(self) -> PrometheusExporter:
        self.start_server()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _label(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_LABEL_LENGTH:
        raise ValueError(f"{name} must be a non-empty str of at most {MAX_LABEL_LENGTH} "
                         f"characters, got {_short(value)}")
    return value


def _number(name: str, value: Any, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {_short(value)}")
    number = float(value) if -1e308 < value < 1e308 else math.inf
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{name} must be a finite number in [{low:g}, {high:g}], "
                         f"got {_short(value)}")
    return number


def _buckets(bounds: Sequence[float]) -> tuple[float, ...]:
    checked = sorted({_number("latency bucket", b, 0.0, MAX_LATENCY_MS / 1000.0) for b in bounds})
    if not checked or checked[0] <= 0:
        raise ValueError("latency_buckets_seconds must hold numbers > 0")
    return tuple(checked)


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for text
        return f"an int of about {value.bit_length() * 0.30103:.0f} digits"
    return text if len(text) <= 60 else f"{text[:57]}..."
