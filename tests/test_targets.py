"""One poll of a target, against loopback servers that answer well, badly or not at all."""

from __future__ import annotations

import asyncio
import base64
import gzip
import socket
import ssl
import subprocess
import threading
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from realservers import require_binary
from target_servers import Reply, ReplyServer, Request, resetting_server, silent_server

from neural_tui.remote_models import Endpoint, RemoteView
from neural_tui.sources.targets import FIRST_ROUND_SPREAD_SECONDS, TargetSource, schedule

TIMEOUT = 0.5
NOW = 1_800_000_000.0


def body(predictions: int, errors: int = 0) -> bytes:
    """A body of one model with a three-bucket histogram: every prediction under 0.1 s."""
    return (
        "# TYPE neural_predictions_total counter\n"
        f'neural_predictions_total{{model="fraud",version="2"}} {predictions}\n'
        "# TYPE neural_errors_total counter\n"
        f'neural_errors_total{{model="fraud",version="2",error_type="timeout"}} {errors}\n'
        "# TYPE neural_prediction_latency_seconds histogram\n"
        f'neural_prediction_latency_seconds_bucket{{model="fraud",version="2",le="0.05"}} '
        f"{predictions // 2}\n"
        f'neural_prediction_latency_seconds_bucket{{model="fraud",version="2",le="0.1"}} '
        f"{predictions}\n"
        f'neural_prediction_latency_seconds_bucket{{model="fraud",version="2",le="+Inf"}} '
        f"{predictions}\n"
        f'neural_prediction_latency_seconds_count{{model="fraud",version="2"}} {predictions}\n'
        f'neural_prediction_latency_seconds_sum{{model="fraud",version="2"}} 1.0\n'
    ).encode()


def endpoint(url: str, name: str = "a", **overrides: object) -> Endpoint:
    fields: dict[str, object] = {"name": name, "url": url, "interval_seconds": 1.0,
                                 "timeout_seconds": TIMEOUT}
    fields.update(overrides)
    return Endpoint(**fields)  # type: ignore[arg-type]


async def poll_once(source: TargetSource) -> RemoteView:
    (view,) = await source.fetch()
    return view


async def test_a_healthy_target_is_up_with_its_models_labelled_by_the_target():
    with ReplyServer(lambda request: Reply(body(100, 3))) as server:
        view = await poll_once(TargetSource([endpoint(server.url, "host-1")],
                                            clock=lambda: NOW))
    assert view.label == "target host-1"
    assert view.at == NOW
    (status,) = view.targets
    assert (status.name, status.url, status.up, status.detail) == ("host-1", server.url,
                                                                   True, "")
    assert status.last_success_at == NOW
    assert status.last_poll_seconds is not None and status.last_poll_seconds > 0
    (model,) = view.models
    assert (model.name, model.version, model.instance) == ("fraud", "2", "host-1")
    assert (model.predictions_total, dict(model.errors_total)) == (100, {"timeout": 3})
    assert model.throughput_rps is None                  # rates need a second scrape


async def test_the_second_poll_has_rates_by_prometheus_rules():
    replies = iter([body(100, 0), body(300, 20)])
    with ReplyServer(lambda request: Reply(next(replies))) as server:
        source = TargetSource([endpoint(server.url)], series_points=5)
        await poll_once(source)
        (model,) = (await poll_once(source)).models
    assert model.throughput_rps is not None and model.throughput_rps > 0
    assert model.error_rate == pytest.approx(20 / 200)
    # 200 new predictions, 100 of them under 0.05 s: p50 is the top of the lowest bucket and
    # p95 is 0.05 + 0.05 * 90/100 s.
    assert model.latency_p50_ms == pytest.approx(50.0)
    assert model.latency_p95_ms == pytest.approx(95.0)
    assert model.latency_p95_series == (pytest.approx(95.0),)
    assert model.window_seconds > 0


async def test_the_request_asks_for_the_text_format_and_carries_a_bearer_token():
    def reply(request: Request) -> Reply:
        if request.headers.get("Authorization") != "Bearer s3cret":
            return Reply(b"no", status=401)
        return Reply(body(1))

    with ReplyServer(reply) as server:
        good = await poll_once(TargetSource([endpoint(server.url, bearer_token="s3cret")]))
        bad = await poll_once(TargetSource([endpoint(server.url, bearer_token="wrong")]))
    assert good.targets[0].up
    assert server.requests[0].headers["Accept"].startswith("text/plain;version=0.0.4")
    assert (bad.targets[0].up, bad.targets[0].detail) == (False, "HTTP 401")
    assert "wrong" not in repr(bad)


async def test_basic_auth_is_sent():
    expected = "Basic " + base64.b64encode(b"scraper:pa ss").decode()
    with ReplyServer(lambda r: Reply(body(1)) if r.headers.get("Authorization") == expected
                     else Reply(b"", status=401)) as server:
        view = await poll_once(TargetSource([endpoint(server.url,
                                                      basic_auth=("scraper", "pa ss"))]))
    assert view.targets[0].up


async def test_a_target_that_never_answers_is_down_after_its_timeout():
    with silent_server() as url:
        view = await poll_once(TargetSource([endpoint(url)]))
    assert view.models == ()
    assert (view.targets[0].up, view.targets[0].detail) == (False, "timed out after 0.5 s")
    assert view.targets[0].last_success_at is None


async def test_a_target_that_resets_the_connection_is_down_with_a_reason_not_a_bare_name():
    with resetting_server() as url:
        view = await poll_once(TargetSource([endpoint(url)]))
    assert (view.targets[0].up, view.targets[0].detail) == (
        False, "ReadError: the connection was closed or reset")


async def test_a_redirect_is_not_followed_and_the_reason_says_so():
    with ReplyServer(lambda r: Reply(b"", status=302, headers={"Location": "/other"})) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert [request.path for request in server.requests] == ["/metrics"]
    assert view.targets[0].up is False
    assert view.targets[0].detail.startswith("HTTP 302: a redirect, not followed")


async def test_a_body_trickling_in_faster_than_the_read_timeout_is_cut_at_the_deadline():
    # A byte every 50 ms never trips a 0.5 s read timeout; only the whole-request deadline
    # can end this poll.
    with ReplyServer(lambda r: Reply(body(1) * 20, trickle=0.05)) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert (view.targets[0].up, view.targets[0].detail) == (False, "timed out after 0.5 s")


@pytest.mark.parametrize("reply", [
    Reply(b"x" * 5_000),                 # says its length up front
    Reply(b"x" * 5_000, trickle=1e-6),   # streamed without a length
    Reply(gzip.compress(b"#" * 100_000), headers={"Content-Encoding": "gzip"}),  # a small bomb
])
async def test_a_body_past_the_cap_is_refused(reply):
    with ReplyServer(lambda r: reply) as server:
        source = TargetSource([endpoint(server.url, timeout_seconds=10.0)])
        source.max_body_bytes = 1_000
        view = await poll_once(source)
    assert (view.targets[0].up, view.targets[0].detail) == (False,
                                                            "body larger than 1000 bytes")


async def test_a_gzip_bomb_is_refused_without_ever_holding_more_than_the_cap():
    bomb = gzip.compress(b"\0" * 100_000_000)   # 100 MB of zeros in about 100 KB
    with ReplyServer(lambda r: Reply(bomb, headers={"Content-Encoding": "gzip"})) as server:
        source = TargetSource([endpoint(server.url, timeout_seconds=10.0)])
        source.max_body_bytes = 1024 * 1024
        tracemalloc.start()
        try:
            view = await poll_once(source)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (view.targets[0].up, view.targets[0].detail) == (False, "body larger than 1 MiB")
    assert peak < 8_000_000       # httpx alone decompressed a 64 KiB read into 64 MB at once


async def test_a_gzip_body_is_read_and_one_cut_short_or_of_another_encoding_is_the_reason():
    whole = gzip.compress(body(100))
    replies = iter([Reply(whole, headers={"Content-Encoding": "gzip"}),
                    Reply(whole[:-20], headers={"Content-Encoding": "gzip"}),
                    Reply(body(100), headers={"Content-Encoding": "br"})])
    with ReplyServer(lambda r: next(replies)) as server:
        source = TargetSource([endpoint(server.url)])
        views = [await poll_once(source) for _ in range(3)]
    assert [v.models[0].predictions_total for v in views[:1]] == [100]
    assert [(v.targets[0].up, v.targets[0].detail) for v in views] == [
        (True, ""), (False, "gzip body cut short"),
        (False, "Content-Encoding 'br' is not gzip")]


async def test_an_error_status_is_the_reason():
    with ReplyServer(lambda r: Reply(b"overloaded", status=503)) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert (view.targets[0].up, view.targets[0].detail) == (False, "HTTP 503")


async def test_a_url_without_its_metrics_path_is_told_to_end_in_metrics():
    with ReplyServer(lambda r: Reply(b"404 page not found", status=404)) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert (view.targets[0].up, view.targets[0].detail) == (
        False, "HTTP 404: no such path (does the URL end in /metrics?)")


async def test_a_page_that_is_not_metrics_is_the_reason():
    with ReplyServer(lambda r: Reply(b"<html>\n<body>sign in</body>\n</html>\n",
                                     content_type="text/html")) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert not view.targets[0].up
    assert view.targets[0].detail.startswith("not a /metrics body: ")
    assert "\n" not in view.targets[0].detail


async def test_a_reason_quoting_the_body_is_one_printable_line():
    hostile = b'neural_predictions_total{model="\x1b]0;owned\x07' + b"x" * 300 + b"\n"
    with ReplyServer(lambda r: Reply(hostile)) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    detail = view.targets[0].detail
    assert detail.startswith("not a /metrics body: ")
    assert detail.isprintable()
    assert len(detail) <= 200


async def test_a_refused_connection_is_the_reason():
    with ReplyServer(lambda r: Reply(b"")) as server:
        url = server.url
    view = await poll_once(TargetSource([endpoint(url)]))
    assert not view.targets[0].up
    assert view.targets[0].detail.startswith("cannot connect")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Names for the tests: `fleet.test` is 127.0.0.1, `hang.test` never resolves until the
    event is set (at the end of the test, so no thread stays stuck)."""
    real = socket.getaddrinfo
    release = threading.Event()

    def getaddrinfo(host: str | bytes | None, port: object, *args: object,
                    **kwargs: object) -> object:
        if host in ("hang.test", b"hang.test"):
            release.wait()
            raise socket.gaierror(socket.EAI_AGAIN, "gave up")
        if host in ("fleet.test", b"fleet.test"):
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield release
    release.set()


async def test_a_name_whose_dns_hangs_times_out_alone_even_with_the_default_executor_busy(dns):
    busy = ThreadPoolExecutor(1)
    busy.submit(dns.wait)                        # the loop's shared threads: all taken
    asyncio.get_running_loop().set_default_executor(busy)
    try:
        with ReplyServer(lambda r: Reply(body(100))) as server:
            source = TargetSource([
                endpoint(server.url.replace("127.0.0.1", "fleet.test"), "named"),
                endpoint(f"http://hang.test:{server.url.split(':')[2]}", "hanging")])
            named, hanging = await source.fetch()
    finally:
        dns.set()                                # the loop joins its executor on closing
    assert (named.targets[0].up, named.models[0].predictions_total) == (True, 100)
    assert (hanging.targets[0].up, hanging.targets[0].detail) == (False, "timed out after 0.5 s")


async def test_a_name_that_does_not_resolve_is_a_connect_error(monkeypatch):
    def getaddrinfo(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    view = await poll_once(TargetSource([endpoint("http://nowhere.test:9/metrics")]))
    assert (view.targets[0].up, view.targets[0].detail) == (
        False, "cannot connect: [Errno -2] Name or service not known")


@pytest.fixture
def server_tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server's TLS context with a self-signed certificate for `fleet.test` only,
    and the certificate's file (the CA a client must trust)."""
    openssl = require_binary("openssl", "apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=fleet.test",
                    "-addext", "subjectAltName=DNS:fleet.test"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


async def test_https_by_name_verifies_the_certificate_against_ssl_cert_file(
        dns, server_tls, monkeypatch):
    context, cert = server_tls
    with ReplyServer(lambda r: Reply(body(100)), tls=context) as server:
        url = server.url.replace("127.0.0.1", "fleet.test")
        untrusted = await poll_once(TargetSource([endpoint(url)]))
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = await poll_once(TargetSource([endpoint(url)]))
    assert not untrusted.targets[0].up
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.targets[0].detail
    assert (trusted.targets[0].up, trusted.models[0].predictions_total) == (True, 100)


async def test_openmetrics_is_read_when_the_server_sends_it():
    text = (b'# TYPE neural_predictions counter\n'
            b'neural_predictions_total{model="m",version="1"} 8.0\n# EOF\n')
    with ReplyServer(lambda r: Reply(
            text, content_type="application/openmetrics-text; version=1.0.0")) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert [m.predictions_total for m in view.models] == [8]


async def test_a_body_without_our_metrics_is_up_and_says_so():
    with ReplyServer(lambda r: Reply(b"up 1\n")) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert view.targets[0].up
    assert view.targets[0].detail == "no neural-tui model metrics in the body"


async def test_what_the_body_lost_is_said_in_the_detail():
    text = body(5) + b'neural_predictions_total{model="fraud",version="2"} 5\n'
    with ReplyServer(lambda r: Reply(text)) as server:
        view = await poll_once(TargetSource([endpoint(server.url)]))
    assert view.targets[0].up
    assert view.targets[0].detail == "1 repeated series"


async def test_a_down_target_shows_no_models_and_its_last_success_then_recovers_with_rates():
    replies = iter([Reply(body(100)), Reply(b"", status=500), Reply(body(160, 6))])
    clock = iter([NOW, NOW + 5, NOW + 10])
    with ReplyServer(lambda r: next(replies)) as server:
        source = TargetSource([endpoint(server.url)], clock=lambda: next(clock))
        first, down, back = [await poll_once(source) for _ in range(3)]
    assert first.targets[0].up and len(first.models) == 1
    assert (down.models, down.targets[0].up, down.targets[0].last_success_at) == ((), False, NOW)
    assert back.targets[0].up
    assert back.models[0].error_rate == pytest.approx(6 / 60)   # since the last good scrape
    assert back.targets[0].last_success_at == NOW + 10


async def test_fetch_polls_every_target_at_once_in_the_order_given():
    with silent_server() as silent, ReplyServer(lambda r: Reply(body(1))) as healthy:
        views = await TargetSource([endpoint(silent, "slow"), endpoint(healthy.url, "ok")]
                                   ).fetch()
    assert [(v.label, v.targets[0].up) for v in views] == [("target slow", False),
                                                           ("target ok", True)]


async def test_views_poll_on_the_interval_over_one_kept_alive_connection():
    with ReplyServer(lambda r: Reply(body(1))) as server:
        source = TargetSource([endpoint(server.url, interval_seconds=0.2,
                                        timeout_seconds=0.1)])
        views = []

        async def follow() -> None:
            async for view in source.views():
                views.append(view)
                if len(views) == 3:
                    return

        async with asyncio.timeout(10):
            await follow()
    assert [v.targets[0].up for v in views] == [True, True, True]
    assert len({request.client_port for request in server.requests}) == 1


def test_the_first_polls_fill_the_first_second_and_the_later_ones_the_interval():
    firsts, phases = zip(*(schedule(i, 4, 10.0) for i in range(4)), strict=True)
    assert firsts == (0.0, 0.25 * FIRST_ROUND_SPREAD_SECONDS, 0.5 * FIRST_ROUND_SPREAD_SECONDS,
                      0.75 * FIRST_ROUND_SPREAD_SECONDS)
    assert phases == (0.0, 2.5, 5.0, 7.5)
    assert schedule(1, 2, 0.5) == (0.25, 0.25)     # an interval under a second bounds both
