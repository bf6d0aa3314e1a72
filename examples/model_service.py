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
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import numpy as np

from neural_tui import ModelMonitor

COUNTRIES = ("US", "GB", "DE", "FR", "BR")
DEVICES = ("mobile", "desktop", "tablet")
FEATURES = ("amount", "account_age_days", "country", "device")
LABELS = (0, 1)
MAX_ISSUED_IDS = 100_000
"""Prediction ids remembered for their labels, the newest kept: bounded memory."""
MAX_BODY_BYTES = 64 * 1024


class InvalidInput(ValueError):
    """The request's features cannot be scored."""


class UnknownPrediction(LookupError):
    """A label names a prediction id this service did not issue (or forgot: the oldest go)."""


class AlreadyLabelled(ValueError):
    """A second label for the same prediction."""


def shown(value: Any) -> str:
    """A request's value as an error message quotes it: at most 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


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
        """The fraud probability; `InvalidInput` says which feature is wrong and what it
        accepts."""
        missing = [name for name in FEATURES if name not in features]
        if missing:
            raise InvalidInput(f"missing feature {', '.join(map(repr, missing))}: a request "
                               f"needs {', '.join(FEATURES)}")
        amount = _number(features, "amount", "a number > 0")
        age = _number(features, "account_age_days", "a number >= 0")
        if not amount > 0:
            raise InvalidInput(f"feature 'amount' must be a number > 0; got {shown(amount)}")
        if not age >= 0:
            raise InvalidInput(f"feature 'account_age_days' must be a number >= 0; got "
                               f"{shown(age)}")
        country = _choice(features, "country", self._country_weight)
        device = _choice(features, "device", self._device_weight)
        logit = -1.0 + 0.9 * (math.log(amount) - 3.6) - 0.003 * (age - 400) + country + device
        return 1.0 / (1.0 + math.exp(-logit))


def _number(features: dict[str, Any], name: str, accepted: str) -> float:
    value = features[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"feature {name!r} must be {accepted}; got {shown(value)}")
    number = float(value) if abs(value) < 1e308 else math.inf
    if not math.isfinite(number):
        raise InvalidInput(f"feature {name!r} must be {accepted}; got {shown(value)}")
    return number


def _choice(features: dict[str, Any], name: str, weights: dict[str, float]) -> float:
    value = features[name]
    if not isinstance(value, str) or value not in weights:
        raise InvalidInput(f"feature {name!r} must be one of {', '.join(sorted(weights))}; "
                           f"got {shown(value)}")
    return weights[value]


class PredictionService:
    """The model plus its monitoring: what a request handler calls.

    It remembers the ids it issued (the newest `MAX_ISSUED_IDS`), so a label for an id it
    never gave out, or gave a label already, is refused instead of written.
    """

    def __init__(self, monitor: ModelMonitor, model: ToyFraudModel) -> None:
        self.monitor = monitor
        self.model = model
        self._issued: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()

    def predict(self, features: Any) -> dict[str, Any]:
        started = time.perf_counter()
        if not isinstance(features, dict):
            self.failed((time.perf_counter() - started) * 1000)
            raise InvalidInput(f"features must be a JSON object of {', '.join(FEATURES)}")
        try:
            probability = self.model.probability(features)
        except InvalidInput:
            self.failed((time.perf_counter() - started) * 1000)
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
        self.issued(prediction_id, features)
        return {"prediction_id": prediction_id, "prediction": prediction, "probability": proba}

    def failed(self, elapsed_ms: float) -> None:
        """A request that could not be scored: an error record, with how long it took."""
        self.monitor.record_error("invalid_input", latency_ms=elapsed_ms)

    def issued(self, prediction_id: str, features: dict[str, Any]) -> None:
        """Remember an id given out, so its label is known to name one."""
        with self._lock:
            self._issued[prediction_id] = False
            if len(self._issued) > MAX_ISSUED_IDS:
                self._issued.popitem(last=False)

    def label(self, prediction_id: Any, ground_truth: Any) -> None:
        if isinstance(ground_truth, bool) or ground_truth not in LABELS:
            raise InvalidInput(f"label must be one of {', '.join(map(str, LABELS))}; got "
                               f"{shown(ground_truth)}")
        with self._lock:
            labelled = self._issued.get(prediction_id) if isinstance(prediction_id, str) else None
            if labelled is None:
                raise UnknownPrediction(
                    f"unknown prediction_id {shown(prediction_id)}: not issued by this service "
                    f"(or older than its newest {MAX_ISSUED_IDS:,} predictions)")
            if labelled:
                raise AlreadyLabelled(f"prediction_id {shown(prediction_id)} is already labelled")
            self._issued[prediction_id] = True
        self.monitor.log_ground_truth(prediction_id, int(ground_truth))


def make_handler(
    service: PredictionService, pages: Mapping[str, Callable[[], dict[str, Any]]] | None = None
) -> type[BaseHTTPRequestHandler]:
    """POST /predict and /label; GET each of `pages` (path to a function giving its JSON)."""
    pages = pages or {}

    class Handler(BaseHTTPRequestHandler):
        """POST /predict {"features": {...}}; POST /label {"prediction_id", "label"}."""

        timeout = 10

        def do_GET(self) -> None:
            page = pages.get(self.path)
            if page is None:
                self._reply(HTTPStatus.NOT_FOUND, {"error": "unknown path"})
                return
            self._reply(HTTPStatus.OK, page())

        def do_POST(self) -> None:
            if self.path not in ("/predict", "/label"):
                self._reply(HTTPStatus.NOT_FOUND, {"error": "unknown path: POST /predict or "
                                                            "/label"})
                return
            try:
                body = self._body()
                if self.path == "/predict":
                    self._reply(HTTPStatus.OK, service.predict(body.get("features")))
                else:
                    service.label(body.get("prediction_id"), body.get("label"))
                    self._reply(HTTPStatus.OK, {"ok": True})
            except UnknownPrediction as error:
                self._reply(HTTPStatus.NOT_FOUND, {"error": str(error)})
            except AlreadyLabelled as error:
                self._reply(HTTPStatus.CONFLICT, {"error": str(error)})
            except InvalidInput as error:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(error)})

        def _body(self) -> dict[str, Any]:
            """The request's JSON object; `InvalidInput` when it is not one or too long."""
            try:
                length = int(self.headers.get("Content-Length", 0))
            except ValueError:
                raise InvalidInput("Content-Length must be a number") from None
            if not 0 <= length <= MAX_BODY_BYTES:
                raise InvalidInput(f"a body is at most {MAX_BODY_BYTES} bytes; got {length}")
            try:
                body = json.loads(self.rfile.read(length))
            except ValueError:
                raise InvalidInput("the body must be a JSON object") from None
            if not isinstance(body, dict):
                raise InvalidInput("the body must be a JSON object")
            return body

        def _reply(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def random_features(rng: np.random.Generator) -> dict[str, Any]:
    """One synthetic request's features."""
    return {
        "amount": round(float(rng.lognormal(3.6, 1.0)), 2),
        "account_age_days": int(max(rng.normal(400, 250), 0)),
        "country": str(rng.choice(COUNTRIES)),
        "device": str(rng.choice(DEVICES)),
    }


def simulate(service: PredictionService, requests: int, rate: float, seed: int) -> None:
    """Send `requests` synthetic requests in-process; label ~80 % of them a little later."""
    rng = np.random.default_rng(seed)
    waiting: deque[tuple[str, int]] = deque()
    for index in range(requests):
        features = random_features(rng)
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


def serve(
    service: PredictionService, port: int,
    pages: Mapping[str, Callable[[], dict[str, Any]]] | None = None,
) -> None:
    """Answer requests on 127.0.0.1:`port` until Ctrl-C or SIGTERM."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(service, pages))
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    print(f"serving on http://127.0.0.1:{port} (Ctrl-C or SIGTERM to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="monitoring_data")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--requests", type=int, help="simulate N requests instead of serving")
    parser.add_argument("--rate", type=float, default=50.0, help="simulated requests/s (0: max)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    model = ToyFraudModel()
    with ModelMonitor(model_name=model.name, model_version=model.version,
                      storage_path=args.storage, flush_interval=1.0) as monitor:
        service = PredictionService(monitor, model)
        if args.requests is not None:
            simulate(service, args.requests, args.rate, args.seed)
            print(f"wrote {args.requests} requests to {args.storage}")
            return
        serve(service, args.port)


if __name__ == "__main__":
    main()
