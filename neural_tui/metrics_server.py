"""The headless exporter's HTTP server: `/metrics` for Prometheus, `/healthz` for probes.

It runs in a daemon thread beside the asyncio runtime, as prometheus-client's own
`start_http_server` does, and reads only the latest immutable snapshot, so it needs no locks and
never blocks the pipeline.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from neural_tui.exporter import build_registry
from neural_tui.runtime.snapshot import Snapshot

DEFAULT_HOST = "127.0.0.1"


class MetricsServerBindError(OSError):
    """The server could not listen on the requested address (usually: port already in use)."""


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log on stderr: a scrape every few seconds would drown the real messages."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _server_class_for(host: str, port: int) -> type[ThreadingWSGIServer]:
    """A server class bound to the address family of `host`, so IPv6 hosts work too."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    class _Server(ThreadingWSGIServer):
        address_family = family

    return _Server


class MetricsServer:
    """Serves the snapshot metrics over HTTP until stopped.

    `/healthz` answers 200 `{"status": "ok", "models": N, "records": N, ...}`; when
    `stale_after_seconds` is set and the latest snapshot was generated longer ago than that
    (the runtime stalled), it answers 503 with `"status": "stale"`. The caller picks the bound,
    typically ten times the runtime's cadence. Every other path is 404. Extra collectors (for
    example the alerts') can be registered on `registry`.
    """

    def __init__(
        self,
        get_snapshot: Callable[[], Snapshot],
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        stale_after_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.registry: CollectorRegistry = build_registry(get_snapshot)
        self._requested_port = port
        self._get_snapshot = get_snapshot
        self._stale_after_seconds = stale_after_seconds
        self._clock = clock
        self._metrics_app = make_wsgi_app(self.registry)
        self._httpd: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful when 0 asked for a free one)."""
        return int(self._bound_address()[1])

    @property
    def address(self) -> str:
        """The bound `host:port`, as a Prometheus scrape target names it."""
        host = str(self._bound_address()[0])
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("MetricsServer is already running")
        try:
            httpd = make_server(
                self.host,
                self._requested_port,
                self._application,
                server_class=_server_class_for(self.host, self._requested_port),
                handler_class=_QuietRequestHandler,
            )
        except OSError as error:
            raise MetricsServerBindError(
                error.errno,
                f"cannot serve metrics on {self.host}:{self._requested_port}: {error.strerror}",
            ) from error
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"metrics-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket, so the port is free on return."""
        if self._httpd is None or self._thread is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _bound_address(self) -> tuple[Any, ...]:
        if self._httpd is None:
            raise RuntimeError("MetricsServer is not running")
        return tuple(self._httpd.server_address)

    def _application(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            return self._healthz(start_response)
        return _plain(start_response, "404 Not Found", b"not found: try /metrics or /healthz\n")

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        """503 `stale` when the runtime stalled, 503 `unhealthy` with one reason per source
        failing or stuck, else 200 `ok`; the body lists every source's status."""
        snapshot = self._get_snapshot()
        age = self._clock() - snapshot.generated_at
        stale = self._stale_after_seconds is not None and age > self._stale_after_seconds
        reasons = [f"source {h.label} {h.status}: {h.detail}"
                   for h in snapshot.source_health if h.status != "ok"]
        verdict = "stale" if stale else "unhealthy" if reasons else "ok"
        body = json.dumps(
            {
                "status": verdict,
                "reasons": reasons,
                "models": len(snapshot.models),
                "records": snapshot.ingest.records_total,
                "snapshot_age_seconds": round(age, 3),
                "sources": [{"label": h.label, "status": h.status, "detail": h.detail}
                            for h in snapshot.source_health],
            }
        ).encode()
        status = "200 OK" if verdict == "ok" else "503 Service Unavailable"
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


def _plain(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
