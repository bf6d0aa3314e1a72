"""The exporter's HTTP server under hostile clients: it cannot be held open or exhausted."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from realservers import LOOPBACK, free_port

from neural_tui.metrics_server import MAX_CONNECTIONS, MAX_HEAD_BYTES, MetricsServer
from neural_tui.runtime.snapshot import Snapshot

HALF_OPEN = 500


@contextlib.contextmanager
def half_sent_requests(port: int, n: int) -> Iterator[list[socket.socket]]:
    """`n` connections that each send the start of a request and never finish it."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(n):
            client = socket.create_connection((LOOPBACK, port), timeout=5)
            client.sendall(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n")
            sockets.append(client)
        yield sockets
    finally:
        for client in sockets:
            client.close()


def closed_by_peer(client: socket.socket) -> bool:
    """True once the server closed this connection (waits up to 5 s for it)."""
    client.settimeout(5)
    try:
        return client.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_half_sent_requests_hold_no_thread_and_a_scrape_still_answers():
    with MetricsServer(Snapshot.empty, read_timeout_seconds=1.0) as server:
        threads_before = threading.active_count()
        with half_sent_requests(server.port, HALF_OPEN) as sockets:
            response = httpx.get(f"{server.url}/metrics", timeout=5)
            threads_during = threading.active_count()

            assert response.status_code == 200
            assert b"neural_active_models" in response.content
            assert threads_during <= threads_before + MAX_CONNECTIONS + 2
            assert all(closed_by_peer(client) for client in sockets)


def test_a_request_sent_one_byte_at_a_time_is_closed_at_the_read_deadline():
    with MetricsServer(Snapshot.empty, read_timeout_seconds=1.0) as server:
        client = socket.create_connection((LOOPBACK, server.port), timeout=5)
        with client:
            closed = False
            for byte in b"GET /metrics HTTP/1.1\r\nHost: drip-drip-drip-drip-drip-drip\r\n":
                try:
                    client.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                client.settimeout(0.2)
                try:
                    if client.recv(1024) == b"":
                        closed = True
                        break
                except TimeoutError:
                    continue
                except ConnectionResetError:
                    closed = True
                    break
            assert closed


def test_a_request_head_longer_than_the_limit_is_closed_before_the_deadline():
    with (MetricsServer(Snapshot.empty, read_timeout_seconds=30.0) as server,
          socket.create_connection((LOOPBACK, server.port), timeout=5) as client):
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            client.sendall(b"GET /metrics HTTP/1.1\r\nX-Long: " + b"x" * MAX_HEAD_BYTES)
        assert closed_by_peer(client)


@pytest.fixture
def blocking_server() -> Iterator[tuple[MetricsServer, threading.Event]]:
    """A server whose every scrape waits until the test sets the event."""
    release = threading.Event()

    def snapshot() -> Snapshot:
        release.wait(10)
        return Snapshot.empty()

    with MetricsServer(snapshot, read_timeout_seconds=10.0) as server:
        try:
            yield server, release
        finally:
            release.set()


def test_requests_beyond_the_connection_cap_are_503_without_a_thread(blocking_server):
    server, release = blocking_server
    threads_before = threading.active_count()
    extra = 8
    with ThreadPoolExecutor(MAX_CONNECTIONS) as clients:
        scrapes = [clients.submit(httpx.get, f"{server.url}/metrics", timeout=10)
                   for _ in range(MAX_CONNECTIONS)]
        for _ in range(1000):
            if server.busy_connections == MAX_CONNECTIONS:
                break
            threading.Event().wait(0.01)
        assert server.busy_connections == MAX_CONNECTIONS
        refused = [httpx.get(f"{server.url}/metrics", timeout=5) for _ in range(extra)]
        threads_at_cap = threading.active_count() - MAX_CONNECTIONS
        release.set()
        answered = [scrape.result(timeout=10) for scrape in scrapes]

    assert [r.status_code for r in refused] == [503] * extra
    assert all(r.headers["Retry-After"] for r in refused)
    assert [r.status_code for r in answered] == [200] * MAX_CONNECTIONS
    assert threads_at_cap <= threads_before + MAX_CONNECTIONS + 2


def threads_of(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def test_the_headless_process_answers_a_scrape_among_half_sent_requests(tmp_path):
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "a.jsonl").write_text(
        '{"timestamp": 1700000000, "prediction_id": "p1", "input_features": {"x": 1},'
        ' "prediction": 0, "latency_ms": 5}\n')
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("neural-tui")), "--serve-metrics", "--storage",
         str(tmp_path), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            assert process.poll() is None
            time.sleep(0.1)
        threads_before = threads_of(process.pid)
        with half_sent_requests(port, HALF_OPEN):
            response = httpx.get(f"{url}/metrics", timeout=5)
            threads_during = threads_of(process.pid)
        assert response.status_code == 200
        assert b"neural_ingest_records_total" in response.content
        assert threads_during <= threads_before + MAX_CONNECTIONS
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_failed_response_traceback_goes_to_the_debug_log_not_stderr(caplog):
    """wsgiref writes the traceback of a response that failed mid-write (a stalled client) to
    the handler's stderr: it must not reach the exporter's own stderr."""
    from neural_tui.metrics_server import _RequestHandler

    stream = _RequestHandler.get_stderr(None)  # type: ignore[arg-type]
    with caplog.at_level(logging.DEBUG, logger="neural_tui.metrics_server"):
        stream.write("Traceback (most recent call last):\nTimeoutError: timed out\n")
    assert stream is not sys.stderr
    assert [record.levelno for record in caplog.records] == [logging.DEBUG]
    assert "TimeoutError: timed out" in caplog.text
