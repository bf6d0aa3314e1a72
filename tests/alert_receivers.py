"""Receivers the alert channels talk to in tests: an HTTP server on 127.0.0.1 answering from a
script (a status, a `Retry-After`, or no answer at all), and helpers shared by the channel tests.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from neural_tui.alerts.notification import Alert, Notification

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


HANG = Reply(status=0)
"""Read the request, never answer (until the receiver stops)."""


@dataclass(frozen=True)
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """A threaded HTTP server recording every POST and answering from `script` in order, then
    with `default`."""

    def __init__(self, *script: Reply, default: Reply = Reply(),
                 tls: tuple[Path, Path] | None = None) -> None:
        self.script = deque(script)
        self.default = default
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(time.monotonic(), self.path,
                                                      dict(self.headers), body))
                    reply = receiver.script.popleft() if receiver.script else receiver.default
                if reply is HANG:
                    receiver._release.wait(60)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self._scheme = "http"
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self._scheme}://{LOOPBACK}:{self._server.server_address[1]}"

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def count(self) -> int:
        with self._lock:
            return len(self.received)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by `openssl req`."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    return cert, key


async def eventually(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    """Wait (on the loop) until `predicate()` holds; fail naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.01)


def alert(name: str = "drift", model: str = "fraud", status: str = "firing",
          severity: str = "warning", summary: str = "drift above 0.2",
          starts_at: float = 1_700_000_000.0, ends_at: float | None = None,
          **labels: str) -> Alert:
    return Alert(labels={"alertname": name, "model": model, "severity": severity, **labels},
                 annotations={"summary": summary}, status=status,  # type: ignore[arg-type]
                 starts_at=starts_at, ends_at=ends_at, values={"drift_score": 0.31})


def notification(channel: str, number: int = 1, *alerts: Alert) -> Notification:
    chosen = alerts or (alert(),)
    return Notification(id=f"n-{number}", channel=channel, group_key="{}:{alertname=\"drift\"}",
                        group_labels={"alertname": chosen[0].labels["alertname"]},
                        alerts=tuple(chosen), created_at=1_700_000_100.0 + number)
