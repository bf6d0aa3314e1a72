"""The runtime: batches in from every source, one snapshot per cadence out, models kept apart."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest

from neural_tui.config import (
    AnalysisSection,
    DriftSection,
    ModelSection,
    RuntimeSection,
    Settings,
    StorageSection,
)
from neural_tui.metrics_server import MetricsServer
from neural_tui.records import IngestBatch
from neural_tui.runtime.defaults import ModelDefaults
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot
from tests.batches import ListSource, make_batch, objects

T0 = 1_700_000_000.0



def fast_settings(tmp_path: Path) -> Settings:
    return Settings(storage=StorageSection(tmp_path),
                    runtime=RuntimeSection(cadence_seconds=0.01))


def test_rows_are_split_by_model_and_version(tmp_path):
    runtime = Runtime(fast_settings(tmp_path), [], clock=lambda: T0 + 1)
    batch = make_batch([T0] * 4)
    batch = replace(batch, model=objects(["a", "b", "a", "a"]),
                    version=objects(["1", "1", "2", "1"]))
    runtime.ingest(IngestBatch(batch))
    snapshot = runtime.build_snapshot()
    assert [(m.name, m.version, m.predictions_total) for m in snapshot.models] == [
        ("a", "1", 2), ("a", "2", 1), ("b", "1", 1)]


def test_records_without_a_model_take_the_storage_defaults(tmp_path):
    (tmp_path / "monitor_config.json").write_text(
        '{"model_name": "legacy", "model_version": "0.9", "storage_path": "x"}')
    settings = fast_settings(tmp_path)
    runtime = Runtime(settings, [], defaults=ModelDefaults.from_settings(settings))
    runtime.ingest(IngestBatch(make_batch([T0, T0], model=None, version=None)))
    assert [(m.name, m.version) for m in runtime.build_snapshot().models] == [("legacy", "0.9")]


def test_an_empty_model_name_or_version_takes_the_defaults_like_an_absent_one(tmp_path):
    (tmp_path / "monitor_config.json").write_text(
        '{"model_name": "legacy", "model_version": "0.9", "storage_path": "x"}')
    settings = fast_settings(tmp_path)
    runtime = Runtime(settings, [], defaults=ModelDefaults.from_settings(settings))
    batch = replace(make_batch([T0] * 3), model=objects(["", "legacy", None]),
                    version=objects(["", None, ""]))
    runtime.ingest(IngestBatch(batch))
    assert [(m.name, m.version, m.predictions_total)
            for m in runtime.build_snapshot().models] == [("legacy", "0.9", 3)]


def test_a_batch_whose_records_all_say_an_empty_model_takes_the_defaults(tmp_path):
    (tmp_path / "monitor_config.json").write_text(
        '{"model_name": "legacy", "model_version": "0.9", "storage_path": "x"}')
    settings = fast_settings(tmp_path)
    runtime = Runtime(settings, [], defaults=ModelDefaults.from_settings(settings))
    runtime.ingest(IngestBatch(make_batch([T0] * 3, model="", version="")))
    runtime.ingest(IngestBatch(make_batch([T0] * 2, model="legacy", version="")))
    assert [(m.name, m.version, m.predictions_total)
            for m in runtime.build_snapshot().models] == [("legacy", "0.9", 5)]


def test_a_monitor_config_name_no_utf8_stream_can_take_is_ignored_and_metrics_still_render(
        tmp_path):
    from neural_tui.exporter import build_registry

    (tmp_path / "monitor_config.json").write_text(
        '{"model_name": "bad\\ud800", "model_version": "0.9"}')
    settings = fast_settings(tmp_path)
    runtime = Runtime(settings, [], defaults=ModelDefaults.from_settings(settings))
    runtime.ingest(IngestBatch(make_batch([T0] * 2, model=None, version=None)))
    snapshot = runtime.build_snapshot()
    assert [m.predictions_total for m in snapshot.models] == [2]
    assert all("\ud800" not in m.name for m in snapshot.models)
    assert b"neural_predictions_total" in build_registry(lambda: snapshot).exposition()


def test_without_monitor_config_the_only_configured_model_is_the_default(tmp_path):
    settings = replace(fast_settings(tmp_path), models=(ModelSection("fraud", "3"),))
    runtime = Runtime(settings, [])
    runtime.ingest(IngestBatch(make_batch([T0], model=None, version=None)))
    runtime.ingest(IngestBatch(make_batch([T0], model="fraud", version=None)))
    assert [(m.name, m.version, m.predictions_total) for m in runtime.build_snapshot().models] \
        == [("fraud", "3", 2)]


def test_ingest_counts_records_and_skipped_lines_by_reason(tmp_path):
    runtime = Runtime(fast_settings(tmp_path), [])
    runtime.ingest(IngestBatch(make_batch([T0] * 3), Counter(not_json=2),
                               ("f.jsonl:4: not_json: bad",)))
    runtime.ingest(IngestBatch(make_batch([T0]), Counter(not_json=1, too_long=1)))
    ingest = runtime.build_snapshot().ingest
    assert ingest.records_total == 4
    assert ingest.line_problems == {"not_json": 3, "too_long": 1}
    assert ingest.last_messages == ("f.jsonl:4: not_json: bad",)


async def test_run_publishes_snapshots_to_subscribers_on_the_cadence(tmp_path):
    source = ListSource([IngestBatch(make_batch([T0] * 5))])
    runtime = Runtime(fast_settings(tmp_path), [source])
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(5):
            while not seen or not seen[-1].models:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen[-1].models[0].predictions_total == 5
    assert runtime.latest is seen[-1]
    assert seen[-1].sources == ("list",)


async def test_pause_freezes_what_readers_see_and_resume_catches_up(tmp_path):
    runtime = Runtime(fast_settings(tmp_path), [])
    runtime.ingest(IngestBatch(make_batch([T0])))
    runtime.set_paused(False)
    runtime.set_paused(True)
    frozen = runtime.latest
    assert frozen.paused
    runtime.ingest(IngestBatch(make_batch([T0, T0])))
    assert runtime.latest.models[0].predictions_total == 1
    runtime.set_paused(False)
    assert not runtime.latest.paused
    assert runtime.latest.models[0].predictions_total == 3


def test_unsubscribed_listeners_hear_nothing_more(tmp_path):
    runtime = Runtime(fast_settings(tmp_path), [])
    heard: list[Snapshot] = []
    runtime.subscribe(heard.append)
    runtime.set_paused(False)
    runtime.unsubscribe(heard.append)
    runtime.set_paused(False)
    assert len(heard) == 1


def test_snapshot_is_immutable(tmp_path):
    runtime = Runtime(fast_settings(tmp_path), [])
    runtime.ingest(IngestBatch(make_batch(np.full(3, T0))))
    snapshot = runtime.build_snapshot()
    with pytest.raises(AttributeError):
        snapshot.models[0].predictions_total = 0  # type: ignore[misc]


def test_model_state_keeps_as_many_rows_as_the_drift_window_needs(tmp_path):
    settings = replace(fast_settings(tmp_path),
                       drift=DriftSection(window=12_000, reference_rows=300))
    runtime = Runtime(settings, [])
    n = 15_000
    runtime.ingest(IngestBatch(make_batch(np.full(n, T0), ids=[f"p{i}" for i in range(n)])))
    state = runtime.states[("m", "1")]
    assert len(state.feature_rows().timestamp) == 12_000
    assert state.first_rows_kept == 300


async def test_a_failing_engine_does_not_stop_ingest_publication_or_the_other_engines(
    tmp_path, monkeypatch
):
    from neural_tui.runtime import analysis

    def broken_detect(*args, **kwargs):
        raise FloatingPointError("odd data")

    monkeypatch.setattr(analysis, "detect", broken_detect)
    settings = replace(fast_settings(tmp_path),
                       analysis=AnalysisSection(interval_seconds=0.01, every_records=1),
                       drift=DriftSection(window=5, reference_rows=5))
    features = [b'{"x": %d}' % i for i in range(10)]
    source = ListSource([IngestBatch(make_batch([T0] * 10, features=features))])
    runtime = Runtime(settings, [source])
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(10):
            while not (seen and seen[-1].models and seen[-1].models[0].quality is not None):
                await asyncio.sleep(0.01)
        runtime.ingest(IngestBatch(make_batch([T0 + 1] * 3, ids=["a", "b", "c"])))
        async with asyncio.timeout(10):
            while seen[-1].models[0].predictions_total != 13:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen[-1].models[0].drift is None
    assert seen[-1].models[0].quality is not None


class GatedSource:
    """A backlog of two batches, then, once `gate` is set, the batch that ends it."""

    label = "gated"

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def batches(self) -> AsyncIterator[IngestBatch]:
        yield IngestBatch(make_batch([T0] * 4), backlog=True)
        yield IngestBatch(make_batch([T0] * 4, ids=list("abcd")), backlog=True)
        await self.gate.wait()
        yield IngestBatch(make_batch([T0], ids=["e"]))
        await asyncio.Event().wait()


async def test_a_backlog_holds_the_count_trigger_and_its_end_publishes_at_once(tmp_path):
    settings = replace(fast_settings(tmp_path), runtime=RuntimeSection(cadence_seconds=3600.0))
    source = GatedSource()
    runtime = Runtime(settings, [source])
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(10):
            while runtime.records_total != 8:
                await asyncio.sleep(0.01)
        assert runtime.analysis.catching_up
        assert len(seen) == 1, "the publisher's first snapshot only: its next is an hour away"
        source.gate.set()
        async with asyncio.timeout(10):
            while runtime.records_total != 9:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not runtime.analysis.catching_up
    assert len(seen) == 2
    assert seen[-1].ingest.records_total == 9, "published when the backlog ended, not an hour on"


def test_models_past_the_limit_are_skipped_and_counted_not_tracked(tmp_path):
    settings = replace(fast_settings(tmp_path),
                       runtime=RuntimeSection(cadence_seconds=0.01, max_models=2))
    runtime = Runtime(settings, [])
    for name in ("a", "b", "c", "d", "c"):
        runtime.ingest(IngestBatch(make_batch([T0] * 3, model=name)))
    snapshot = runtime.build_snapshot()
    assert [m.name for m in snapshot.models] == ["a", "b"]
    assert snapshot.ingest.records_total == 6
    assert snapshot.ingest.line_problems == {"too_many_models": 9}
    messages = snapshot.ingest.last_messages
    assert [m.split(" version")[0] for m in messages] == ["model 'c'", "model 'd'"]
    assert all("raise [runtime] max_models" in m for m in messages)


class FailingOnceSource:
    """A source whose first pass raises, as a bug or an odd file might."""

    label = "flaky"

    def __init__(self) -> None:
        self.passes = 0

    async def batches(self) -> AsyncIterator[IngestBatch]:
        self.passes += 1
        if self.passes == 1:
            raise OSError("disk hiccup")
        yield IngestBatch(make_batch([T0] * 2))
        await asyncio.Event().wait()


async def test_a_failing_source_is_logged_and_restarted_without_stopping_the_runtime(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("neural_tui.runtime.pipeline.RESTART_FIRST_PAUSE_SECONDS", 0.01)
    runtime = Runtime(fast_settings(tmp_path), [FailingOnceSource()])
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(5):
            while not runtime.latest.models:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert runtime.latest.models[0].predictions_total == 2
    assert any("source flaky failed" in m and "disk hiccup" in m
               for m in runtime.latest.ingest.last_messages)


class AlwaysFailingSource:
    """A source whose every pass raises on its first read."""

    label = "broken"

    async def batches(self) -> AsyncIterator[IngestBatch]:
        raise PermissionError("predictions/: permission denied")
        yield IngestBatch(make_batch([T0]))  # pragma: no cover - makes this a generator


class FrozenSource:
    """A source that reports progress but whose last pass completed long ago."""

    label = "frozen"

    def __init__(self, progress_at: float) -> None:
        self.progress_at = progress_at

    async def batches(self) -> AsyncIterator[IngestBatch]:
        await asyncio.Event().wait()
        yield IngestBatch(make_batch([T0]))  # pragma: no cover - makes this a generator


async def test_healthz_is_unhealthy_with_the_reason_while_a_source_keeps_failing(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("neural_tui.runtime.pipeline.RESTART_FIRST_PAUSE_SECONDS", 0.01)
    healthy = ListSource([IngestBatch(make_batch([T0]))])
    runtime = Runtime(fast_settings(tmp_path), [healthy, AlwaysFailingSource()])
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(5):
            while not any(h.status == "failing" for h in runtime.latest.source_health):
                await asyncio.sleep(0.01)
        with MetricsServer(lambda: runtime.latest) as server:
            response = await asyncio.to_thread(httpx.get, f"{server.url}/healthz")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert len(body["reasons"]) == 1
    assert "source broken failing" in body["reasons"][0]
    assert "permission denied" in body["reasons"][0]
    assert {s["label"]: s["status"] for s in body["sources"]} == {"list": "ok",
                                                                  "broken": "failing"}


def test_a_source_whose_last_pass_is_too_old_is_stuck(tmp_path):
    settings = replace(fast_settings(tmp_path),
                       runtime=RuntimeSection(cadence_seconds=0.01, poll_interval_seconds=0.5))
    fresh = FrozenSource(time.monotonic())
    old = FrozenSource(time.monotonic() - 60)
    old.label = "old"
    runtime = Runtime(settings, [fresh, old, ListSource([])])

    health = runtime.build_snapshot().source_health

    assert runtime.stuck_after_seconds == 30.0
    assert [(h.label, h.status) for h in health] == [("frozen", "ok"), ("old", "stuck"),
                                                     ("list", "ok")]
    assert "no completed read pass for 60 s" in health[1].detail


def test_the_reference_progress_follows_the_records_read_not_the_last_run(tmp_path):
    settings = replace(fast_settings(tmp_path), drift=DriftSection(reference_rows=1000))
    runtime = Runtime(settings, [])
    runtime.ingest(IngestBatch(make_batch([T0] * 100)))
    runtime.analysis.analyse_now(("m", "1"), runtime.states[("m", "1")])
    runtime.ingest(IngestBatch(make_batch([T0 + 1] * 500, ids=[f"q{i}" for i in range(500)])))

    model = runtime.build_snapshot().models[0]

    assert model.analysis_waiting == "reference 600/1000 records"


def test_records_cut_to_bound_memory_are_counted_and_said_once(tmp_path):
    runtime = Runtime(fast_settings(tmp_path), [])
    proba = json.dumps({f"c{i}": 0.001 for i in range(100)}).encode()
    for step in range(2):
        runtime.ingest(IngestBatch(make_batch([T0 + step] * 3, ids=[f"{step}-{i}" for i in
                                                                  range(3)], proba=[proba] * 3)))

    model = runtime.build_snapshot().models[0]

    assert model.dropped == {"probability_classes": 6 * 90}
    messages = runtime.build_snapshot().ingest.last_messages
    assert sum("prediction_proba with more than 10 classes" in m for m in messages) == 1


def test_lines_skipped_recently_count_the_live_window_only_not_the_start_up_history(tmp_path):
    class Reading:
        label = "reading"
        caught_up = False

    now = [T0]
    source = Reading()
    settings = Settings(storage=StorageSection(tmp_path),
                        runtime=RuntimeSection(window_seconds=60.0))
    runtime = Runtime(settings, [source], clock=lambda: now[0])  # type: ignore[list-item]
    runtime.ingest(IngestBatch(make_batch([]), Counter(not_json=500)))
    assert runtime.build_snapshot().ingest.skipped_recently == 0
    source.caught_up = True
    assert not runtime.build_snapshot().catching_up
    assert runtime.build_snapshot().ingest.skipped_recently == 0
    now[0] = T0 + 10
    runtime.ingest(IngestBatch(make_batch([T0]), Counter(not_json=3, long_value=2)))
    now[0] = T0 + 30
    runtime.ingest(IngestBatch(make_batch([T0]), Counter(too_long=1)))
    assert runtime.build_snapshot().ingest.skipped_recently == 4
    now[0] = T0 + 71
    assert runtime.build_snapshot().ingest.skipped_recently == 1
    now[0] = T0 + 91
    ingest = runtime.build_snapshot().ingest
    assert ingest.skipped_recently == 0
    assert ingest.skipped_lines == {"not_json": 503, "too_long": 1}


async def test_a_listener_that_raises_once_never_stops_the_snapshots(tmp_path, monkeypatch):
    monkeypatch.setattr("neural_tui.runtime.pipeline.RESTART_FIRST_PAUSE_SECONDS", 0.01)
    runtime = Runtime(fast_settings(tmp_path), [ListSource([IngestBatch(make_batch([T0]))])])
    calls: list[float] = []

    def fails_the_first_time(snapshot: Snapshot) -> None:
        calls.append(snapshot.generated_at)
        if len(calls) == 1:
            raise RuntimeError("a reader's bug")

    runtime.subscribe(fails_the_first_time)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(5):
            while len(calls) < 4:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert any("publisher failed" in m and "a reader's bug" in m
               for m in runtime.latest.ingest.last_messages)


def test_a_remote_view_that_cannot_be_shown_costs_its_own_models_only(tmp_path, monkeypatch):
    from neural_tui.remote_models import RemoteModel, RemoteView

    def refuses(view: RemoteView) -> tuple:
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr("neural_tui.runtime.pipeline.remote_model_snapshots", refuses)
    runtime = Runtime(fast_settings(tmp_path), [])
    runtime.ingest(IngestBatch(make_batch([T0] * 2)))
    model = RemoteModel(name="churn", version="1", predictions_total=float("inf"),
                        errors_total={}, latency=None, throughput_rps=None, error_rate=None,
                        latency_p50_ms=None, latency_p95_ms=None, latency_p99_ms=None,
                        window_seconds=60.0)
    runtime.note_remote(RemoteView(label="target a", at=T0, models=(model,)))
    snapshot = runtime.build_snapshot()
    assert [m.predictions_total for m in snapshot.models] == [2]
    assert any("remote view target a left out" in m for m in snapshot.ingest.last_messages)
