"""What `/metrics` answers over HTTP: the text format 0.0.4 whatever `Accept` asks, gzip when
the scraper accepts it (the same text inside), HEAD, OPTIONS and other methods, a plain
registry (the old API's) served too, and a real Prometheus reading the fast path's values."""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from scrape_snapshots import parsed, rich_snapshot

from neural_tui.exporter import ExporterRegistry
from neural_tui.metrics_server import MetricsServer

TEXT_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
PROMETHEUS_2_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                       "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
PROMETHEUS_3_ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                       "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;"
                       "version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,"
                       "*/*;q=0.2")


@pytest.fixture
def served() -> Iterator[tuple[MetricsServer, str]]:
    """A server over the rich snapshot's registry (without the process metrics, which change
    between two scrapes), and what prometheus-client writes for it."""
    snapshot = rich_snapshot()
    registry = ExporterRegistry(lambda: snapshot)
    with MetricsServer(lambda: snapshot, registry=registry) as server:
        yield server, generate_latest(registry).decode()


def raw(server: MetricsServer, **headers: str) -> tuple[httpx.Headers, bytes]:
    """Headers and undecoded body of a GET `/metrics`."""
    with httpx.stream("GET", f"{server.url}/metrics", headers=headers, timeout=10) as response:
        assert response.status_code == 200
        return response.headers, b"".join(response.iter_raw())


@pytest.mark.parametrize("accept", [
    PROMETHEUS_2_ACCEPT, PROMETHEUS_3_ACCEPT, "application/openmetrics-text; version=1.0.0",
    "text/plain;version=1.0.0;escaping=allow-utf-8", "text/plain", "*/*", ""])
def test_every_accept_gets_the_text_format_that_generate_latest_writes(served, accept):
    server, expected = served
    headers, body = raw(server, Accept=accept, **{"Accept-Encoding": "identity"})

    assert headers["content-type"] == TEXT_0_0_4
    assert "content-encoding" not in headers
    assert body.decode() == expected
    assert not body.decode().rstrip().endswith("# EOF")


@pytest.mark.parametrize("accept_encoding", [
    "gzip", "GZIP", "br, gzip;q=0.5", "*", "*;q=0, gzip", "deflate, x-gzip", "gzip;q=oops"])
def test_a_gzipped_body_decompresses_to_the_plain_text(served, accept_encoding):
    server, expected = served
    headers, body = raw(server, **{"Accept-Encoding": accept_encoding})

    assert headers["content-encoding"] == "gzip"
    assert headers["content-length"] == str(len(body))
    assert "Accept-Encoding" in headers["vary"]
    assert gzip.decompress(body).decode() == expected
    assert parsed(gzip.decompress(body).decode()) == parsed(expected)


@pytest.mark.parametrize("accept_encoding", ["identity", "gzip;q=0", "br", "*;q=0", ""])
def test_a_scraper_refusing_gzip_gets_the_plain_text(served, accept_encoding):
    server, expected = served
    headers, body = raw(server, **{"Accept-Encoding": accept_encoding})

    assert "content-encoding" not in headers
    assert body.decode() == expected


@pytest.mark.parametrize("accept_encoding", ["identity", "gzip"])
def test_head_answers_the_headers_of_a_get_without_a_body(served, accept_encoding):
    server, _ = served
    headers = {"Accept-Encoding": accept_encoding}
    with httpx.Client(timeout=10) as client:
        head = client.head(f"{server.url}/metrics", headers=headers)
    get_headers, body = raw(server, **headers)

    assert head.status_code == 200
    assert head.content == b""
    assert {k: v for k, v in head.headers.items() if k != "date"} == {
        k: v for k, v in get_headers.items() if k != "date"}
    assert head.headers["content-length"] == str(len(body))


def test_the_default_server_adds_the_process_metrics_after_the_snapshot_families():
    snapshot = rich_snapshot()
    with MetricsServer(lambda: snapshot) as server:
        _, body = raw(server, Accept=PROMETHEUS_2_ACCEPT, **{"Accept-Encoding": "gzip"})
    families = parsed(gzip.decompress(body).decode())

    assert list(families)[-1].startswith("process_")
    assert {name: family for name, family in families.items()
            if not name.startswith("process_")} == parsed(
        generate_latest(ExporterRegistry(lambda: snapshot)).decode())


def test_options_lists_the_methods_and_other_methods_are_refused(served):
    server, _ = served
    with httpx.Client(timeout=10) as client:
        options = client.options(f"{server.url}/metrics")
        post = client.post(f"{server.url}/metrics", content=b"x")
        delete = client.delete(f"{server.url}/metrics")

    assert options.status_code == 200
    assert options.headers["allow"] == "GET, HEAD, OPTIONS"
    assert post.status_code == 405 and delete.status_code == 405
    assert post.headers["allow"] == "GET, HEAD, OPTIONS"
    assert "POST" in post.text


def test_name_restricted_scrape_is_the_text_format_too(served):
    server, _ = served
    response = httpx.get(f"{server.url}/metrics", params={"name[]": "neural_target_up"},
                         headers={"Accept": PROMETHEUS_2_ACCEPT})

    assert response.headers["content-type"] == TEXT_0_0_4
    assert list(parsed(response.text)) == ["neural_target_up"]


def test_a_plain_registry_is_served_as_generate_latest_writes_it():
    registry = CollectorRegistry()
    Gauge("old_api_gauge", "A gauge of the old API.", ["model"], registry=registry
          ).labels('a "b"').set(2.5)
    with MetricsServer(lambda: rich_snapshot(), registry=registry) as server:
        headers, body = raw(server, Accept=PROMETHEUS_2_ACCEPT, **{"Accept-Encoding": "gzip"})

    assert headers["content-type"] == TEXT_0_0_4
    assert gzip.decompress(body) == generate_latest(registry)


def by_series(samples: list[tuple[str, frozenset[tuple[str, str]], float | str]]
              ) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples as Prometheus stores them: a label with an empty value is no label."""
    return {(name, frozenset((k, v) for k, v in labels if v)): float(value)
            for name, labels, value in samples}


@pytest.mark.real_server
def test_a_real_prometheus_reads_every_value_of_the_fast_path(start_prometheus):
    snapshot = rich_snapshot()
    expected = parsed(generate_latest(ExporterRegistry(lambda: snapshot)).decode())
    wanted = by_series([sample for _, _, samples in expected.values() for sample in samples])
    with MetricsServer(lambda: snapshot) as server:
        prometheus = start_prometheus([server.address])
        result = prometheus.wait_for('{__name__=~"neural_.+"}',
                                     lambda result: len(result) >= len(wanted), timeout=20)

    read = {(series["metric"]["__name__"],
             frozenset((k, v) for k, v in series["metric"].items()
                       if k not in ("__name__", "job", "instance"))): float(series["value"][1])
            for series in result}
    assert read.keys() == wanted.keys()
    for key, value in wanted.items():
        assert read[key] == value or (math.isnan(read[key]) and math.isnan(value)), key
