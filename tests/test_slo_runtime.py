"""SLOs in the runtime: minute counts of admitted record time, late labels, and snapshots."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from neural_tui.config import (
    RuntimeSection,
    Settings,
    SLOSection,
    StorageSection,
    slo_counts_bytes,
)
from neural_tui.engines.slo import SLOSpec, SLOStatus
from neural_tui.records import IngestBatch, RecordBatch
from neural_tui.reports import load_runtime
from neural_tui.runtime.engine_settings import slo_specs
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.slo_counts import SLOCounts, evaluate_models
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.runtime.state import ModelState
from tests.batches import ListSource, make_batch

MINUTE = 60
T0 = 1_767_225_600.0
"""2026-01-01 00:00 UTC, a minute boundary."""
YEAR = 365 * 86_400

AVAILABILITY = SLOSection(name="up", type="availability", target=0.99, window="1h")
LATENCY = SLOSection(name="fast", type="latency", target=0.9, window="1h", threshold_ms=100.0)
SLOW = SLOSection(name="slow", type="latency", target=0.5, window="1h", threshold_ms=500.0)
ACCURACY = SLOSection(name="right", type="accuracy", target=0.8, window="1d")
THROUGHPUT = SLOSection(name="busy", type="throughput", target=0.5, window="1h", min_rps=0.5)
EVERY_TYPE = (AVAILABILITY, LATENCY, SLOW, ACCURACY, THROUGHPUT)


def settings(tmp_path: Path, *slos: SLOSection) -> Settings:
    return Settings(storage=StorageSection(tmp_path), slo=slos,
                    runtime=RuntimeSection(cadence_seconds=0.01))


def traffic(start: float, minutes: int, per_minute: int = 60) -> list[IngestBatch]:
    """One batch a minute: steady requests, every tenth failed, latencies 0..590 ms, one in
    six without a latency; then labels for the minute's predictions, half of them right."""
    batches = []
    for minute in range(minutes):
        times = start + minute * MINUTE + np.linspace(0, 59, per_minute)
        ids = [f"m{minute}-{i}" for i in range(per_minute)]
        latency = np.where(np.arange(per_minute) % 6 == 5, np.nan,
                           (np.arange(per_minute) * 10) % 600)
        errors = ["timeout" if i % 10 == 0 else None for i in range(per_minute)]
        batches.append(IngestBatch(make_batch(times, ids=ids, latency_ms=latency, errors=errors,
                                              predictions=[1] * per_minute)))
        labelled = ids[::2]
        batches.append(IngestBatch(make_batch(
            np.full(len(labelled), start + minute * MINUTE + 59.5), ids=labelled,
            is_label=[True] * len(labelled),
            ground_truth=[1 if i % 2 else 0 for i in range(len(labelled))])))
    return batches


def statuses(runtime: Runtime) -> dict[tuple[str, str], tuple]:
    return {(m.name, m.version): m.slos for m in runtime.build_snapshot().models}


def merged(batches: list[IngestBatch]) -> IngestBatch:
    return IngestBatch(RecordBatch.concat([batch.records for batch in batches]))


def test_history_read_in_one_batch_gives_the_statuses_of_the_same_records_live(tmp_path):
    batches = traffic(T0, 90)
    clock = lambda: T0 + 90 * MINUTE  # noqa: E731
    live = Runtime(settings(tmp_path, *EVERY_TYPE), [], clock=clock)
    for batch in batches:
        live.ingest(batch)
    history = Runtime(settings(tmp_path, *EVERY_TYPE), [], clock=clock)
    history.ingest(merged(batches))
    assert statuses(history) == statuses(live)
    (slos,) = statuses(live).values()
    assert [s.spec.name for s in slos] == ["up", "fast", "slow", "right", "busy"]
    assert all(s.total > 0 for s in slos)


def test_history_in_storage_read_at_start_up_equals_the_records_fed_live(tmp_path):
    batches = traffic(T0, 70, per_minute=20)
    lines = []
    for batch in batches:
        records = batch.records
        for i in range(len(records)):
            line = {"timestamp": float(records.timestamp[i]), "model_name": "m",
                    "model_version": "1", "prediction_id": records.prediction_id[i]}
            if records.is_label[i]:
                line["ground_truth"] = records.ground_truth[i]
            else:
                line.update(input_features={"x": 1}, prediction=records.prediction[i],
                            error=records.error[i])
                if not np.isnan(records.latency_ms[i]):
                    line["latency_ms"] = float(records.latency_ms[i])
            lines.append(json.dumps(line))
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "p.jsonl").write_text("\n".join(lines) + "\n")
    from_storage = load_runtime(settings(tmp_path, *EVERY_TYPE))
    live = Runtime(settings(tmp_path, *EVERY_TYPE), [], clock=from_storage.clock)
    for batch in batches:
        live.ingest(batch)
    assert statuses(from_storage) == statuses(live)


def test_a_lone_record_a_year_ahead_changes_no_status(tmp_path):
    clock = lambda: T0 + 2 * YEAR  # noqa: E731
    runtime = Runtime(settings(tmp_path, *EVERY_TYPE), [], clock=clock)
    untouched = Runtime(settings(tmp_path, *EVERY_TYPE), [], clock=clock)
    for batch in traffic(T0, 40):
        runtime.ingest(batch)
        untouched.ingest(batch)
    runtime.ingest(IngestBatch(make_batch([T0 + YEAR], ids=["ahead"], errors=["boom"])))
    assert statuses(runtime) == statuses(untouched)
    for batch in traffic(T0 + 40 * MINUTE, 30):
        runtime.ingest(batch)
        untouched.ingest(batch)
    assert statuses(runtime) == statuses(untouched)
    (slos,) = statuses(runtime).values()
    assert slos[0].at < T0 + 71 * MINUTE


def test_a_record_ahead_is_counted_once_traffic_reaches_it():
    state = ModelState("m", "1", slos=(_spec(AVAILABILITY),))
    state.ingest(make_batch(T0 + np.linspace(0, 59, 3000)))
    state.ingest(make_batch([T0 + 300.0], ids=["ahead"]))  # 4 minutes ahead, alone: held
    assert state.slo_counts is not None
    assert state.slo_counts.minute_counts().requests.tolist() == [3000]
    state.ingest(make_batch(T0 + 240 + np.linspace(0, 59, 3000),
                            ids=[f"q{i}" for i in range(3000)]))
    counts = state.slo_counts.minute_counts()
    assert counts.requests.tolist() == [3000, 0, 0, 0, 3000, 1]


def test_a_late_label_counts_in_its_predictions_minute():
    state = ModelState("m", "1", slos=(_spec(ACCURACY),))
    state.ingest(make_batch([T0 + 5.0, T0 + 65.0], ids=["a", "b"], predictions=[1, "1"]))
    state.ingest(make_batch(T0 + 120 + np.arange(7200.0, step=10.0),
                            ids=[f"n{i}" for i in range(720)]))
    state.ingest(make_batch([T0 + 7300.0] * 2, ids=["a", "b"], is_label=[True, True],
                            ground_truth=[1.0, 1]))
    counts = state.slo_counts.minute_counts()
    first = counts.first_minute
    minute = int(T0 // MINUTE)
    assert first == minute
    assert counts.labelled[0] == 1 and counts.correct[0] == 1  # 1 == 1.0
    assert counts.labelled[1] == 1 and counts.correct[1] == 0  # "1" != 1
    assert int(counts.labelled.sum()) == 2
    assert (state.labels_joined, state.labels_correct) == (2, 1)


def test_a_label_read_before_its_prediction_counts_in_the_predictions_minute():
    state = ModelState("m", "1", slos=(_spec(ACCURACY),))
    state.ingest(make_batch([T0 + 1.0], ids=["other"]))
    state.ingest(make_batch([T0 + 200.0], ids=["a"], is_label=[True], ground_truth=[0]))
    state.ingest(make_batch([T0 + 130.0], ids=["a"], predictions=[0]))
    counts = state.slo_counts.minute_counts()
    assert counts.labelled.tolist()[2] == 1 and counts.correct.tolist()[2] == 1


def test_labels_correct_counts_every_model_whether_or_not_it_has_an_slo(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: T0 + 100)
    runtime.ingest(IngestBatch(make_batch([T0] * 4, ids=list("abcd"),
                                          predictions=[1, 1, "x", True])))
    runtime.ingest(IngestBatch(make_batch([T0 + 1] * 4, ids=list("abcd"), is_label=[True] * 4,
                                          ground_truth=[1.0, 2, "x", 1])))
    (model,) = runtime.build_snapshot().models
    assert (model.labels_joined, model.labels_correct) == (4, 2)
    assert model.slos == ()


def test_latency_counts_every_threshold_among_requests_with_a_latency():
    state = ModelState("m", "1", slos=(_spec(LATENCY), _spec(SLOW)))
    state.ingest(make_batch([T0] * 5, latency_ms=[50.0, 100.0, 100.5, 600.0, np.nan]))
    counts = state.slo_counts.minute_counts()
    assert counts.timed.tolist() == [4]
    assert {t: c.tolist() for t, c in counts.within_ms.items()} == {100.0: [2], 500.0: [3]}


def test_only_models_with_an_slo_keep_counts(tmp_path):
    only_a = SLOSection(name="a-up", type="availability", target=0.9, window="1h", model="a")
    runtime = Runtime(settings(tmp_path, only_a, AVAILABILITY), [], clock=lambda: T0 + 10)
    runtime.ingest(IngestBatch(make_batch([T0] * 3, model="a")))
    runtime.ingest(IngestBatch(make_batch([T0] * 3, model="b")))
    runtime_without = Runtime(settings(tmp_path), [], clock=lambda: T0 + 10)
    runtime_without.ingest(IngestBatch(make_batch([T0] * 3, model="c")))
    assert [s.spec.name for s in statuses(runtime)[("a", "1")]] == ["a-up", "up"]
    assert [(s.spec.name, s.model) for s in statuses(runtime)[("b", "1")]] == [("up", "b")]
    assert runtime_without.states[("c", "1")].slo_counts is None


def test_the_ring_holds_twice_the_longest_window_in_int64_rows():
    counts = SLOCounts((_spec(SLOSection(name="a", type="availability", target=0.9,
                                         window="30d")), _spec(AVAILABILITY)))
    assert counts.capacity == 2 * 43_200 - 1
    assert counts.nbytes == 2 * counts.capacity * 8  # requests and errors


def test_the_ring_forgets_minutes_older_than_its_capacity():
    state = ModelState("m", "1", slos=(_spec(AVAILABILITY),))  # 119 minutes kept
    for minute in range(200):
        state.ingest(make_batch([T0 + minute * MINUTE], ids=[f"p{minute}"]))
    counts = state.slo_counts.minute_counts()
    assert counts.first_minute == int(T0 // MINUTE) + 200 - 119
    assert counts.requests.tolist() == [1] * 119


def test_the_slo_clock_is_the_models_record_time_not_the_wall_clock(tmp_path):
    runtime = Runtime(settings(tmp_path, AVAILABILITY), [], clock=lambda: T0 + 10 * YEAR)
    for batch in traffic(T0, 5):
        runtime.ingest(batch)
    ((status,),) = [slos[:1] for slos in statuses(runtime).values()]
    assert T0 + 4 * MINUTE < status.at <= T0 + 5 * MINUTE
    assert status.total == 5 * 60


def test_a_model_without_records_in_its_window_has_statuses_without_figures(tmp_path):
    runtime = Runtime(settings(tmp_path, ACCURACY), [], clock=lambda: T0 + 100)
    runtime.ingest(IngestBatch(make_batch([T0 + 1.0], ids=["a"])))
    ((status,),) = statuses(runtime).values()
    assert status.total == 0 and status.compliance is None


async def test_every_published_snapshot_carries_the_slos_evaluated_off_the_loop(tmp_path):
    source = ListSource(traffic(T0, 3))
    runtime = Runtime(settings(tmp_path, *EVERY_TYPE), [source], clock=lambda: T0 + 200)
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(5):
            while not seen or not seen[-1].models or seen[-1].models[0].predictions_total < 180:
                await asyncio.sleep(0.01)
            # refreshes take turns within a tenth of the cadence: the statuses catch up
            while not seen[-1].models[0].slos or seen[-1].models[0].slos[0].total < 180:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    live = seen[-1].models[0].slos
    assert [status.spec.name for status in live] == [slo.name for slo in EVERY_TYPE]
    assert live[0].total == 180


class Clock:
    """A runtime clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def published_slos(runtime: Runtime, *steps: tuple[Callable[[], None],
                                                  Callable[[SLOStatus], bool]]) -> SLOStatus:
    """Run the runtime; for each step, do its action, then wait until a published status (the
    first SLO of the first model) satisfies its condition; the last such status."""
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(5):
            for action, ready in steps:
                action()
                while not (seen and seen[-1].models and seen[-1].models[0].slos
                           and ready(seen[-1].models[0].slos[0])):
                    await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return seen[-1].models[0].slos[0]


def nothing() -> None:
    """A step that only waits."""


async def test_a_live_throughput_slo_fails_when_all_traffic_stops(tmp_path):
    """Three busy minutes arrive live (two of them complete at the newest record), then
    nothing for 27: those minutes count as the outage they are (3 good slices of 30), while a
    report on the files judges them at their newest record (every slice good)."""
    clock = Clock(T0 + 3 * MINUTE)

    def silence() -> None:
        clock.now = T0 + 30 * MINUTE + 30

    runtime = Runtime(settings(tmp_path, THROUGHPUT), [ListSource(traffic(T0, 3))], clock=clock)
    live = await published_slos(runtime, (nothing, lambda status: status.total == 2),
                                (silence, lambda status: status.total == 30))
    assert live.good == 3
    assert live.meeting is False
    (report,) = runtime.build_snapshot().models[0].slos
    assert report.compliance == 1.0


async def test_a_replay_of_old_records_arriving_live_is_judged_at_their_time(tmp_path):
    """Records a day old arriving now (a replay) are judged as of their own time, not now,
    when their hour would be over: the SLO clock runs on only while nothing arrives."""
    runtime = Runtime(settings(tmp_path, AVAILABILITY), [ListSource(traffic(T0, 3))],
                      clock=Clock(T0 + 86_400))
    live = await published_slos(runtime, (nothing, lambda status: status.total == 180))
    assert live.at < T0 + 4 * MINUTE
    assert live.compliance == 0.9


def _spec(section: SLOSection) -> SLOSpec:
    (spec,) = slo_specs((section,), "m")
    return spec


def test_an_older_record_read_later_moves_the_models_first_minute_back():
    state = ModelState("m", "1", slos=(_spec(THROUGHPUT),))
    state.ingest(make_batch([T0 + 600.0], ids=["late-file"]))
    state.ingest(make_batch([T0 + 1.0], ids=["early-file"]))
    counts = state.slo_counts.minute_counts()
    assert counts.first_minute == int(T0 // MINUTE)
    assert counts.requests.tolist() == [1] + [0] * 9 + [1]


async def test_a_failing_slo_evaluation_keeps_publishing_and_says_so(tmp_path, monkeypatch):
    def broken(work):
        raise RuntimeError("engine bug")

    monkeypatch.setattr("neural_tui.runtime.pipeline.evaluate_models", broken)
    source = ListSource(traffic(T0, 2))
    runtime = Runtime(settings(tmp_path, AVAILABILITY), [source], clock=lambda: T0 + 200)
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(5):
            while not seen or not seen[-1].models or seen[-1].models[0].predictions_total < 120:
                await asyncio.sleep(0.01)
            count = len(seen)
            while len(seen) < count + 3:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen[-1].models[0].slos == ()
    said = [m for m in seen[-1].ingest.last_messages if "SLO evaluation failed" in m]
    assert len(said) == 1


def test_a_quiet_models_history_read_in_one_batch_gives_its_live_statuses(tmp_path):
    stamps = T0 + 10.0 * np.arange(20_000)
    errors = ["boom" if i % 50 == 0 else None for i in range(20_000)]
    whole = make_batch(stamps, ids=[f"q{i}" for i in range(20_000)], errors=errors)
    clock = lambda: float(stamps[-1]) + 5  # noqa: E731
    live = Runtime(settings(tmp_path, AVAILABILITY), [], clock=clock)
    for start in range(0, 20_000, 100):
        live.ingest(IngestBatch(whole.take(np.arange(start, start + 100))))
    history = Runtime(settings(tmp_path, AVAILABILITY), [], clock=clock)
    history.ingest(IngestBatch(whole))
    assert statuses(history) == statuses(live)
    ((up,),) = statuses(history).values()
    assert up.total > 300
    assert up.exhausted


def steady(start: float, seconds: int, *, model: str = "m", version: str = "1",
           failing: bool = False) -> IngestBatch:
    """One request a second for `seconds`, all failed or none."""
    times = start + np.arange(seconds, dtype=np.float64)
    ids = [f"{model}-{version}-{start + i}" for i in range(seconds)]
    return IngestBatch(make_batch(times, model=model, version=version, ids=ids,
                                  errors=["boom" if failing else None] * seconds))


def test_a_model_gone_silent_fails_its_throughput_slo_at_the_others_time(tmp_path):
    runtime = Runtime(settings(tmp_path, THROUGHPUT), [], clock=lambda: T0 + 3 * 3600)
    for minute in range(120):
        runtime.ingest(steady(T0 + minute * MINUTE, MINUTE, model="a"))
        if minute < 10:
            runtime.ingest(steady(T0 + minute * MINUTE, MINUTE, model="b"))
    ((a,), (b,)) = (statuses(runtime)[key] for key in (("a", "1"), ("b", "1")))
    assert a.at == b.at > T0 + 119 * MINUTE
    assert a.compliance == 1.0
    assert (b.good, b.total) == (0, 60)
    assert b.meeting is False
    assert b.alerts


def test_a_retired_version_stops_failing_once_its_window_holds_no_event(tmp_path):
    runtime = Runtime(settings(tmp_path, AVAILABILITY), [], clock=lambda: T0 + 50 * 3600)
    runtime.ingest(steady(T0, 10 * MINUTE, version="1", failing=True))
    for hour in range(46):
        runtime.ingest(steady(T0 + 10 * MINUTE + hour * 3600, 3600, version="2"))
    ((old,), (new,)) = (statuses(runtime)[key] for key in (("m", "1"), ("m", "2")))
    assert old.total == 0 and old.compliance is None
    assert not old.exhausted and not old.paging
    assert new.compliance == 1.0


async def test_the_worker_thread_copies_the_counts_not_the_event_loop(tmp_path, monkeypatch):
    copied_in: list[str] = []
    copy = SLOCounts.minute_counts

    def watched(counts: SLOCounts):
        copied_in.append(threading.current_thread().name)
        return copy(counts)

    monkeypatch.setattr(SLOCounts, "minute_counts", watched)
    runtime = Runtime(settings(tmp_path, AVAILABILITY), [], clock=lambda: T0 + 3600)
    runtime.ingest(steady(T0, 600, model="a"))
    runtime.ingest(steady(T0, 600, model="b"))
    await runtime._refresh_slos()
    assert len(copied_in) == 2
    assert threading.main_thread().name not in copied_in


async def test_slos_take_a_tenth_of_the_cadence_evaluating_models_in_turn(tmp_path,
                                                                         monkeypatch):
    evaluated: list[tuple[int, list[str]]] = []
    refresh = 0

    def two_seconds_each(work):
        evaluated.append((refresh, sorted(name for name, _ in work)))
        return {key: (statuses, 2.0) for key, (statuses, _) in evaluate_models(work).items()}

    monkeypatch.setattr("neural_tui.runtime.pipeline.evaluate_models", two_seconds_each)
    ten_seconds = Settings(storage=StorageSection(tmp_path), slo=(AVAILABILITY,),
                           runtime=RuntimeSection(cadence_seconds=10.0))
    runtime = Runtime(ten_seconds, [], clock=lambda: T0 + 3600)
    for refresh in range(1, 12):
        for model in "abc":
            runtime.ingest(steady(T0 + refresh, 1, model=model))
        await runtime._refresh_slos()
    # 1 s of credit a refresh: the first pass (costs unknown) spends 6 s, then 2 s a model
    assert evaluated == [(1, ["a", "b", "c"]), (7, ["a"]), (9, ["b"]), (11, ["c"])]
    assert runtime.build_snapshot().models[0].slos[0].total == 11


def test_the_bytes_the_config_bounds_are_the_bytes_a_model_keeps():
    sections = (
        SLOSection(name="up", type="availability", target=0.99, window="7d"),
        SLOSection(name="fast", type="latency", target=0.9, window="90d", threshold_ms=100.0),
        SLOSection(name="fast-too", type="latency", target=0.8, window="1h", threshold_ms=100.0),
        SLOSection(name="slow", type="latency", target=0.9, window="1d", threshold_ms=900.0),
        SLOSection(name="right", type="accuracy", target=0.8, window="30d"),
        THROUGHPUT,
    )
    counts = SLOCounts(slo_specs(sections, "m"))
    assert counts.nbytes == slo_counts_bytes(sections) == 8 * 7 * (2 * 90 * 1440 - 1)
