"""Loopback servers a target source polls in the tests: a scripted HTTP server (slow, trickling,
failing or healthy on demand), a socket that accepts and never answers, one that resets every
connection, and real headless exporters over storage written by `ModelMonitor`."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from realservers import LOOPBACK, headless_server


@dataclass
class Reply:
    """What the scripted server answers: `delay` before the headers, then the body, a byte
    every `trickle` seconds if set (no Content-Length then)."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/plain; version=0.0.4; charset=utf-8"
    delay: float = 0.0
    trickle: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    at: float
    path: str
    headers: dict[str, str]
    client_port: int


class ReplyServer:
    """A threaded HTTP server on 127.0.0.1 answering every GET with `reply(request)`, keeping
    each request (monotonic time, path, headers) in `requests`; HTTPS with `tls`."""

    def __init__(self, reply: Callable[[Request], Reply], tls: ssl.SSLContext | None = None
                 ) -> None:
        self.reply = reply
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                request = Request(time.monotonic(), self.path, dict(self.headers.items()),
                                  self.client_address[1])
                server.requests.append(request)
                answer = server.reply(request)
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.trickle:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for byte in answer.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.trickle)
                        return
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    return

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://{LOOPBACK}:{self._httpd.server_address[1]}/metrics"

    def __enter__(self) -> ReplyServer:
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A `/metrics` URL whose socket accepts every connection and never sends a byte."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}/metrics"
    finally:
        listener.close()
        for connection in held:
            connection.close()


@contextmanager
def resetting_server() -> Iterator[str]:
    """A `/metrics` URL whose socket reads each request and resets the connection (RST)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(64)

    def reset() -> None:
        while True:
            try:
                connection, _ = listener.accept()
                connection.recv(65536)
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
                connection.close()
            except OSError:
                return

    threading.Thread(target=reset, daemon=True).start()
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}/metrics"
    finally:
        listener.close()


@contextmanager
def headless_exporter(storage: Path, workdir: Path) -> Iterator[str]:
    """A real `--serve-metrics` process over `storage`; yields its base URL."""
    server, url = headless_server(f"exporter-{storage.name}", workdir, storage)
    server.start()
    try:
        yield url
    finally:
        server.stop()
