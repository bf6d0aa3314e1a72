"""The headless exporter's HTTP server: `/metrics` for Prometheus, `/healthz` for probes.

It runs in daemon threads beside the asyncio runtime and reads only the latest immutable
snapshot, so it needs no locks and never blocks the pipeline.

No client can hold it open: one thread reads the request heads of every connection at once
(non-blocking, with a selector), closing a connection whose head is not complete within
`READ_TIMEOUT_SECONDS` of its arrival, and the oldest when more than `MAX_WAITING` are waiting.
Only a complete request gets a thread, at most `MAX_CONNECTIONS` at once, each with a socket
timeout of `READ_TIMEOUT_SECONDS` on every later read and write; a request beyond the cap is
answered 503 at once. A thousand half-sent requests thus cost sockets, not threads, and a scrape
that sends its request at once is still answered.

`/metrics` answers in the Prometheus text format 0.0.4 whatever the `Accept` header asks:
every Prometheus reads it (it is in every Prometheus scrape's `Accept`), and the snapshot's
families are then rendered by `metrics_text`, several times faster than prometheus-client's
OpenMetrics or text writers. The body is gzipped at level `GZIP_LEVEL` when the scraper
accepts gzip: a tenth of level 9's cost for a body 40% larger. `?name[]=NAME` (repeatable)
restricts the families, through prometheus-client. HEAD answers the headers of a GET, OPTIONS
the methods allowed; any other method is 405.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from neural_tui.exporter import ExporterRegistry, build_registry
from neural_tui.runtime.snapshot import Snapshot

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
READ_TIMEOUT_SECONDS = 5.0
"""How long a client has to send its request head, and the socket timeout of every later read
or write on its connection."""
MAX_CONNECTIONS = 32
"""Requests handled at once, each in its own thread; one more is answered 503 at once."""
MAX_WAITING = 256
"""Connections still sending their request head; when one more arrives, the oldest is closed."""
MAX_HEAD_BYTES = 64 * 1024
"""Longest request line and headers accepted; a longer head closes the connection."""
GZIP_LEVEL = 1
"""zlib's fastest level: 4,000 series (400 KB) compress in about 1.5 ms to 6% of their size;
level 9 (prometheus-client's) takes ten times as long for 4% (Prometheus reads either)."""
_ALLOWED_METHODS = "GET, HEAD, OPTIONS"
_POLL_SECONDS = 0.1
_BUSY_BODY = b"busy: too many requests at once, retry\n"
_BUSY_RESPONSE = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
    + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


class MetricsServerBindError(OSError):
    """The server could not listen on the requested address (usually: port already in use)."""


class _RequestHandler(WSGIRequestHandler):
    """Handles one request whose head was already read off the socket by the dispatcher.

    No access log on stderr: a scrape every few seconds would drown the real messages.
    """

    def __init__(self, request: socket.socket, client_address: Any, server: WSGIServer,
                 head: bytes) -> None:
        self._head = head
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        self.rfile = io.BufferedReader(_Prefixed(self._head, self.rfile))

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def get_stderr(self) -> io.TextIOBase:
        """Where wsgiref writes the traceback of a response that failed (a client that stalled
        or vanished mid-write): the debug log, not the exporter's stderr, which a slow client
        could otherwise flood."""
        return _DebugLog()


class _DebugLog(io.TextIOBase):
    """A text stream whose writes go to this module's log at debug level."""

    def write(self, text: str) -> int:
        if text.strip():
            log.debug("%s", text.rstrip())
        return len(text)


class _Prefixed(io.RawIOBase):
    """The bytes already read from a connection, then the rest of it."""

    def __init__(self, head: bytes, rest: io.BufferedIOBase) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        target = memoryview(buffer).cast("B")
        if not self._head:
            return self._rest.readinto(target)
        count = min(len(target), len(self._head))
        target[:count] = self._head[:count]
        self._head = self._head[count:]
        return count

    def close(self) -> None:
        """Closes the socket's own reader too, or the socket would stay open behind it."""
        self._rest.close()
        super().close()


class _Dispatcher:
    """Reads request heads without a thread per connection; see the module docstring."""

    def __init__(self, httpd: WSGIServer, read_timeout_seconds: float) -> None:
        self._httpd = httpd
        self._read_timeout = read_timeout_seconds
        self._selector = selectors.DefaultSelector()
        self._waiting: dict[socket.socket, tuple[float, bytearray]] = {}
        """Connections still sending their head: deadline and bytes so far, oldest first."""
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.busy = 0
        """Requests being handled now."""

    def run(self) -> None:
        listener = self._httpd.socket
        listener.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(_POLL_SECONDS):
                    if key.fileobj is listener:
                        self._accept(listener)
                    else:
                        self._read(key.fileobj)  # type: ignore[arg-type]
                self._expire(time.monotonic())
        finally:
            for connection in list(self._waiting):
                self._drop(connection)
            self._selector.close()

    def stop(self) -> None:
        self._stopping.set()

    def _accept(self, listener: socket.socket) -> None:
        """Up to `MAX_WAITING` new connections per round, so a flood of them cannot starve
        the reading and the closing of the others."""
        for _ in range(MAX_WAITING):
            try:
                connection, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                log.warning("metrics server cannot accept a connection: %s", error.strerror)
                return
            if len(self._waiting) >= MAX_WAITING:
                self._drop(next(iter(self._waiting)))
            connection.setblocking(False)
            self._waiting[connection] = (time.monotonic() + self._read_timeout, bytearray())
            self._selector.register(connection, selectors.EVENT_READ)

    def _read(self, connection: socket.socket) -> None:
        if connection not in self._waiting:
            return  # closed earlier in this round, to make room for a newer one
        try:
            data = connection.recv(8192)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(connection)
            return
        head = self._waiting[connection][1]
        searched_from = max(len(head) - 3, 0)
        head += data
        if head.find(b"\r\n\r\n", searched_from) >= 0 or head.find(b"\n\n", searched_from) >= 0:
            self._selector.unregister(connection)
            del self._waiting[connection]
            self._dispatch(connection, bytes(head))
        elif len(head) > MAX_HEAD_BYTES:
            self._drop(connection)

    def _expire(self, now: float) -> None:
        for connection, (deadline, _) in list(self._waiting.items()):
            if deadline > now:
                break
            self._drop(connection)

    def _drop(self, connection: socket.socket) -> None:
        self._selector.unregister(connection)
        del self._waiting[connection]
        connection.close()

    def _dispatch(self, connection: socket.socket, head: bytes) -> None:
        with self._lock:
            free = self.busy < MAX_CONNECTIONS
            if free:
                self.busy += 1
        if not free:
            with contextlib.suppress(OSError):
                connection.send(_BUSY_RESPONSE)
            connection.close()
            return
        connection.settimeout(self._read_timeout)
        threading.Thread(target=self._handle, args=(connection, head),
                         name="metrics-request", daemon=True).start()

    def _handle(self, connection: socket.socket, head: bytes) -> None:
        try:
            _RequestHandler(connection, connection.getpeername(), self._httpd, head)
        except Exception as error:  # a client that vanished or stalled costs its request only
            log.debug("metrics request failed: %r", error)
        finally:
            self._httpd.shutdown_request(connection)
            with self._lock:
                self.busy -= 1


def _server_class_for(host: str, port: int) -> type[WSGIServer]:
    """A server class bound to the address family of `host`, so IPv6 hosts work too."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

    class _Server(WSGIServer):
        address_family = family
        request_queue_size = 128

    return _Server


class MetricsServer:
    """Serves the snapshot metrics over HTTP until stopped.

    `/healthz` answers 200 `{"status": "ok", "models": N, "records": N, "sources": [...]}`;
    503 with `"status": "stale"` when `stale_after_seconds` is set and the latest snapshot was
    generated longer ago than that (the runtime stalled; the caller picks the bound, typically
    ten times the runtime's cadence); 503 with `"status": "unhealthy"` and `reasons` while a
    source of the snapshot is failing or stuck; 200 with `"status": "catching up"` and
    `progress` (`HistoryProgress`) while the history on disk at start is being read: the
    process is alive and `/metrics` already counts what was read, and a probe that failed
    then would restart a large storage's reader before it ever caught up. Every other path
    is 404. Extra collectors (for
    example the alerts') can be registered on `registry`. Given a `registry`, the server
    serves it instead of the snapshot's metrics (the old API's in-process registry), and
    `get_snapshot` only answers `/healthz`.

    The body lists the polled remote targets (`targets`: name, up, detail), but a target that
    is down leaves the verdict alone: the probe says whether this process serves its own
    metrics, and restarting it would not bring another host back (`neural_target_up` and
    `neural-tui health` are what judge the targets).
    """

    def __init__(
        self,
        get_snapshot: Callable[[], Snapshot],
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        stale_after_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.host = host
        self.registry: CollectorRegistry = (
            registry if registry is not None else build_registry(get_snapshot))
        self._requested_port = port
        self._get_snapshot = get_snapshot
        self._stale_after_seconds = stale_after_seconds
        self._clock = clock
        self._read_timeout = read_timeout_seconds
        self._httpd: WSGIServer | None = None
        self._dispatcher: _Dispatcher | None = None
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

    @property
    def busy_connections(self) -> int:
        """Requests being handled right now (at most `MAX_CONNECTIONS`)."""
        return self._dispatcher.busy if self._dispatcher is not None else 0

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("MetricsServer is already running")
        try:
            httpd = make_server(
                self.host,
                self._requested_port,
                self._application,
                server_class=_server_class_for(self.host, self._requested_port),
            )
        except OSError as error:
            raise MetricsServerBindError(
                error.errno,
                f"cannot serve metrics on {self.host}:{self._requested_port}: {error.strerror}",
            ) from error
        self._httpd = httpd
        self._dispatcher = _Dispatcher(httpd, self._read_timeout)
        self._thread = threading.Thread(
            target=self._dispatcher.run, name=f"metrics-server-{self.port}", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket, so the port is free on return."""
        if self._httpd is None or self._thread is None or self._dispatcher is None:
            return
        self._dispatcher.stop()
        self._thread.join()
        self._httpd.server_close()
        self._httpd = None
        self._dispatcher = None
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
            return self._metrics(environ, start_response)
        if path == "/healthz":
            return self._healthz(start_response)
        return _plain(start_response, "404 Not Found", b"not found: try /metrics or /healthz\n")

    def _metrics(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        """The registry in the text format 0.0.4 (see the module docstring)."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            start_response("200 OK", [("Allow", _ALLOWED_METHODS), ("Content-Length", "0")])
            return [b""]
        if method not in ("GET", "HEAD"):
            body = f"method {method} not allowed: use GET\n".encode("ascii", "replace")
            start_response("405 Method Not Allowed", [
                ("Allow", _ALLOWED_METHODS), ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body)))])
            return [body]
        names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
        if names:
            body = generate_latest(self.registry.restricted_registry(names))
        elif isinstance(self.registry, ExporterRegistry):
            body = self.registry.exposition()
        else:
            body = generate_latest(self.registry)
        headers = [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4), ("Vary", "Accept-Encoding")]
        if _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [b""] if method == "HEAD" else [body]

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        """503 `stale` when the runtime stalled, 503 `unhealthy` with one reason per source
        failing or stuck, 200 `catching up` (with `progress`) while the history on disk at
        start is read, else 200 `ok`; the body lists every source's status."""
        snapshot = self._get_snapshot()
        age = self._clock() - snapshot.generated_at
        stale = self._stale_after_seconds is not None and age > self._stale_after_seconds
        reasons = [f"source {h.label} {h.status}: {h.detail}"
                   for h in snapshot.source_health if h.status != "ok"]
        verdict = ("stale" if stale else "unhealthy" if reasons
                   else "catching up" if snapshot.catching_up else "ok")
        history = snapshot.history
        body = json.dumps(
            {
                "status": verdict,
                "reasons": reasons,
                "progress": None if history is None else {
                    "text": history.describe(),
                    "fraction": round(history.fraction, 4),
                    "bytes_read": history.bytes_read,
                    "bytes_total": history.bytes_total,
                    "records_read": history.records_read,
                    "records_per_second": round(history.records_per_second, 1),
                    "seconds_left": (None if history.seconds_left is None
                                     else round(history.seconds_left, 1)),
                },
                "models": len(snapshot.local_models),
                "records": snapshot.ingest.records_total,
                "snapshot_age_seconds": round(age, 3),
                "sources": [{"label": h.label, "status": h.status, "detail": h.detail}
                            for h in snapshot.source_health],
                "targets": [{"name": t.name, "up": t.up, "detail": t.detail}
                            for t in snapshot.targets],
            }
        ).encode()
        status = "503 Service Unavailable" if stale or reasons else "200 OK"
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` header accepts gzip: named (or else `*`) with a weight
    above zero."""
    weights: dict[str, float] = {}
    for coding in accept_encoding.split(","):
        name, _, parameters = coding.partition(";")
        quality = parameters.strip().lower()
        weights[name.strip().lower()] = _weight(quality[2:]) if quality.startswith("q=") else 1.0
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0


def _weight(text: str) -> float:
    """A `q=` weight; an unreadable one counts as 1, as if it were absent."""
    try:
        return float(text)
    except ValueError:
        return 1.0


def _plain(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
