"""`ModelMonitor`: the old module's face that model servers call, over neural-tui's engines.

Code written for `neural.monitoring.ModelMonitor` runs after a one-line import change. Each
method keeps its old name, signature and result keys; every figure comes from the engines
(`engines/drift.py`, `engines/quality.py`, `engines/performance.py`, `engines/concept.py`),
the SLO tracker (`slo_tracker.py`) and the alert manager (`alert_manager.py`), never from a
statistic of its own. What the old keys now hold is in `monitor_results.py`.

- Records go to `<storage>/predictions/*.jsonl` through a `ModelLogger` (`producer.py`), so
  `neural-tui` and its exporter read what the server logs; `prediction_logger` is it.
- `enable_slo_tracking` tracks `default_slos()` (the old module's four defaults) on an
  `SLOTracker`: each logged prediction is one event of availability and error rate (and of
  latency when `latency_ms` > 0, and of accuracy when it and its `ground_truth` are classes:
  a str, a bool, an int or an integral float), each
  `record_error` a failed one. A minute's events are tallied in memory and handed to the
  tracker when the minute turns or `slo_tracker` is read. `update_performance_metrics` no
  longer counts an accuracy figure as one event.
- `enable_alerting` makes an `AlertManager` whose channels come from `alert_config`
  (`slack_webhook`, `email_config`, `webhook_url`; any other key is refused) beside its log
  file `<storage>/alerts/alerts.jsonl`, with the old module's four default rules;
  `enable_alerting=False` sends nothing.
- `enable_prometheus` allows `start_prometheus_server`, which serves neural-tui's own exporter
  over this storage (runtime, engines and `/metrics` with the `neural_*` names, in a daemon
  thread), bound to 127.0.0.1 unless told otherwise.
- In memory, bounded: the newest `RECENT_ROWS` latencies and labelled predictions (a
  prediction or label that is not a number, a bool or a short string is left out of the
  in-process figures; the storage keeps it whole), the newest `HISTORY_CHECKS` drift and
  quality results, and the labelled errors not yet fed to the concept detector.

Importing this module stays cheap (no numpy, no engine): they load at first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from neural_tui.monitor_data import (
    DEFAULT_MAX_FEATURES,
    MAX_FEATURES_LIMIT,
    feature_columns,
    figures,
    one_per_row,
)
from neural_tui.monitor_results import DriftMetrics, QualityReport, json_safe
from neural_tui.producer import DEFAULT_STORAGE, MiB, ModelLogger, storage_root

if TYPE_CHECKING:
    import numpy as np

    from neural_tui.alert_manager import AlertManager, AlertSeverity
    from neural_tui.config import Settings
    from neural_tui.engines.concept import ConceptDriftState, PageHinkley
    from neural_tui.engines.drift import ReferenceProfile
    from neural_tui.engines.performance import PerformanceReport, PredictionProfile
    from neural_tui.engines.quality import QualityReference
    from neural_tui.metrics_server import MetricsServer
    from neural_tui.runtime.pipeline import Runtime
    from neural_tui.slo_tracker import SLO, SLOTracker

__all__ = ["DriftMetrics", "ModelMonitor", "QualityReport"]

log = logging.getLogger(__name__)

ALERT_CONFIG_KEYS = ("slack_webhook", "email_config", "webhook_url")
RECENT_ROWS = 1000
"""Latencies and labelled predictions kept for the in-process figures (the old window)."""
HISTORY_CHECKS = 100
"""Drift and quality results kept for the summaries (the old module's window)."""
PENDING_ERRORS = 100_000
"""Labelled errors waiting for the concept detector; it is fed when this many wait."""
MAX_LABEL_CHARS = 256
"""A string prediction or label longer than this is left out of the in-process figures."""
DRIFT_RATE_WARNING = 0.2
QUALITY_HEALTHY_RATE_WARNING = 0.9
ERROR_RATE_CRITICAL = 0.05
ERROR_RATE_WARNING = 0.01
"""The old module's health thresholds (the error rate's critical one is `[health]`'s)."""
STOP_TIMEOUT_SECONDS = 5.0
AVAILABILITY_SLO = "model_availability"
LATENCY_SLO = "prediction_latency_p95"
ACCURACY_SLO = "model_accuracy"
ERROR_RATE_SLO = "error_rate"
"""The default SLOs' names (as the tracker's `create_*` name them)."""
MINUTE_SECONDS = 60


class ModelMonitor:
    """Production monitoring of one model, with the old module's API (see the module doc).

    The old arguments come first, in their order; today's writer options (`sample_rate`,
    `flush_interval`, `batch_size`, `max_file_bytes`, `max_buffered_records`, `clock`) and
    `max_features` (the most features a `data` argument may have) are keyword-only.
    """

    def __init__(
        self,
        model_name: str = "default",
        model_version: str = "1.0",
        model_id: str | None = None,
        storage_path: str | os.PathLike[str] | None = None,
        enable_prometheus: bool = True,
        enable_alerting: bool = True,
        enable_slo_tracking: bool = True,
        alert_config: Mapping[str, Any] | None = None,
        *,
        sample_rate: float = 1.0,
        flush_interval: float = 5.0,
        batch_size: int = 1000,
        max_file_bytes: int = 64 * MiB,
        max_buffered_records: int = 100_000,
        max_features: int = DEFAULT_MAX_FEATURES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if model_id is not None and (not isinstance(model_id, str) or not model_id):
            raise TypeError(f"model_id must be a non-empty str, got {model_id!r}")
        if isinstance(max_features, bool) or not isinstance(max_features, int) or not (
            1 <= max_features <= MAX_FEATURES_LIMIT
        ):
            raise ValueError(f"max_features must be between 1 and {MAX_FEATURES_LIMIT}, got "
                             f"{max_features!r}")
        alert_config = _checked_alert_config(alert_config)
        root = storage_root(DEFAULT_STORAGE if storage_path is None else storage_path)
        self.alert_manager: AlertManager | None = None
        if enable_alerting:
            self.alert_manager = _alert_manager(alert_config, root / "alerts")
        self._slo_tracker: SLOTracker | None = None
        self.slos: tuple[SLO, ...] = ()
        if enable_slo_tracking:
            self._slo_tracker, self.slos = _slo_tracker(clock)
        self._tally = _SLOTally(self.slos)
        self.prediction_logger = ModelLogger(
            model_name, model_version, root,
            sample_rate=sample_rate, flush_interval=flush_interval, batch_size=batch_size,
            max_file_bytes=max_file_bytes, max_buffered_records=max_buffered_records,
            clock=clock,
        )
        self.model_name = model_name
        self.model_version = model_version
        self.model_id = model_id or model_name
        self.storage_path = self.prediction_logger.storage_path
        self.enable_prometheus = bool(enable_prometheus)
        self.max_features = max_features
        self.clock = clock
        self.start_time = clock()
        self.total_predictions = 0
        self.total_errors = 0
        self.errors_by_type: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._latencies: deque[float] = deque(maxlen=RECENT_ROWS)
        self._labelled: deque[tuple[Any, Any]] = deque(maxlen=RECENT_ROWS)
        self._pending_errors: list[float] = []
        self._drift_history: deque[DriftMetrics] = deque(maxlen=HISTORY_CHECKS)
        self._quality_history: deque[QualityReport] = deque(maxlen=HISTORY_CHECKS)
        self._reference_columns: tuple[str, ...] | None = None
        """The columns of an array reference, which name an array's columns after it."""
        self._drift_reference: ReferenceProfile | None = None
        self._quality_reference: QualityReference | None = None
        self._prediction_profile: PredictionProfile | None = None
        self._reference_figures: dict[str, float] = {}
        self._current_figures: dict[str, float] = {}
        self._concept: PageHinkley | None = None
        self._anomalies: dict[str, Any] | None = None
        self._exporter: _Exporter | None = None

    # -- writing --------------------------------------------------------------------------

    def log_prediction(
        self,
        prediction_id: str | int,
        input_features: Mapping[str, Any],
        prediction: Any,
        prediction_proba: Mapping[str, Any] | None = None,
        ground_truth: Any = None,
        latency_ms: float = 0.0,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Write one prediction (see `PredictionLogger.log_prediction`) and count it: the
        totals, the SLO events, the latency and the labelled pair kept in memory."""
        self.prediction_logger.log_prediction(
            prediction_id, input_features, prediction, prediction_proba, ground_truth,
            latency_ms, metadata,
        )
        latency = float(latency_ms)
        timed = 0 < latency < math.inf
        labelled = ground_truth is not None and _small(prediction) and _small(ground_truth)
        classes = labelled and _is_class(prediction) and _is_class(ground_truth)
        correct = classes and _correct(prediction, ground_truth)
        turned = None
        with self._lock:
            self.total_predictions += 1
            if timed:
                self._latencies.append(latency)
            if labelled:
                self._labelled.append((prediction, ground_truth))
            if classes:
                self._pending_errors.append(0.0 if correct else 1.0)
                full = len(self._pending_errors) >= PENDING_ERRORS
            if self._slo_tracker is not None:
                turned = self._tally.served(self.clock(), latency if timed else None,
                                            correct if classes else None)
        if classes and full:
            self._concept_state()
        if turned is not None:
            self._hand_over(turned)

    def log_ground_truth(self, prediction_id: str | int, ground_truth: Any) -> None:
        """Write the late label of an earlier prediction (the runtime joins it; the in-process
        figures, which do not keep predictions by id, do not)."""
        self.prediction_logger.log_ground_truth(prediction_id, ground_truth)

    def record_error(self, error_type: str = "unknown", *, latency_ms: float | None = None) -> None:
        """Write a failed request (a record with `error`) and count it: one bad event of
        availability and error rate."""
        self.prediction_logger.record_error(error_type, latency_ms=latency_ms)
        turned = None
        with self._lock:
            self.total_errors += 1
            self.errors_by_type[error_type] += 1
            if self._slo_tracker is not None:
                turned = self._tally.failed(self.clock())
        if turned is not None:
            self._hand_over(turned)

    def flush(self) -> None:
        self.prediction_logger.flush()

    def close(self) -> None:
        """Write what is buffered, stop the exporter and the alert delivery. Idempotent."""
        self.stop_prometheus_server()
        self.prediction_logger.close()
        if self.alert_manager is not None:
            self.alert_manager.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def slo_tracker(self) -> SLOTracker | None:
        """The SLO tracker (None without `enable_slo_tracking`), holding every event so far:
        the events of the current minute, tallied apart, are handed to it first."""
        if self._slo_tracker is not None:
            with self._lock:
                pending = self._tally.take()
            self._hand_over(pending)
        return self._slo_tracker

    @property
    def predictions_dir(self) -> Path:
        return self.prediction_logger.predictions_dir

    @property
    def sample_rate(self) -> float:
        return self.prediction_logger.sample_rate

    @property
    def dropped_records(self) -> int:
        return self.prediction_logger.dropped_records

    @property
    def buffered_records(self) -> int:
        return self.prediction_logger.buffered_records

    # -- the engines ----------------------------------------------------------------------

    def set_reference_data(
        self,
        data: Any,
        predictions: Any = None,
        performance: Mapping[str, float] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        """Profile the reference once for drift, quality and prediction anomalies; the
        `performance` figures are what later ones are compared with."""
        from neural_tui.engines.drift import DriftSettings, build_reference
        from neural_tui.engines.performance import prediction_profile
        from neural_tui.engines.quality import QualitySettings, build_quality_reference

        what = "set_reference_data"
        columns = feature_columns(data, feature_names, what=what, max_features=self.max_features)
        rows = _rows(columns)
        outputs = None if predictions is None else one_per_row(predictions, rows, what=what,
                                                               name="predictions")
        reference_figures = {} if performance is None else figures(performance, what=what)
        drift = build_reference(columns, DriftSettings(), predictions=outputs)
        quality = build_quality_reference(columns, QualitySettings())
        profile = None if outputs is None else prediction_profile(outputs)
        with self._lock:
            self._reference_columns = None if _dicts(data) else tuple(columns)
            self._drift_reference = drift
            self._quality_reference = quality
            self._prediction_profile = profile
            self._reference_figures = reference_figures

    def check_drift(
        self,
        data: Any,
        predictions: Any = None,
        performance: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """Drift of `data` (and `predictions`, `performance`) against the reference, as the
        old dict (`DriftMetrics.to_dict`, with the engine's report under `report`). Without a
        reference, `data` becomes it and nothing drifts (as the old module did)."""
        from neural_tui.engines.drift import detect
        from neural_tui.engines.performance import prediction_anomalies
        from neural_tui.monitor_results import drift_metrics
        from neural_tui.runtime.verdict import ModelAnalysis

        what = "check_drift"
        if self._drift_reference is None:
            self.set_reference_data(data, predictions, performance)
            return DriftMetrics(timestamp=self.clock()).to_dict()
        columns = feature_columns(data, None, what=what, max_features=self.max_features,
                                  reference_names=self._reference_columns)
        rows = _rows(columns)
        outputs = None if predictions is None else one_per_row(predictions, rows, what=what,
                                                               name="predictions")
        given = None if performance is None else figures(performance, what=what)
        concept = self._concept_state()
        reference = self._drift_reference
        report = detect(reference, columns, reference.settings, predictions=outputs,
                        concept=concept)
        with self._lock:
            reference_figures = self._reference_figures
            profile = self._prediction_profile
            if given is not None:
                self._current_figures = given
            current_figures = self._current_figures
        analysis = ModelAnalysis(
            drift=report, concept=concept,
            reference_performance=_given(reference_figures),
            performance_compared=_given(current_figures),
        )
        metrics = drift_metrics(report, analysis, self.clock())
        anomalies = None
        if profile is not None and outputs is not None:
            anomalies = prediction_anomalies(profile, outputs).to_dict()
        with self._lock:
            self._drift_history.append(metrics)
            if anomalies is not None:
                self._anomalies = anomalies
        if metrics.is_drifting:
            self._check_rules({
                "drift_score": metrics.drift_score,
                "prediction_drift": metrics.prediction_drift,
                "performance_drift": metrics.performance_drift,
                "data_distribution_drift": metrics.data_distribution_drift,
                "concept_drift_score": metrics.concept_drift_score,
            })
        return metrics.to_dict()

    def check_data_quality(self, data: Any) -> dict[str, Any]:
        """Quality of `data` against the reference's profile, as the old dict
        (`QualityReport.to_dict`, with the engine's report under `report`). Without a
        reference, the batch is judged against its own profile (missing and invalid values
        count alike; outliers only against its own median and MAD)."""
        from neural_tui.engines.quality import QualitySettings, build_quality_reference, check
        from neural_tui.monitor_results import quality_report

        columns = feature_columns(data, None, what="check_data_quality",
                                  max_features=self.max_features,
                                  reference_names=self._reference_columns)
        settings = QualitySettings()
        reference = self._quality_reference or build_quality_reference(columns, settings)
        result = quality_report(check(reference, columns, settings), columns, self.clock())
        with self._lock:
            self._quality_history.append(result)
        if not result.is_healthy:
            self._check_rules({"quality_score": result.quality_score,
                               "missing_rate": result.missing_rate,
                               "outlier_rate": result.outlier_rate})
        return result.to_dict()

    def update_performance_metrics(self, metrics: Mapping[str, float]) -> None:
        """Keep the model's current figures (accuracy, precision, recall, f1, ...), which
        `get_metrics` reports and the next `check_drift` without figures compares, and check
        the alert rules on them."""
        given = figures(metrics, what="update_performance_metrics")
        with self._lock:
            self._current_figures = given
        if "accuracy" in given:
            self._check_rules(given)

    # -- reading --------------------------------------------------------------------------

    def get_metrics(self) -> dict[str, Any]:
        """The current figures with the old keys (`latency_p99` is in milliseconds, None
        before any latency; `accuracy` is the figure given to `update_performance_metrics`,
        else the labelled predictions', else None), the latest drift and quality keys."""
        with self._lock:
            latencies = list(self._latencies)
            given = dict(self._current_figures)
            drift = self._drift_history[-1] if self._drift_history else None
            quality = self._quality_history[-1] if self._quality_history else None
        percentiles = _percentiles(latencies)
        performance = self._performance()
        accuracy = given.get("accuracy", performance.accuracy if performance else None)
        metrics: dict[str, Any] = {
            **{key: value for key, value in given.items() if key != "accuracy"},
            "accuracy": accuracy,
            "latency_p50_ms": percentiles.get("p50"),
            "latency_p95_ms": percentiles.get("p95"),
            "latency_p99": percentiles.get("p99"),
            "error_rate": self._error_rate(),
            "total_predictions": self.total_predictions,
            "total_errors": self.total_errors,
            "uptime_seconds": self.clock() - self.start_time,
        }
        if drift is not None:
            metrics.update(
                drift_score=drift.drift_score,
                is_drifting=drift.is_drifting,
                drift_severity=drift.drift_severity,
                prediction_drift=drift.prediction_drift,
                performance_drift=drift.performance_drift,
                data_distribution_drift=drift.data_distribution_drift,
                concept_drift_score=drift.concept_drift_score,
            )
        if quality is not None:
            metrics.update(
                quality_score=quality.quality_score,
                is_healthy=quality.is_healthy,
                missing_rate=quality.missing_rate,
                outlier_rate=quality.outlier_rate,
                invalid_rate=quality.invalid_rate,
            )
        return json_safe(metrics)  # type: ignore[no-any-return]

    def get_monitoring_summary(self) -> dict[str, Any]:
        """Totals, the drift and quality summaries of the newest checks, the in-process
        predictions' latency and performance, the SLOs and the alerts of the last 24 hours."""
        summary: dict[str, Any] = {
            "model": {"name": self.model_name, "version": self.model_version,
                      "id": self.model_id},
            "uptime_seconds": self.clock() - self.start_time,
            "total_predictions": self.total_predictions,
            "total_errors": self.total_errors,
            "errors_by_type": dict(self.errors_by_type),
            "error_rate": self._error_rate(),
            "drift": self._drift_summary(),
            "quality": self._quality_summary(),
            "predictions": self._predictions_summary(),
        }
        tracker = self.slo_tracker
        if tracker is not None:
            summary["slos"] = tracker.get_all_slo_status()
        if self.alert_manager is not None:
            summary["alerts"] = self.alert_manager.get_alert_summary(hours=24)
        return json_safe(summary)  # type: ignore[no-any-return]

    def generate_health_report(self) -> dict[str, Any]:
        """`healthy`, `warning` or `critical`, with one line per issue (the old module's
        checks, on the engines' figures)."""
        report: dict[str, Any] = {"timestamp": self.clock(), "model": self.model_name,
                                  "version": self.model_version, "status": "healthy",
                                  "issues": []}

        def flag(status: str, issue: str) -> None:
            order = ("healthy", "warning", "critical")
            if order.index(status) > order.index(report["status"]):
                report["status"] = status
            report["issues"].append(issue)

        for anomaly in self.detect_anomalies():
            flag("critical" if anomaly["severity"] == "critical" else "warning",
                 anomaly["message"])
        error_rate = self._error_rate()
        if ERROR_RATE_WARNING < error_rate <= ERROR_RATE_CRITICAL:
            flag("warning", f"Elevated error rate: {error_rate:.2%}")
        tracker = self.slo_tracker
        if tracker is not None:
            for name, status in tracker.get_all_slo_status().items():
                if status.get("status") == "ok" and status.get("is_meeting") is False:
                    flag("critical", f"SLO breach: {name}")
        if not report["issues"]:
            report["issues"].append("All systems operational")
        return report

    def detect_anomalies(self) -> list[dict[str, Any]]:
        """What looks wrong now: a high drift rate or a low healthy rate among the newest
        checks, a high error rate, the predictions' confidence collapse or class-mix shift
        (performance engine, at the latest `check_drift` with predictions), an SLO burning its
        budget fast (SLO engine's burn-rate alerts)."""
        now = self.clock()
        anomalies: list[dict[str, Any]] = []

        def add(kind: str, severity: str, message: str) -> None:
            anomalies.append({"type": kind, "severity": severity, "message": message,
                              "timestamp": now})

        drift = self._drift_summary()
        if drift["status"] == "ok" and drift["drift_rate"] > DRIFT_RATE_WARNING:
            add("drift", "warning", f"High drift rate: {drift['drift_rate']:.2%}")
        quality = self._quality_summary()
        if quality["status"] == "ok" and quality["healthy_rate"] < QUALITY_HEALTHY_RATE_WARNING:
            add("quality", "warning", f"Low quality rate: {quality['healthy_rate']:.2%}")
        error_rate = self._error_rate()
        if error_rate > ERROR_RATE_CRITICAL:
            add("error_rate", "critical", f"High error rate: {error_rate:.2%}")
        with self._lock:
            predictions = self._anomalies
        if predictions is not None and predictions["confidence_collapse"]:
            add("confidence", "warning", "Prediction confidence collapsed: mean "
                f"{predictions['mean_confidence']:.3f} against "
                f"{predictions['reference_mean_confidence']:.3f}")
        if predictions is not None and predictions["class_mix_shift"]:
            add("prediction_mix", "warning", "Predicted class mix shifted: total variation "
                f"{predictions['class_mix_distance']:.3f}")
        tracker = self.slo_tracker
        for slo in self.slos if tracker is not None else ():
            status = tracker.evaluate(slo.name) if tracker is not None else None
            for alert in status.alerts if status is not None else ():
                add("slo", "critical" if alert.severity == "page" else "warning",
                    f"SLO {slo.name}: {alert.summary}")
        return anomalies

    def send_alert(
        self,
        title: str,
        message: str,
        severity: AlertSeverity | str = "info",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a custom alert to every channel (nothing when alerting is off); returns at
        once, the delivery retries in its own thread."""
        if self.alert_manager is None:
            return
        from neural_tui.alert_manager import Alert, AlertSeverity

        self.alert_manager.send_alert(Alert(
            timestamp=time.time(), severity=AlertSeverity(severity), title=str(title),
            message=str(message), source="custom",
            metadata={"model": self.model_name, **(metadata or {})},
        ))

    def start_prometheus_server(self, port: int = 9090, host: str = "127.0.0.1") -> str:
        """Serve neural-tui's exporter over this storage (`/metrics`, `/healthz`) from a
        daemon thread until `stop_prometheus_server` or `close`; returns its URL. A port in
        use raises `MetricsServerBindError` (an `OSError`) naming it."""
        if not self.enable_prometheus:
            raise RuntimeError("Prometheus exporter not enabled (enable_prometheus=False)")
        if self._exporter is not None:
            raise RuntimeError(f"the exporter is already serving {self._exporter.server.url}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port!r}")
        self.flush()
        self._exporter = _Exporter(self._exporter_settings(host, port))
        return self._exporter.server.url

    def stop_prometheus_server(self) -> None:
        exporter, self._exporter = self._exporter, None
        if exporter is not None:
            exporter.stop()

    # -- internals ------------------------------------------------------------------------

    def _exporter_settings(self, host: str, port: int) -> Settings:
        from neural_tui.config import ModelSection, ServerSection, Settings, StorageSection

        return Settings(
            storage=StorageSection(path=self.storage_path),
            server=ServerSection(host=host, port=port),
            models=(ModelSection(name=self.model_name, version=self.model_version),),
            slo=_slo_sections(self.slos),
        )

    def _hand_over(self, tally: _Tally) -> None:
        """Count a minute's tallied events on the tracker, one call per SLO."""
        if self._slo_tracker is None:
            return
        for name, (total, good) in tally.events.items():
            if total:
                self._slo_tracker.record_events(name, total, good, timestamp=tally.newest_at)

    def _check_rules(self, data: dict[str, Any]) -> None:
        if self.alert_manager is not None:
            self.alert_manager.check_rules({"model": self.model_name, **data})

    def _error_rate(self) -> float:
        """Failed requests over all requests (predictions and errors), as the exporter's."""
        requests = self.total_predictions + self.total_errors
        return self.total_errors / requests if requests else 0.0

    def _concept_state(self) -> ConceptDriftState | None:
        """Feed the labelled errors logged since the last call to the Page-Hinkley detector;
        its state, or None before any label."""
        import numpy as np

        from neural_tui.engines.concept import PageHinkley

        with self._lock:
            pending, self._pending_errors = self._pending_errors, []
            if self._concept is None:
                self._concept = PageHinkley()
            detector = self._concept
            if pending:
                detector.update(np.array(pending))
            return detector.state if detector.state.samples else None

    def _performance(self) -> PerformanceReport | None:
        """The performance engine over the labelled predictions kept, or None without any."""
        from neural_tui.engines.performance import performance

        with self._lock:
            pairs = list(self._labelled)
        if not pairs:
            return None
        predictions, labels = (_objects([pair[i] for pair in pairs]) for i in (0, 1))
        return performance(predictions, labels)

    def _drift_summary(self) -> dict[str, Any]:
        with self._lock:
            recent = list(self._drift_history)
        if not recent:
            return {"status": "no_data", "message": "No drift metrics available"}
        from neural_tui.monitor_results import SEVERITIES

        drifting = sum(m.is_drifting for m in recent)
        return {
            "status": "ok",
            "total_samples": len(recent),
            "drift_detected": drifting,
            "drift_rate": drifting / len(recent),
            "avg_prediction_drift": _mean([m.prediction_drift for m in recent]),
            "avg_performance_drift": _mean([m.performance_drift for m in recent]),
            "avg_distribution_drift": _mean([m.data_distribution_drift for m in recent]),
            "severity_distribution": {s: sum(m.drift_severity == s for m in recent)
                                      for s in SEVERITIES},
            "recent_metrics": [{k: v for k, v in m.to_dict().items() if k != "report"}
                               for m in recent[-10:]],
        }

    def _quality_summary(self) -> dict[str, Any]:
        with self._lock:
            recent = list(self._quality_history)
        if not recent:
            return {"status": "no_data", "message": "No quality reports available"}
        return {
            "status": "ok",
            "total_reports": len(recent),
            "healthy_rate": sum(r.is_healthy for r in recent) / len(recent),
            "avg_quality_score": _mean([r.quality_score for r in recent]),
            "avg_missing_rate": _mean([r.missing_rate for r in recent]),
            "avg_outlier_rate": _mean([r.outlier_rate for r in recent]),
            "avg_invalid_rate": _mean([r.invalid_rate for r in recent]),
            "total_warnings": sum(len(r.warnings) for r in recent),
            "recent_reports": [{k: v for k, v in r.to_dict().items() if k != "report"}
                               for r in recent[-10:]],
        }

    def _predictions_summary(self) -> dict[str, Any]:
        """The old `predictions` summary of the newest `RECENT_ROWS` logged: `latency` (ms)
        and `accuracy` with the old keys, and the performance engine's full report."""
        with self._lock:
            latencies = list(self._latencies)
        performance = self._performance()
        if not latencies and performance is None:
            return {"status": "no_data", "message": "No predictions available"}
        summary: dict[str, Any] = {"status": "ok", "latency_rows": len(latencies)}
        if latencies:
            spread = _percentiles(latencies)
            summary["latency"] = {**spread, "median": spread["p50"]}
        if performance is not None:
            summary["performance"] = performance.to_dict()
            if performance.accuracy is not None:
                summary["accuracy"] = {
                    "total_labeled": performance.n_labelled,
                    "correct": round(performance.accuracy * performance.n_labelled),
                    "accuracy": performance.accuracy,
                }
        return summary


@dataclass(slots=True)
class _Tally:
    """Events of one minute per SLO name, `[total, good]`, and the newest event's time."""

    minute: int | None = None
    newest_at: float = 0.0
    events: dict[str, list[int]] = field(default_factory=dict)


class _SLOTally:
    """The default SLOs' events of the current minute, counted in plain integers and handed
    to the tracker once per SLO when the minute turns or the tracker is read: a request costs
    a few additions, not one tracker call per SLO (see `bench/bench_producer.py`)."""

    def __init__(self, slos: tuple[SLO, ...]) -> None:
        self._latency = next((slo for slo in slos if slo.name == LATENCY_SLO), None)
        self._tally = _Tally()

    def served(self, at: float, latency_ms: float | None, correct: bool | None) -> _Tally | None:
        """Count a served request; the previous minute's tally if this one turned it."""
        turned = self._turn(at)
        events = self._tally.events
        _add(events, AVAILABILITY_SLO, True)
        _add(events, ERROR_RATE_SLO, True)
        if latency_ms is not None and self._latency is not None:
            _add(events, LATENCY_SLO, self._latency.meets(latency_ms / 1000.0))
        if correct is not None:
            _add(events, ACCURACY_SLO, correct)
        return turned

    def failed(self, at: float) -> _Tally | None:
        """Count a failed request; the previous minute's tally if this one turned it."""
        turned = self._turn(at)
        _add(self._tally.events, AVAILABILITY_SLO, False)
        _add(self._tally.events, ERROR_RATE_SLO, False)
        return turned

    def take(self) -> _Tally:
        """The tally so far, the next one starting empty in the same minute."""
        taken = self._tally
        self._tally = _Tally(taken.minute, taken.newest_at)
        return taken

    def _turn(self, at: float) -> _Tally | None:
        minute = math.floor(at / MINUTE_SECONDS)
        tally = self._tally
        turned = None
        if tally.minute != minute:
            turned = tally if tally.events else None
            tally = self._tally = _Tally(minute)
        tally.newest_at = max(tally.newest_at, at)
        return turned


def _add(events: dict[str, list[int]], name: str, good: bool) -> None:
    counts = events.get(name)
    if counts is None:
        counts = events[name] = [0, 0]
    counts[0] += 1
    counts[1] += good


class _Exporter:
    """The headless runtime and metrics server over one storage, in a daemon thread with its
    own event loop; the server binds in the caller's thread, so a port in use raises there."""

    def __init__(self, settings: Settings) -> None:
        from neural_tui.metrics_server import MetricsServer
        from neural_tui.runtime.pipeline import Runtime
        from neural_tui.sources.tail import TailSource

        self.runtime: Runtime = Runtime(settings, [TailSource(
            settings.storage.path, poll_interval=settings.runtime.poll_interval_seconds)])
        self.server: MetricsServer = MetricsServer(
            lambda: self.runtime.latest, host=settings.server.host, port=settings.server.port,
            stale_after_seconds=10 * settings.runtime.cadence_seconds)
        self.server.start()
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name="neural-tui exporter",
                                        daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception:
            log.exception("the exporter's runtime stopped")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()  # type: ignore[assignment]
        self._started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self.runtime.run()

    def stop(self) -> None:
        """Stop the runtime (waiting a bounded time) and close the port."""
        self._started.wait(STOP_TIMEOUT_SECONDS)
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(STOP_TIMEOUT_SECONDS)
        self.server.stop()


def _checked_alert_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise TypeError(f"alert_config must be a dict, got {type(config).__name__}")
    unknown = sorted(str(key) for key in config if key not in ALERT_CONFIG_KEYS)
    if unknown:
        raise ValueError(f"alert_config: unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"expected {', '.join(ALERT_CONFIG_KEYS)}")
    return dict(config)


def _alert_manager(config: Mapping[str, Any], storage: Path) -> AlertManager:
    """The alerting engine's manager with `alert_config`'s channels and the old default
    rules (drift, quality, accuracy, latency)."""
    from neural_tui.alert_manager import (
        AlertManager,
        create_drift_alert_rule,
        create_latency_alert_rule,
        create_performance_alert_rule,
        create_quality_alert_rule,
    )

    manager = AlertManager(slack_webhook_url=config.get("slack_webhook"),
                           email_config=config.get("email_config"),
                           webhook_url=config.get("webhook_url"), storage_path=storage)
    for rule in (create_drift_alert_rule(0.2), create_quality_alert_rule(0.7),
                 create_performance_alert_rule(0.8), create_latency_alert_rule(1000.0)):
        manager.add_rule(rule)
    return manager


def default_slos() -> tuple[SLO, ...]:
    """What `enable_slo_tracking` installs, the old module's four defaults: availability 99.9%
    over 24 h (`model_availability`), 95% of requests within 100 ms over 1 h
    (`prediction_latency_p95`), 95% of labelled predictions right over 24 h
    (`model_accuracy`), at most 1% of requests failed over 1 h (`error_rate`)."""
    from neural_tui.slo_tracker import (
        create_accuracy_slo,
        create_availability_slo,
        create_error_rate_slo,
        create_latency_slo,
    )

    return (create_availability_slo(0.999, window_hours=24),
            create_latency_slo(100.0, window_hours=1),
            create_accuracy_slo(0.95, window_hours=24),
            create_error_rate_slo(0.01, window_hours=1))


def _slo_tracker(clock: Callable[[], float]) -> tuple[SLOTracker, tuple[SLO, ...]]:
    from neural_tui.slo_tracker import SLOTracker

    tracker = SLOTracker(clock=clock)
    slos = default_slos()
    for slo in slos:
        tracker.add_slo(slo)
    return tracker, slos


def _slo_sections(slos: tuple[SLO, ...]) -> tuple[Any, ...]:
    """The tracked SLOs as `[[slo]]` entries, so the exporter judges the same ones."""
    from neural_tui.config import SLOSection
    from neural_tui.slo_tracker import SLOType

    sections = []
    for slo in slos:
        spec = slo.spec()
        window = f"{spec.window_seconds // 60}m"
        if slo.slo_type is SLOType.LATENCY:
            sections.append(SLOSection(slo.name, "latency", spec.target, window,
                                       threshold_ms=spec.threshold_ms))
        else:
            sections.append(SLOSection(slo.name, spec.type, spec.target, window))  # type: ignore[arg-type]
    return tuple(sections)


def _given(given: Mapping[str, float]) -> PerformanceReport | None:
    """Figures a caller measured, as a performance report the verdict compares (they are
    the caller's own measurement, so they count as reliable)."""
    from neural_tui.engines.performance import PerformanceReport

    if not given:
        return None
    return PerformanceReport(
        task="classification" if "accuracy" in given else "regression",
        n_labelled=1, min_labels=1,
        accuracy=given.get("accuracy"), precision=given.get("precision"),
        recall=given.get("recall"), f1=given.get("f1"), roc_auc=given.get("roc_auc"),
        mae=given.get("mae"), rmse=given.get("rmse"),
    )


def _small(value: Any) -> bool:
    """Whether a prediction or label is kept in memory: a number, a bool or a short str."""
    if isinstance(value, str):
        return len(value) <= MAX_LABEL_CHARS
    if isinstance(value, float):
        return not math.isnan(value)
    return isinstance(value, int)  # the writer refused integers beyond 64 bits


def _is_class(value: Any) -> bool:
    """Whether a kept value reads as a class (accuracy and concept drift count only those):
    a str, a bool, an int or an integral float."""
    return not isinstance(value, float) or (math.isfinite(value) and value.is_integer())


def _correct(prediction: Any, label: Any) -> bool:
    from neural_tui.engines.performance import json_equal

    return json_equal(prediction, label)


def _dicts(data: Any) -> bool:
    """Whether `data` is a list of dicts (whose keys name the features)."""
    return isinstance(data, Sequence) and bool(data) and isinstance(data[0], Mapping)


def _rows(columns: Mapping[str, np.ndarray]) -> int:
    return int(next(iter(columns.values())).shape[0])


def _objects(values: list[Any]) -> np.ndarray:
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _percentiles(latencies: list[float]) -> dict[str, float]:
    """p50, p95 and p99 (numpy's linear method, as the runtime's), mean, min and max."""
    if not latencies:
        return {}
    import numpy as np

    values = np.array(latencies)
    p50, p95, p99 = (float(v) for v in np.percentile(values, [50, 95, 99]))
    return {"p50": p50, "p95": p95, "p99": p99, "mean": float(values.mean()),
            "min": float(values.min()), "max": float(values.max())}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else 0.0
