"""The Prometheus source against a hostile HTTP API: every failure is one line, never a crash.

A loopback fake answers each query (an empty success unless the test says otherwise); what the
source computes from a real Prometheus is proved in `test_prometheus_source_real.py`.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from prometheus_fleet import (
    FakePrometheus,
    Reply,
    empty,
    endpoint,
    ok,
    vector,
)
from realservers import LOOPBACK, free_port

from neural_tui.cli import main
from neural_tui.config import RuntimeSection, Settings, StorageSection
from neural_tui.remote_models import RemoteFigures, RemoteView, TargetStatus
from neural_tui.runtime.pipeline import Runtime
from neural_tui.sources import prometheus_api
from neural_tui.sources.prometheus import (
    MAX_EXPORTER_NAME_CHARS,
    MAX_EXPORTERS,
    MAX_INSTANCE_CHARS,
    MAX_LABEL_CHARS,
    PrometheusSource,
    series_grid,
)
from neural_tui.sources.prometheus_queries import PREDICTIONS, fleet_queries

TOTALS_QUERY = f'({{__name__=~"{PREDICTIONS}'
"""What only the totals query contains."""
TOTALS = vector(({"__name__": PREDICTIONS, "model": "fraud", "version": "1.0"}, "42"))
EXPORTERS_QUERY = "count_over_time(neural_active_models"
"""What only the query of the exporters' `up` contains."""
CANNOT_SCRAPE = "Prometheus cannot scrape it (up == 0)"


def answering(answers: Mapping[str, Reply]) -> FakePrometheus:
    """A fake answering an instant query containing a key with its reply, every other query
    with an empty success."""

    def answer(path: str, params: Mapping[str, str]) -> Reply:
        query = params.get("query", "")
        for part, reply in answers.items():
            if part in query and path == "/api/v1/query":
                return reply
        return empty(path, params)

    return FakePrometheus(answer)


def totals_then(reply: Reply, when: str) -> FakePrometheus:
    """`reply` for the first query containing `when`, else totals for one model."""
    return answering({when: reply, TOTALS_QUERY: ok(TOTALS)})


def fetch(url: str, timeout: float = 2.0) -> RemoteView:
    source = PrometheusSource(endpoint(url, timeout=timeout), rate_window_seconds=60,
                              series_seconds=30)
    (view,) = asyncio.run(source.fetch())
    return view


def assert_one_line_problem(view: RemoteView, *words: str) -> None:
    assert view.label == "prometheus"
    assert view.problem is not None
    assert "\n" not in view.problem and len(view.problem) <= prometheus_api.MAX_REASON_CHARS
    for word in words:
        assert word in view.problem


def test_a_prometheus_that_is_down_is_a_problem_without_models():
    url = f"http://{LOOPBACK}:{free_port()}"
    view = fetch(url)
    assert view.models == ()
    queries = fleet_queries(60)
    others = len(queries.instant) + len(queries.ranged) - 1
    assert_one_line_problem(view, url, "query totals", "ConnectError",
                            f"(and {others} more queries failing)")


MALFORMED = [
    (503, b"Service Unavailable\n", ["HTTP 503", "not a JSON object"]),
    (400, b'{"status":"error","errorType":"bad_data","error":"parse error\\nat char 3"}',
     ["HTTP 400", "bad_data: parse error at char 3"]),
    (200, b'{"status":"error","errorType":"execution","error":"query timed out"}',
     ["HTTP 200", "execution: query timed out"]),
    (200, b"<html>not json</html>", ["not a JSON object"]),
    (200, b'{"status":"success","data":{"resultType":"matrix","result":[]}}',
     ["not a vector result"]),
    (200, b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"model":1},'
          b'"value":[1,"2"]}]}}', ["labels are not strings"]),
    (200, b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},'
          b'"value":[1,2]}]}}', ["not a [time"]),
    (200, b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},'
          b'"value":[1,"many"]}]}}', ["not a number: 'many'"]),
    (200, b"[" * 100_000 + b"]" * 100_000, ["not a JSON object"]),
    (200, b'{"status":"success","data":{"resultType":"vector","result":[1' + b"0" * 5000
          + b"]}}", ["not a JSON object"]),
]
MALFORMED_IDS = ["503-text", "400-bad-data", "200-status-error", "html", "matrix-not-vector",
                 "label-not-string", "value-not-string", "value-not-number", "deep-nesting",
                 "5000-digit-int"]


@pytest.mark.parametrize(("status", "body", "words"), MALFORMED, ids=MALFORMED_IDS)
def test_a_failed_or_malformed_totals_answer_is_a_one_line_problem(status, body, words):
    with FakePrometheus(lambda path, params: (status, {}, body)).serving() as fake:
        view = fetch(fake.url)
    assert view.models == ()
    assert_one_line_problem(view, "query totals", *words)


def test_a_failing_figure_query_keeps_the_models_and_names_the_query():
    fake = totals_then((422, {}, b'{"status":"error","errorType":"execution",'
                                 b'"error":"too many samples"}'), "histogram_quantile(0.95")
    with fake.serving():
        view = fetch(fake.url)
    (model,) = view.models
    assert (model.name, model.predictions_total, model.latency_p95_ms) == ("fraud", 42.0, None)
    assert_one_line_problem(view, "query p95: HTTP 422: execution: too many samples")
    assert "more queries" not in view.problem


def test_a_query_that_hangs_ends_the_round_at_the_timeout():
    """Every answer would come, empty, after 3 s: the round gives up at its 0.5 s instead."""
    def slow(path: str, params: Mapping[str, str]) -> Reply:
        time.sleep(3.0)
        return empty(path, params)

    with FakePrometheus(slow).serving() as fake:
        view = fetch(fake.url, timeout=0.5)
    assert view.models == ()
    assert_one_line_problem(view, "no answer within 0.5 s")


def endless(chunk: bytes) -> Iterator[bytes]:
    while True:
        yield chunk


@pytest.mark.parametrize("headers", [{}, {"Content-Length": str(1 << 30)}],
                         ids=["streamed", "declared"])
def test_a_gigabyte_answer_is_abandoned_at_the_body_limit(headers):
    body = endless(b'{"status":"success"' + b" " * 65_000)
    with answering({TOTALS_QUERY: (200, headers, body)}).serving() as fake:
        view = fetch(fake.url, timeout=10.0)
    assert view.models == ()
    assert_one_line_problem(view, f"{prometheus_api.MAX_BODY_BYTES} byte limit")


def test_a_gzip_bomb_stops_at_the_body_limit_decompressed():
    bomb = gzip.compress(b" " * (prometheus_api.MAX_BODY_BYTES + 4 * 1024 * 1024))
    assert len(bomb) < 100_000
    with answering({TOTALS_QUERY: (200, {"Content-Encoding": "gzip"}, bomb)}).serving() as fake:
        view = fetch(fake.url, timeout=10.0)
    assert_one_line_problem(view, f"over the {prometheus_api.MAX_BODY_BYTES} byte limit")


@pytest.mark.parametrize(("headers", "words"), [
    ({"Content-Encoding": "gzip"}, "not valid gzip"),
    ({"Content-Encoding": "br"}, "unknown encoding 'br'"),
])
def test_an_answer_it_cannot_decode_is_a_problem(headers, words):
    with FakePrometheus(lambda path, params: (200, headers, b"garbage")).serving() as fake:
        view = fetch(fake.url)
    assert_one_line_problem(view, words)


def test_non_finite_counters_are_left_out_and_said():
    totals = vector(
        ({"__name__": PREDICTIONS, "model": "fraud", "version": "1.0"}, "+Inf"),
        ({"__name__": PREDICTIONS, "model": "churn", "version": "1.0"}, "NaN"),
        ({"__name__": PREDICTIONS, "model": "spam", "version": "1.0"}, "-3"),
        ({"__name__": PREDICTIONS, "model": "ok", "version": "1.0"}, "1e400"),
        ({"__name__": PREDICTIONS, "model": "fine", "version": "1.0"}, "7"),
    )
    with answering({TOTALS_QUERY: ok(totals)}).serving() as fake:
        view = fetch(fake.url)
    assert [(m.name, m.predictions_total) for m in view.models] == [("fine", 7.0)]
    assert_one_line_problem(view, "4 counter samples that are not finite non-negative")


def test_a_nan_quantile_or_rate_means_unknown_not_a_problem():
    """Prometheus answers NaN for a quantile or an error rate of a model without traffic."""
    fake = answering({
        "histogram_quantile": ok(vector(({"model": "fraud", "version": "1.0"}, "NaN"))),
        " / sum by": ok(vector(({"model": "fraud", "version": "1.0"}, "NaN"))),
        "sum by (model, version) (rate(": ok(vector(({"model": "fraud", "version": "1.0"},
                                                     "+Inf"))),
        TOTALS_QUERY: ok(TOTALS),
    })
    with fake.serving():
        view = fetch(fake.url)
    (model,) = view.models
    assert view.problem is None
    assert (model.throughput_rps, model.error_rate, model.latency_p50_ms,
            model.latency_p99_ms) == (None, None, None, None)


def test_a_label_a_megabyte_long_leaves_out_its_series_only():
    huge = "m" * (1 << 20)
    totals = vector(({"__name__": PREDICTIONS, "model": huge, "version": "1.0"}, "5"),
                    ({"__name__": PREDICTIONS, "model": "fraud", "version": huge}, "6"),
                    ({"__name__": PREDICTIONS, "model": "fraud", "version": "1.0"}, "7"))
    with answering({TOTALS_QUERY: ok(totals)}).serving() as fake:
        view = fetch(fake.url)
    assert [(m.name, m.version, m.predictions_total) for m in view.models] == [
        ("fraud", "1.0", 7.0)]
    assert_one_line_problem(view, f"2 series with a label over {MAX_LABEL_CHARS} characters")


def test_the_next_round_retries_after_a_failure():
    calls = {"totals": 0}

    def flaky(path: str, params: Mapping[str, str]) -> Reply:
        if TOTALS_QUERY in params.get("query", ""):
            calls["totals"] += 1
            if calls["totals"] == 1:
                return 500, {}, b"boom"
            return ok(TOTALS)
        return empty(path, params)

    async def two_rounds(url: str) -> list[RemoteView]:
        views = PrometheusSource(endpoint(url, interval=0.1), series_seconds=30).views()
        try:
            return [await anext(views), await anext(views)]
        finally:
            await views.aclose()

    with FakePrometheus(flaky).serving() as fake:
        first, second = asyncio.run(two_rounds(fake.url))
    assert_one_line_problem(first, "HTTP 500")
    assert first.models == ()
    assert second.problem is None
    assert [m.predictions_total for m in second.models] == [42.0]


@pytest.mark.parametrize(("auth", "header"), [
    ({"bearer_token": "s3cret"}, "Bearer s3cret"),
    ({"basic_auth": ("neural", "pa:ss")}, "Basic bmV1cmFsOnBhOnNz"),
])
def test_every_request_carries_the_credentials(auth, header):
    with FakePrometheus().serving() as fake:
        source = PrometheusSource(endpoint(fake.url, **auth), series_seconds=30)
        asyncio.run(source.fetch())
    assert len(fake.requests) == len(source.queries.instant) + len(source.queries.ranged)
    assert {headers.get("Authorization") for _, _, headers in fake.requests} == {header}


def test_a_round_asks_instant_queries_at_one_time_and_range_queries_on_the_grid():
    with FakePrometheus().serving() as fake:
        source = PrometheusSource(endpoint(fake.url + "/prom/", interval=5.0, timeout=3.0),
                                  series_seconds=60, clock=lambda: 1_000_003.7)
        (view,) = asyncio.run(source.fetch())
    instant = [p for path, p, _ in fake.requests if path == "/prom/api/v1/query"]
    ranged = [p for path, p, _ in fake.requests if path == "/prom/api/v1/query_range"]
    assert {p["time"] for p in instant} == {"1000003.700"}
    assert {(p["start"], p["end"], p["step"]) for p in ranged} == {
        ("999940.000", "1000000.000", "5.000")}
    assert {p["timeout"] for p in instant + ranged} == {"3"}
    assert (view.at, view.models, view.problem) == (1_000_003.7, (), None)


def test_the_sparkline_grid_never_exceeds_its_point_bound():
    grid = series_grid(at=10_000.5, series_seconds=3600, interval_seconds=1)
    assert grid.points == 300
    assert grid.end == pytest.approx(10_000.5 - 10_000.5 % grid.step)
    assert grid.step == pytest.approx(3600 / 299)


def test_the_queries_name_only_the_exported_metrics_and_the_window():
    queries = fleet_queries(90)
    every = " ".join([*queries.instant.values(), *queries.ranged.values()])
    assert "[90s]" in every and "[60s]" not in every
    assert fleet_queries(12.5).instant["throughput"] == \
        "sum by (model, version) (rate(neural_predictions_total[12500ms]))"


def test_empty_answers_are_an_empty_fleet():
    with FakePrometheus().serving() as fake:
        view = fetch(fake.url)
    assert (view.models, view.problem) == ((), None)


async def run_until(runtime: Runtime, done: Callable[[Runtime], bool]) -> None:
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(20):
            while not done(runtime):
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def runtime_over(source: PrometheusSource, storage: Path) -> Runtime:
    return Runtime(Settings(storage=StorageSection(storage),
                            runtime=RuntimeSection(cadence_seconds=0.05)),
                   [], remote_sources=[source])


async def test_a_runtime_shows_the_fleet_and_reports_the_source_failing_while_it_is_down(
    tmp_path: Path,
):
    url = f"http://{LOOPBACK}:{free_port()}"
    down = runtime_over(PrometheusSource(endpoint(url, interval=0.2), series_seconds=30),
                        tmp_path)
    await run_until(down, lambda r: r.source_health()[0].status == "failing")
    (health,) = down.source_health()
    assert (health.label, url in health.detail) == ("prometheus", True)

    with answering({TOTALS_QUERY: ok(TOTALS)}).serving() as fake:
        up = runtime_over(PrometheusSource(endpoint(fake.url, interval=0.2), series_seconds=30),
                          tmp_path)
        await run_until(up, lambda r: r.latest.model("fraud @ prometheus") is not None)
    shown = up.latest.model("fraud @ prometheus")
    assert (shown.source, shown.predictions_total, shown.remote) == (
        "prometheus", 42, RemoteFigures())
    assert up.latest.local_models == ()
    assert up.source_health()[0].status == "ok"


def test_a_model_on_many_instances_names_the_first_and_counts_the_rest():
    instances = vector(*(({"model": "fraud", "version": "1.0",
                           "instance": f"model-host-{i:03d}.example:9108"}, "1")
                         for i in range(50)))
    with answering({TOTALS_QUERY: ok(TOTALS), "group by": ok(instances)}).serving() as fake:
        view = fetch(fake.url)
    (model,) = view.models
    assert len(model.instance) <= MAX_INSTANCE_CHARS
    assert model.instance.startswith("model-host-000.example:9108, model-host-001.example:9108")
    shown = model.instance.split(" (+")[0].count(", ") + 1
    assert model.instance.endswith(f" (+{50 - shown} more)")


def test_summed_buckets_that_dip_or_make_no_sense_still_give_a_cumulative_histogram():
    """Instances with different bounds sum to counts that may fall from one bound to the
    next; a bound that is not a number is no bound."""
    fraud = {"model": "fraud", "version": "1.0"}
    buckets = vector(({**fraud, "le": "0.1"}, "5"), ({**fraud, "le": "0.25"}, "3"),
                     ({**fraud, "le": "0.05"}, "2"), ({**fraud, "le": "abc"}, "9"),
                     ({**fraud, "le": "-1"}, "1"), ({**fraud, "le": "+Inf"}, "8"))
    with answering({TOTALS_QUERY: ok(TOTALS), "_bucket)": ok(buckets)}).serving() as fake:
        view = fetch(fake.url)
    (model,) = view.models
    assert model.latency is not None
    assert (model.latency.bounds_seconds, model.latency.cumulative_counts,
            model.latency.count) == ((0.05, 0.1, 0.25), (2.0, 5.0, 5.0), 8.0)


@pytest.mark.parametrize("when", [b"1" + b"0" * 400, b'"yesterday"', b"true"],
                         ids=["400-digit-time", "string-time", "bool-time"])
def test_a_range_answer_with_an_impossible_time_fails_its_query_only(when):
    matrix = (b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":'
              b'{"model":"fraud","version":"1.0"},"values":[[' + when + b',"1"]]}]}}')

    def answer(path: str, params: Mapping[str, str]) -> Reply:
        if path.endswith("query_range"):
            return ok(matrix)
        return ok(TOTALS) if TOTALS_QUERY in params["query"] else empty(path, params)

    with FakePrometheus(answer).serving() as fake:
        view = fetch(fake.url)
    assert [m.predictions_total for m in view.models] == [42.0]
    assert_one_line_problem(view, "series: a sample time is not a number",
                            "(and 2 more queries failing)")


# --- the exporters Prometheus scrapes -------------------------------------------------------


def up_of(*exporters: tuple[Mapping[str, str], str]) -> Reply:
    """An answer of the exporters query: each exporter's labels and its `up`."""
    return ok(vector(*exporters))


def neural(instance: str, up: str) -> tuple[Mapping[str, str], str]:
    return {"job": "neural", "instance": instance}, up


def exporter(name: str, *, up: bool = True, detail: str = "") -> TargetStatus:
    return TargetStatus(name=name, url=name.split("/", 1)[-1], up=up, detail=detail,
                        scraped_by="prometheus")


def test_an_exporter_prometheus_cannot_scrape_is_a_down_target_of_the_view_listed_first():
    fake = answering({TOTALS_QUERY: ok(TOTALS), EXPORTERS_QUERY: up_of(
        neural("host-b:9108", "1"), neural("host-c:9108", "0"), neural("host-a:9108", "1"))})
    with fake.serving():
        view = fetch(fake.url)
    assert view.problem is None
    assert [m.name for m in view.models] == ["fraud"]
    assert view.targets == (exporter("neural/host-c:9108", up=False, detail=CANNOT_SCRAPE),
                            exporter("neural/host-a:9108"), exporter("neural/host-b:9108"))


HOSTILE_UP = [
    ({"job": "neural", "instance": "h" * (1 << 20)}, "0",
     "neural/" + "h" * (MAX_EXPORTER_NAME_CHARS - 8) + "…", False, CANNOT_SCRAPE),
    ({"job": "neu\nral\x1b[31m", "instance": "h:1"}, "1", "neu ral [31m/h:1", True, ""),
    ({"instance": "h:1"}, "NaN", "h:1", False, "Prometheus' up for it is nan, not 1"),
    ({"job": "neural", "instance": "h:1"}, "+Inf", "neural/h:1", False,
     "Prometheus' up for it is inf, not 1"),
    ({}, "1", "(no job or instance)", True, ""),
]


@pytest.mark.parametrize(("labels", "value", "name", "up", "detail"), HOSTILE_UP,
                         ids=["megabyte-instance", "control-characters", "nan-up", "inf-up",
                              "no-labels"])
def test_an_exporter_with_hostile_labels_or_up_is_named_in_one_bounded_line(labels, value, name,
                                                                           up, detail):
    labels = {key: text.encode().decode("unicode_escape") for key, text in labels.items()}
    with answering({TOTALS_QUERY: ok(TOTALS),
                    EXPORTERS_QUERY: up_of((labels, value))}).serving() as fake:
        view = fetch(fake.url)
    (status,) = view.targets
    assert (status.name, status.up, status.detail) == (name, up, detail)
    assert len(status.name) <= MAX_EXPORTER_NAME_CHARS
    assert len(status.url) <= MAX_EXPORTER_NAME_CHARS
    assert view.problem is None


def test_two_exporters_whose_names_cut_alike_are_one_down_if_either_is():
    long = "x" * 300
    fake = answering({TOTALS_QUERY: ok(TOTALS), EXPORTERS_QUERY: up_of(
        neural(long + "a", "1"), neural(long + "b", "0"))})
    with fake.serving():
        view = fetch(fake.url)
    (status,) = view.targets
    assert (status.up, status.detail) == (False, CANNOT_SCRAPE)


def test_past_the_exporter_bound_the_down_ones_are_kept_and_the_rest_counted():
    ups = [neural(f"host-{i:04d}:9108", "1") for i in range(MAX_EXPORTERS + 1)]
    fake = answering({TOTALS_QUERY: ok(TOTALS),
                      EXPORTERS_QUERY: up_of(*ups, neural("zz-last:9108", "0"))})
    with fake.serving():
        view = fetch(fake.url, timeout=10.0)
    assert len(view.targets) == MAX_EXPORTERS
    assert view.targets[0] == exporter("neural/zz-last:9108", up=False, detail=CANNOT_SCRAPE)
    assert view.targets[-1].name == f"neural/host-{MAX_EXPORTERS - 2:04d}:9108"
    assert_one_line_problem(view, f"2 exporters past the first {MAX_EXPORTERS} left out")


def test_a_failing_exporters_query_keeps_the_models_and_fails_the_round_naming_it():
    fake = totals_then((503, {}, b"Service Unavailable"), EXPORTERS_QUERY)
    with fake.serving():
        view = fetch(fake.url)
    assert [m.predictions_total for m in view.models] == [42.0]
    assert view.targets == ()
    assert_one_line_problem(view, "query exporters: HTTP 503")


def test_a_prometheus_that_is_down_reports_no_exporter():
    view = fetch(f"http://{LOOPBACK}:{free_port()}")
    assert (view.models, view.targets) == ((), ())
    assert_one_line_problem(view, "query totals")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_health_over_prometheus_fails_naming_the_exporter_it_cannot_scrape_and_status_lists_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
):
    monkeypatch.chdir(tmp_path)
    fake = answering({TOTALS_QUERY: ok(TOTALS), EXPORTERS_QUERY: up_of(
        neural("a:9108", "1"), neural("b:9108", "0"))})
    with fake.serving():
        health_code, health = run_cli(["health", "--prometheus", fake.url, "--json"], capsys)
        status_code, status = run_cli(["status", "--prometheus", fake.url, "--json"], capsys)
    down = f"prometheus exporter neural/b:9108 down: {CANNOT_SCRAPE}"
    assert (health_code, health["healthy"], health["problems"]) == (1, False, [down])
    assert health["targets"] == [
        {"target": "neural/b:9108", "source": "prometheus", "up": False, "check": "target_up",
         "status": "failed", "detail": down},
        {"target": "neural/a:9108", "source": "prometheus", "up": True, "check": "target_up",
         "status": "ok", "detail": "prometheus exporter neural/a:9108 up"}]
    assert status_code == 0
    assert [(t["target"], t["source"], t["up"], t["detail"]) for t in status["targets"]] == [
        ("neural/b:9108", "prometheus", False, CANNOT_SCRAPE),
        ("neural/a:9108", "prometheus", True, "")]


def test_health_over_prometheus_passes_with_every_exporter_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
):
    monkeypatch.chdir(tmp_path)
    fake = answering({TOTALS_QUERY: ok(TOTALS), EXPORTERS_QUERY: up_of(neural("a:9108", "1"))})
    with fake.serving():
        code, report = run_cli(["health", "--prometheus", fake.url, "--json"], capsys)
    assert (code, report["problems"]) == (0, [])
    assert [t["status"] for t in report["targets"]] == ["ok"]


async def test_a_runtime_over_prometheus_publishes_its_exporters_among_the_targets(
    tmp_path: Path,
):
    fake = answering({TOTALS_QUERY: ok(TOTALS), EXPORTERS_QUERY: up_of(neural("b:9108", "0"))})
    with fake.serving():
        runtime = runtime_over(PrometheusSource(endpoint(fake.url, interval=0.2),
                                                series_seconds=30), tmp_path)
        await run_until(runtime, lambda r: bool(r.latest.targets))
    assert runtime.latest.targets == (
        exporter("neural/b:9108", up=False, detail=CANNOT_SCRAPE),)
    assert runtime.source_health()[0].status == "ok"
