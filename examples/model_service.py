"""A small model service that logs every prediction through neural-tui's `ModelMonitor`.

A toy fraud classifier (a fixed logistic regression, numpy only) behind `http.server` on
127.0.0.1, or driven in-process by a loop with `--requests N`. Every prediction is logged with
`log_prediction`, labels that arrive later with `log_ground_truth`, and failed requests with
`record_error`. See examples/README.md.

    python examples/model_service.py --storage monitoring_data --requests 2000
    python examples/model_service.py --storage monitoring_data --port 8080
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import time
import uuid
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import numpy as np

from neural_tui import ModelMonitor

COUNTRIES = ("US", "GB", "DE", "FR", "BR")
DEVICES = ("mobile", "desktop", "tablet")


class InvalidInput(ValueError):
    """The request's features cannot be scored."""


class ToyFraudModel:
    """Logistic regression with fixed weights: enough to produce believable predictions."""

    name = "toy-fraud"
    version = "1.0.0"
    _country_weight: ClassVar[dict[str, float]] = {
        "US": 0.0,
        "GB": 0.1,
        "DE": -0.2,
        "FR": 0.0,
        "BR": 0.9,
    }
    _device_weight: ClassVar[dict[str, float]] = {"mobile": 0.2, "desktop": -0.2, "tablet": 0.4}

    def probability(self, features: dict[str, Any]) -> float:
        try:
            amount = float(features["amount"])
            age = float(features["account_age_days"])
            country = self._country_weight[features["country"]]
            device = self._device_weight[features["device"]]
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(f"bad or missing feature: {error}") from None
        if amount <= 0 or not math.isfinite(amount) or not math.isfinite(age):
            raise InvalidInput("amount must be > 0 and account_age_days finite")
        logit = -1.0 + 0.9 * (math.log(amount) - 3.6) - 0.003 * (age - 400) + country + device
        return 1.0 / (1.0 + math.exp(-logit))


class PredictionService:
    """The model plus its monitoring: what a request handler calls."""

    def __init__(self, monitor: ModelMonitor, model: ToyFraudModel) -> None:
        self.monitor = monitor
        self.model = model

    def predict(self, features: Any) -> dict[str, Any]:
        started = time.perf_counter()
        if not isinstance(features, dict):
            self.monitor.record_error("invalid_input")
            raise InvalidInput("features must be a JSON object")
        try:
            probability = self.model.probability(features)
        except InvalidInput:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.monitor.record_error("invalid_input", latency_ms=elapsed_ms)
            raise
        prediction_id = uuid.uuid4().hex
        prediction = int(probability >= 0.5)
        proba = {"0": 1.0 - probability, "1": probability}
        self.monitor.log_prediction(
            prediction_id,
            features,
            prediction,
            prediction_proba=proba,
            latency_ms=(time.perf_counter() - started) * 1000,
            metadata={"service": "examples/model_service.py"},
        )
        return {"prediction_id": prediction_id, "prediction": prediction, "probability": proba}

    def label(self, prediction_id: str, ground_truth: int) -> None:
        self.monitor.log_ground_truth(prediction_id, ground_truth)


def make_handler(service: PredictionService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """POST /predict {"features": {...}}; POST /label {"prediction_id", "label"}."""

        def do_POST(self) -> None:
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path == "/predict":
                    self._reply(HTTPStatus.OK, service.predict(body.get("features")))
                elif self.path == "/label":
                    service.label(str(body["prediction_id"]), int(body["label"]))
                    self._reply(HTTPStatus.OK, {"ok": True})
                else:
                    self._reply(HTTPStatus.NOT_FOUND, {"error": "unknown path"})
            except (InvalidInput, ValueError, KeyError, TypeError, AttributeError) as error:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(error)})

        def _reply(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def simulate(service: PredictionService, requests: int, rate: float, seed: int) -> None:
    """Send `requests` synthetic requests in-process; label ~80 % of them a little later."""
    rng = np.random.default_rng(seed)
    waiting: deque[tuple[str, int]] = deque()
    for index in range(requests):
        features: dict[str, Any] = {
            "amount": round(float(rng.lognormal(3.6, 1.0)), 2),
            "account_age_days": int(max(rng.normal(400, 250), 0)),
            "country": str(rng.choice(COUNTRIES)),
            "device": str(rng.choice(DEVICES)),
        }
        if rng.random() < 0.01:
            features["amount"] = "not a number"
        try:
            response = service.predict(features)
        except InvalidInput:
            continue
        truth = int(rng.random() < response["probability"]["1"])
        if rng.random() < 0.8:
            waiting.append((response["prediction_id"], truth))
        while len(waiting) > 50:  # labels arrive ~50 requests after their prediction
            service.label(*waiting.popleft())
        if rate > 0:
            time.sleep(1.0 / rate)
        if (index + 1) % 1000 == 0:
            print(f"{index + 1} requests")
    for prediction_id, truth in waiting:
        service.label(prediction_id, truth)


def stop_on_sigterm(signum: int, frame: object) -> None:
    """Stop like Ctrl-C does, so the monitor closes and writes what it holds."""
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="monitoring_data")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--requests", type=int, help="simulate N requests instead of serving")
    parser.add_argument("--rate", type=float, default=50.0, help="simulated requests/s (0: max)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model = ToyFraudModel()
    with ModelMonitor(model.name, model.version, storage_path=args.storage,
                      flush_interval=1.0) as monitor:
        service = PredictionService(monitor, model)
        if args.requests is not None:
            simulate(service, args.requests, args.rate, args.seed)
            print(f"wrote {args.requests} requests to {args.storage}")
            return
        server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(service))
        signal.signal(signal.SIGTERM, stop_on_sigterm)
        print(f"serving on http://127.0.0.1:{args.port} (Ctrl-C or SIGTERM to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


if __name__ == "__main__":
    main()
