"""The toy fraud service of `model_service.py`, written against the old `neural.monitoring` API.

A model server written for the old module changes one line, its import; everything else here is
the old module's calls with their old signatures: `ModelMonitor(model_name=..., ...)`,
`set_reference_data`, `log_prediction`, `record_error`, `check_drift`, `check_data_quality`,
`get_monitoring_summary`, `start_prometheus_server`. Labels that arrive later go through
`log_ground_truth`, neural-tui's one addition (the old module had no late labels).
See examples/README.md.

    python examples/model_service_old_api.py --storage monitoring_data --requests 2000
    python examples/model_service_old_api.py --storage monitoring_data --port 8080 \\
        --metrics-port 9109
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import deque
from typing import Any

import numpy as np
from model_service import (
    PredictionService,
    ToyFraudModel,
    random_features,
    serve,
    simulate,
)

from neural_tui import ModelMonitor  # was: from neural.monitoring import ModelMonitor

REFERENCE_ROWS = 1000
RECENT_ROWS = 500
"""Requests kept for `check_drift` and `check_data_quality`: the newest, a bounded deque."""


class OldApiService(PredictionService):
    """`PredictionService` with the old module's calls: errors without a latency (the old
    `record_error(error_type)`), and the newest requests kept for the drift and quality
    checks."""

    def __init__(self, monitor: Any, model: ToyFraudModel) -> None:
        super().__init__(monitor, model)
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_ROWS)
        self._recent_lock = threading.Lock()

    def failed(self, elapsed_ms: float) -> None:
        self.monitor.record_error(error_type="invalid_input")

    def issued(self, prediction_id: str, features: dict[str, Any]) -> None:
        super().issued(prediction_id, features)
        with self._recent_lock:
            self.recent.append(features)

    def recent_rows(self) -> list[dict[str, Any]]:
        with self._recent_lock:
            return list(self.recent)

    def drift(self) -> dict[str, Any]:
        rows = self.recent_rows()
        if not rows:
            return {"status": "no_data", "message": "no request yet"}
        return self.monitor.check_drift(rows)  # type: ignore[no-any-return]

    def quality(self) -> dict[str, Any]:
        rows = self.recent_rows()
        if not rows:
            return {"status": "no_data", "message": "no request yet"}
        return self.monitor.check_data_quality(rows)  # type: ignore[no-any-return]


def reference_data(seed: int) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Requests and predictions of the reference period, as the old module took them."""
    rng = np.random.default_rng(seed + 1)
    model = ToyFraudModel()
    rows = [random_features(rng) for _ in range(REFERENCE_ROWS)]
    predictions = np.array([int(model.probability(row) >= 0.5) for row in rows])
    return rows, predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="monitoring_data")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--metrics-port", type=int, help="serve /metrics here (old API)")
    parser.add_argument("--requests", type=int, help="simulate N requests instead of serving")
    parser.add_argument("--rate", type=float, default=50.0, help="simulated requests/s (0: max)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model = ToyFraudModel()
    monitor = ModelMonitor(
        model_name=model.name,
        model_version=model.version,
        storage_path=args.storage,
        enable_prometheus=args.metrics_port is not None,
        enable_alerting=False,
        enable_slo_tracking=True,
    )
    rows, predictions = reference_data(args.seed)
    monitor.set_reference_data(rows, predictions=predictions)
    if args.metrics_port is not None:
        monitor.start_prometheus_server(port=args.metrics_port)
    service = OldApiService(monitor, model)
    if args.requests is not None:
        simulate(service, args.requests, args.rate, args.seed)
        print(json.dumps({"drift": service.drift(), "quality": service.quality(),
                          "summary": monitor.get_monitoring_summary()}, default=str))
        return
    serve(service, args.port, {
        "/drift": service.drift,
        "/quality": service.quality,
        "/summary": monitor.get_monitoring_summary,
    })


if __name__ == "__main__":
    main()
