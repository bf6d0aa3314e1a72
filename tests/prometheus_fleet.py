"""Servers for the Prometheus source's tests: headless exporters over written traffic, a fixed
exposition for Prometheus to scrape, and a loopback fake of Prometheus' HTTP API.

The fake answers each request with whatever its `answer` function returns for the path and
the query parameters, so a test states the one hostile answer it means and gets an empty
success for every other query.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from realservers import LOOPBACK, RealServer, headless_server

from neural_tui import ModelMonitor
from neural_tui.remote_models import Endpoint

NEURAL_TUI = str(Path(sys.executable).with_name("neural-tui"))


def write_traffic(storage: Path, model: str, version: str, latencies_ms: Iterable[float],
                  *, errors: int = 0, error_type: str = "timeout") -> None:
    """One prediction record per latency, then `errors` failed requests (no latency)."""
    with ModelMonitor(model, version, storage_path=storage) as monitor:
        for i, latency in enumerate(latencies_ms):
            monitor.log_prediction(f"{model}-{version}-{latency}-{i}-{id(monitor)}",
                                   {"x": float(i)}, 1, latency_ms=latency)
        for _ in range(errors):
            monitor.record_error(error_type)


@contextmanager
def headless_servers(storages: Sequence[Path],
                     workdir: Path) -> Iterator[list[tuple[str, RealServer]]]:
    """`neural-tui --serve-metrics` over each storage, started side by side; yields each one's
    `host:port` with its server (which a test may stop early)."""
    servers, addresses = [], []
    for storage in storages:
        storage.mkdir(parents=True, exist_ok=True)
        server, url = headless_server(f"neural-tui-{len(servers)}", workdir, storage)
        addresses.append(url.removeprefix("http://"))
        servers.append(server)
    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(RealServer.start, servers))
        yield list(zip(addresses, servers, strict=True))
    finally:
        for server in servers:
            server.stop()


@contextmanager
def headless_exporters(storages: Sequence[Path], workdir: Path) -> Iterator[list[str]]:
    """`headless_servers`, yielding their `host:port`s only."""
    with headless_servers(storages, workdir) as servers:
        yield [address for address, _ in servers]


Reply = tuple[int, Mapping[str, str], bytes | Iterable[bytes]]
"""A status, headers, and a body (bytes, or chunks written one after the other)."""

EMPTY_VECTOR = json.dumps({"status": "success",
                           "data": {"resultType": "vector", "result": []}}).encode()
EMPTY_MATRIX = json.dumps({"status": "success",
                           "data": {"resultType": "matrix", "result": []}}).encode()


def ok(body: bytes) -> Reply:
    return 200, {"Content-Type": "application/json"}, body


def vector(*series: tuple[Mapping[str, str], str]) -> bytes:
    """A successful instant-query answer of (labels, value as Prometheus writes it)."""
    result = [{"metric": dict(labels), "value": [1000.0, value]} for labels, value in series]
    return json.dumps({"status": "success",
                       "data": {"resultType": "vector", "result": result}}).encode()


def empty(path: str, params: Mapping[str, str]) -> Reply:
    return ok(EMPTY_MATRIX if path.endswith("query_range") else EMPTY_VECTOR)


@dataclass
class FakePrometheus:
    """A loopback HTTP server speaking just enough of Prometheus' API to be hostile."""

    answer: Callable[[str, Mapping[str, str]], Reply] = empty
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    url: str = ""

    @contextmanager
    def serving(self) -> Iterator[FakePrometheus]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            wbufsize = 1 << 16
            """Buffered, so headers and a short body leave in one segment (no Nagle wait)."""

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fake.requests.append((parts.path, params, dict(self.headers.items())))
                status, headers, body = fake.answer(parts.path, params)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                chunks = [body] if isinstance(body, bytes) else body
                if isinstance(body, bytes) and "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, format: str, *args: object) -> None:
                return

        server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        self.url = f"http://{LOOPBACK}:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    def queries(self) -> list[str]:
        return [params.get("query", "") for _, params, _ in self.requests]


def endpoint(url: str, *, name: str = "prometheus", interval: float = 1.0,
             timeout: float = 2.0, bearer_token: str | None = None,
             basic_auth: tuple[str, str] | None = None) -> Endpoint:
    return Endpoint(name=name, url=url, interval_seconds=interval,
                    timeout_seconds=timeout, bearer_token=bearer_token,
                    basic_auth=basic_auth)


@contextmanager
def static_exporter(text: str) -> Iterator[str]:
    """A `/metrics` endpoint always answering `text` (exposition format); yields host:port."""
    body = text.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield f"{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def exposition(lines: Sequence[str]) -> str:
    return "\n".join(lines) + "\n"
