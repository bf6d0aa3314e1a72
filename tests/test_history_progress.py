"""`Snapshot.history`: how far the history on disk at start has been read (bytes, records,
records/s, time left), published only while catching up; and how it reads in words."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from live_runtime import snapshots_until_live

from neural_tui.config import AnalysisSection, RuntimeSection, Settings
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import HistoryProgress
from neural_tui.sources.tail import TailSource

LINES = 2_000


def write_history(predictions: Path, files: int = 3) -> int:
    """`files` files of records; the bytes on disk."""
    start = time.time() - 3600
    for index in range(files):
        lines = [json.dumps({"timestamp": start + index * 60 + i * 0.01,
                             "prediction_id": f"{index}-{i}", "model_name": "fraud",
                             "model_version": "1", "input_features": {"x": i % 7},
                             "prediction": 1, "latency_ms": 5.0})
                 for i in range(LINES)]
        (predictions / f"part-{index}.jsonl").write_text("\n".join(lines) + "\n")
    return sum(path.stat().st_size for path in predictions.iterdir())


def settings() -> Settings:
    return Settings(runtime=RuntimeSection(cadence_seconds=0.001),
                    analysis=AnalysisSection(interval_seconds=3600.0, every_records=10_000_000))


async def test_the_history_read_grows_to_the_bytes_on_disk_at_start_then_is_gone(predictions):
    on_disk = write_history(predictions)
    source = TailSource(predictions.parent, poll_interval=0.01, chunk_bytes=8192)
    seen = await snapshots_until_live(Runtime(settings(), [source]), 0.001)
    reading = [s.history for s in seen if s.catching_up and s.history is not None]
    assert len({h.bytes_read for h in reading}) > 2, "the progress moved while reading"
    assert {h.bytes_total for h in reading} == {on_disk}
    read = [h.bytes_read for h in reading]
    assert read == sorted(read)
    assert [h.records_read for h in reading] == sorted(h.records_read for h in reading)
    assert reading[-1].records_read == 3 * LINES
    assert reading[-1].records_per_second > 0
    assert reading[-1].seconds_left == 0.0, "nothing left once every byte is read"
    done = [h for h in reading if h.analysing]
    assert all(h.bytes_read == on_disk for h in done)
    assert len({h.records_per_second for h in done}) <= 1, "the rate stands once read"
    assert not any(h.analysing for h in reading if h.bytes_read < on_disk)
    assert seen[-1].history is None, "no progress once caught up"


async def test_a_source_reading_history_is_read_in_full_as_its_progress_says(predictions):
    on_disk = write_history(predictions, files=2)
    async with TailSource(predictions.parent, chunk_bytes=8192) as source:
        assert source.history_bytes is None, "nothing known before the first scan"
        await source.read_available()
        assert source.history_bytes == (on_disk, on_disk)


async def test_files_written_after_the_start_do_not_move_the_total(predictions):
    on_disk = write_history(predictions, files=1)
    async with TailSource(predictions.parent) as source:
        await source.read_available()
        (predictions / "later.jsonl").write_text('{"timestamp": 1, "prediction_id": "p"}\n')
        await source.read_available()
        read, total = source.history_bytes or (0, 0)
    assert total == on_disk
    assert read > total


def test_a_runtime_without_a_source_that_can_say_has_no_progress():
    class Silent:
        label = "silent"
        caught_up = False

    runtime = Runtime(settings(), [Silent()])  # type: ignore[list-item]
    snapshot = runtime.build_snapshot()
    assert snapshot.catching_up
    assert snapshot.history is None


@pytest.mark.parametrize(("progress", "words"), [
    (HistoryProgress(412, 1000, 412_000, 180_000.4, 2.2),
     "41 % (412,000 records, 180,000/s, ~3 s left)"),
    (HistoryProgress(0, 1000, 0, 0.0, None), "0 % (0 records, 0/s)"),
    (HistoryProgress(0, 0, 0, 0.0, None), "100 % (0 records, 0/s)"),
    (HistoryProgress(5000, 1000, 9, 3.0, 0.0), "100 % (9 records, 3/s, ~0 s left)"),
    (HistoryProgress(1000, 1000, 9, 3.0, 0.0, analysing=True), "100 % (9 records, 3/s; analysing)"),
])
def test_progress_reads_as_percent_records_rate_and_time_left(progress, words):
    assert progress.describe() == words


@pytest.mark.parametrize(("read", "total", "bar"), [
    (0, 100, "[----------]"),
    (41, 100, "[####------]"),
    (100, 100, "[##########]"),
    (250, 100, "[##########]"),
    (0, 0, "[##########]"),
])
def test_the_bar_is_ascii_and_never_overflows(read, total, bar):
    assert HistoryProgress(read, total, 0, 0.0, None).bar(10) == bar
