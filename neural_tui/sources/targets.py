"""Remote `/metrics` endpoints polled as a source: one task per target, each on its own clock.

Every target is polled by a task of its own on a fixed schedule (`schedule`: the first polls
spread over a second, the later ones over the interval, so a fleet never arrives at once), with
a client of its own, so a target that never answers or trickles its body only ever costs its
own task: its timeout is a deadline on the whole request (connect, headers and body), and the
body is refused past `MAX_BODY_BYTES` as it streams in. Bodies are decompressed (at most
`MAX_BODY_BYTES` of output, so a gzip bomb costs no more than an honest body), parsed
(`exposition.py`) and turned into rates (`remote_rates.py`) in daemon threads, so the event loop
only moves bytes. Host names are resolved in daemon threads of their own (`_Resolver`), not in
the loop's default executor: a name whose DNS never answers holds one of them, never the few
threads the rest of the process shares, and never keeps `status` from exiting.

Each poll yields one `RemoteView` labelled `target NAME`, holding that target's `TargetStatus`.
A target that is down shows no models (`models=()`): the console shows it down rather than its
last figures as if they were current. Its last good scrape is kept, so the first poll after it
comes back has rates again, over the whole gap.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpcore
import httpx

from neural_tui.remote_models import Endpoint, RemoteModel, RemoteView, TargetStatus
from neural_tui.sources.exposition import ExpositionError, Scrape, parse_exposition
from neural_tui.sources.remote_rates import ModelSeries, RateWindow, poll_increase, remote_model
from neural_tui.sources.workers import DaemonExecutor

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Largest `/metrics` body read (after decompression); a larger one is refused as it streams.
Our exporter's body for 500 models (the most a body keeps) of 50 features is about 4 MiB; the
parser costs about a second of CPU per 2 to 4 MiB (more for hostile lines), so this also
bounds what one hostile target costs the parser threads per poll."""
ACCEPT = "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;q=0.5,*/*;q=0.1"
"""The Prometheus text format first; OpenMetrics is read too when a server sends it."""
FIRST_ROUND_SPREAD_SECONDS = 1.0
"""The targets' first polls are spread over this much (or their interval, if shorter)."""
PARSE_THREADS = 2
"""Threads that parse bodies: two, so one huge body never queues every other target's."""
RESOLVER_THREADS = 16
"""Threads resolving host names: a name whose DNS hangs holds one until the resolver gives up,
so only this many such targets at once delay the other targets' new connections."""
MAX_DETAIL_CHARS = 200


class _PollFailed(Exception):
    """A poll that got an answer, but not a usable one; the message is the status detail."""


class _Target:
    """One endpoint's state between polls: its last good scrape and its models' series."""

    def __init__(self, endpoint: Endpoint, series_points: int,
                 rate_window_seconds: float) -> None:
        self.endpoint = endpoint
        self.label = f"target {endpoint.name}"
        self.series_points = series_points
        self.rate_window_seconds = rate_window_seconds
        self.windows: dict[tuple[str, str], RateWindow] = {}
        self.scrape: Scrape | None = None
        self.scraped_at = 0.0
        """When `scrape` arrived, on the monotonic clock."""
        self.series: dict[tuple[str, str], ModelSeries] = {}
        self.last_success_at: float | None = None
        self.lock = asyncio.Lock()

    def models(self, scrape: Scrape, received_at: float) -> tuple[RemoteModel, ...]:
        """The models of `scrape` with their rates over the rate window (one point a poll in
        their series); remembers it."""
        previous = self.scrape
        elapsed = received_at - self.scraped_at if previous is not None else 0.0
        series: dict[tuple[str, str], ModelSeries] = {}
        windows: dict[tuple[str, str], RateWindow] = {}
        models = []
        for key, current in scrape.models.items():
            ring = series[key] = self.series.get(key) or ModelSeries(self.series_points)
            window = windows[key] = (self.windows.get(key)
                                     or RateWindow(self.rate_window_seconds))
            before = previous.models.get(key) if previous is not None else None
            rates = None
            if before is not None and elapsed > 0:
                poll = poll_increase(before, current, elapsed)
                ring.add(poll.rates())
                window.add(poll)
                rates = window.rates()
            covered = window.covered_seconds or self.endpoint.interval_seconds
            models.append(remote_model(current, rates, covered, ring, self.endpoint.name))
        self.scrape, self.scraped_at = scrape, received_at
        self.series, self.windows = series, windows
        return tuple(models)


class TargetSource:
    """Polls every endpoint concurrently, each on its own interval and timeout."""

    def __init__(self, endpoints: Sequence[Endpoint], *, series_points: int = 60,
                 rate_window_seconds: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.endpoints = tuple(endpoints)
        self.series_points = series_points
        self.clock = clock
        self.max_body_bytes = MAX_BODY_BYTES
        self._targets = [_Target(endpoint, series_points, rate_window_seconds)
                         for endpoint in self.endpoints]
        self._parser = DaemonExecutor(PARSE_THREADS, "neural-tui-targets")
        self._resolver = _Resolver(DaemonExecutor(RESOLVER_THREADS, "neural-tui-resolver"))

    @property
    def label(self) -> str:
        return "targets"

    async def views(self) -> AsyncIterator[RemoteView]:
        """Each target's view as soon as its poll ends, until cancelled; if the reader falls
        behind, a target's newer view replaces its older one."""
        mailbox = _Mailbox()
        async with self._clients() as clients:
            count = len(self._targets)
            tasks = [
                asyncio.create_task(
                    self._poll_forever(client, target, mailbox,
                                       *schedule(i, count, target.endpoint.interval_seconds)),
                    name=f"poll {target.label}")
                for i, (client, target) in enumerate(zip(clients, self._targets, strict=True))
            ]
            try:
                while True:
                    for view in await mailbox.take():
                        yield view
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def fetch(self) -> tuple[RemoteView, ...]:
        """One poll of every target, all at once, in the order of the endpoints."""
        async with self._clients() as clients:
            return tuple(await asyncio.gather(*(
                self._poll(client, target)
                for client, target in zip(clients, self._targets, strict=True))))

    @asynccontextmanager
    async def _clients(self) -> AsyncIterator[list[httpx.AsyncClient]]:
        """A client per target, in the order of the targets: httpx's connection pool looks
        at every connection it holds on each request, so one pool for a fleet costs each poll
        as much as the fleet is large. A client keeps its one connection alive from one poll
        to the next (httpx's default expiry, 5 s, is the default interval), takes no proxy
        or netrc from the environment (a scrape goes straight to its target, as Prometheus'
        does) and shares one TLS context (which honours `SSL_CERT_FILE`) with the others."""
        tls = await asyncio.get_running_loop().run_in_executor(
            self._parser, httpx.create_ssl_context)   # reads the CA bundle: tens of ms
        async with AsyncExitStack() as stack:
            yield [
                await stack.enter_async_context(httpx.AsyncClient(
                    transport=_Transport(tls, self._resolver,
                                         keepalive_expiry=target.endpoint.interval_seconds * 2),
                    trust_env=False,
                    follow_redirects=False,
                    headers={"Accept": ACCEPT, "Accept-Encoding": "gzip",
                             "User-Agent": "neural-tui"},
                ))
                for target in self._targets
            ]

    async def _poll_forever(self, client: httpx.AsyncClient, target: _Target,
                            mailbox: _Mailbox, first: float, phase: float) -> None:
        """Poll at `first`, then at `phase` plus every interval; slots missed by a slow poll
        or a busy loop are skipped, never made up in a burst."""
        loop = asyncio.get_running_loop()
        interval = target.endpoint.interval_seconds
        start = loop.time()
        due = start + first
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            mailbox.put(await self._poll(client, target))
            due = max(due, start + phase) + interval
            behind = loop.time() - due
            if behind > 0:
                due += math.ceil(behind / interval) * interval

    async def _poll(self, client: httpx.AsyncClient, target: _Target) -> RemoteView:
        """One poll of `target`, whatever happens: a failure is the view's status."""
        async with target.lock:
            endpoint = target.endpoint
            started = time.monotonic()
            models: tuple[RemoteModel, ...] = ()
            try:
                async with asyncio.timeout(endpoint.timeout_seconds):
                    body, headers = await self._download(client, endpoint)
                received_at = time.monotonic()
                models, notes = await asyncio.get_running_loop().run_in_executor(
                    self._parser, _read, target, body, headers, self.max_body_bytes,
                    received_at)
                up, detail = True, notes
            except (TimeoutError, httpx.TimeoutException):
                up, detail = False, f"timed out after {endpoint.timeout_seconds:g} s"
            except _PollFailed as exc:
                up, detail = False, str(exc)
            except ExpositionError as exc:
                up, detail = False, f"not a /metrics body: {exc}"
            except httpx.ConnectError as exc:
                up, detail = False, f"cannot connect: {exc}"
            except httpx.LocalProtocolError:
                up, detail = False, "cannot send the request: check the URL and credentials"
            except httpx.HTTPError as exc:
                up, detail = False, _http_error(exc)
            except Exception as exc:  # one target's surprise must not end its polling
                log.exception("polling %s failed", endpoint.name)
                up, detail = False, f"poll failed: {type(exc).__name__}: {exc}"
            now = self.clock()
            if up:
                target.last_success_at = now
            status = TargetStatus(
                name=endpoint.name,
                url=endpoint.url,
                up=up,
                detail=_one_line(detail),
                last_success_at=target.last_success_at,
                last_poll_seconds=time.monotonic() - started,
            )
            return RemoteView(label=target.label, at=now, models=models, targets=(status,))

    async def _download(self, client: httpx.AsyncClient, endpoint: Endpoint
                        ) -> tuple[bytes, httpx.Headers]:
        """The body as sent (still compressed) and the headers; refused unless 200 and within
        the size cap. httpx would decompress each chunk whole on the loop: a 64 KiB chunk of
        a gzip bomb is 64 MiB."""
        headers = ({"Authorization": f"Bearer {endpoint.bearer_token}"}
                   if endpoint.bearer_token else None)
        async with client.stream("GET", endpoint.url, headers=headers,
                                 auth=endpoint.basic_auth,
                                 timeout=httpx.Timeout(endpoint.timeout_seconds)) as response:
            if response.is_redirect:
                raise _PollFailed(f"HTTP {response.status_code}: a redirect, not followed "
                                  "(point the URL at the /metrics it redirects to)")
            if response.status_code == 404:
                raise _PollFailed("HTTP 404: no such path (does the URL end in /metrics?)")
            if response.status_code != 200:
                raise _PollFailed(f"HTTP {response.status_code}")
            cap = self.max_body_bytes
            too_large = _PollFailed(f"body larger than {_size(cap)}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise too_large
            chunks = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > cap:
                    raise too_large
                chunks.append(chunk)
            return b"".join(chunks), response.headers


class _Resolver(httpcore.AsyncNetworkBackend):
    """httpcore's own network backend, except that a host name is resolved in `executor`
    (daemon threads) and its addresses are tried in turn."""

    def __init__(self, executor: DaemonExecutor) -> None:
        self._backend = httpcore.AnyIOBackend()
        self._executor = executor

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.get_running_loop().run_in_executor(
                self._executor, socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failed: httpcore.ConnectError | None = None
        for address in dict.fromkeys(str(info[4][0]) for info in infos):
            try:
                return await self._backend.connect_tcp(address, port, timeout, local_address,
                                                       socket_options)
            except httpcore.ConnectError as exc:
                failed = exc
        raise failed or httpcore.ConnectError(f"{host}: no address")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        return await self._backend.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _Transport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool that keeps one connection alive (a second while it is
    busy) and resolves names with `resolver`: httpx takes no network backend, so its pool is
    replaced by one that does."""

    def __init__(self, tls: ssl.SSLContext, resolver: _Resolver, *,
                 keepalive_expiry: float) -> None:
        super().__init__(verify=tls, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls, max_connections=2, max_keepalive_connections=1,
            keepalive_expiry=keepalive_expiry, network_backend=resolver)


def schedule(index: int, count: int, interval: float) -> tuple[float, float]:
    """When target `index` of `count` polls, in seconds after the source starts: its first
    poll (the fleet's spread over the first second, so the console fills at once) and the
    phase of the later ones (spread over the whole interval, so one core's work is even)."""
    share = index / count
    return min(FIRST_ROUND_SPREAD_SECONDS, interval) * share, interval * share


def _read(target: _Target, body: bytes, headers: httpx.Headers, cap: int, received_at: float
          ) -> tuple[tuple[RemoteModel, ...], str]:
    """In a parser thread: the body's models with their rates, and the status detail."""
    body = _decoded(body, headers.get("Content-Encoding", ""), cap)
    content_type = headers.get("Content-Type", "")
    openmetrics = content_type.split(";", 1)[0].strip().lower() == "application/openmetrics-text"
    scrape = parse_exposition(body.decode("utf-8", errors="replace"), openmetrics=openmetrics)
    models = target.models(scrape, received_at)
    notes = list(scrape.notes)
    if not models:
        notes.append("no neural-tui model metrics in the body")
    return models, "; ".join(notes)


def _http_error(exc: httpx.HTTPError) -> str:
    """`ReadError: ...`; httpx gives some errors no message (a connection reset mid-read),
    which would leave a bare `ReadError:` as the reason."""
    message = str(exc)
    if not message:
        message = ("the connection was closed or reset" if isinstance(exc, httpx.NetworkError)
                   else "no detail")
    return f"{type(exc).__name__}: {message}"

def _decoded(body: bytes, encoding: str, cap: int) -> bytes:
    """`body` decompressed as its Content-Encoding says (gzip, the one we ask for, or none),
    refused once the output passes `cap` bytes: the decompressor never makes more."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise _PollFailed(f"Content-Encoding {encoding[:40]!r} is not gzip")
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        decoded = decompressor.decompress(body, cap + 1)
    except zlib.error as exc:
        raise _PollFailed(f"gzip body cannot be read: {exc}") from exc
    if len(decoded) > cap:
        raise _PollFailed(f"body larger than {_size(cap)}")
    if not decompressor.eof:
        raise _PollFailed("gzip body cut short")
    return decoded


def _one_line(detail: str) -> str:
    """`detail` on one line of printable characters (a parser's message quotes the body)."""
    line = " ".join(detail[:MAX_DETAIL_CHARS * 4].split())[:MAX_DETAIL_CHARS]
    return "".join(char if char.isprintable() else "\ufffd" for char in line)


def _size(n_bytes: int) -> str:
    mib = n_bytes / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{n_bytes} bytes"


class _Mailbox:
    """The newest undelivered view of each target, and a wake-up for the reader."""

    def __init__(self) -> None:
        self._views: dict[str, RemoteView] = {}
        self._ready = asyncio.Event()

    def put(self, view: RemoteView) -> None:
        self._views.pop(view.label, None)
        self._views[view.label] = view
        self._ready.set()

    async def take(self) -> list[RemoteView]:
        await self._ready.wait()
        self._ready.clear()
        views = list(self._views.values())
        self._views.clear()
        return views
