"""`Snapshot.catching_up`: true while the history on disk at start is being read, or while the
engines' results still describe it, and never again once false; the alert rules act only on
snapshots where it is false."""

from __future__ import annotations

import json
import time
from pathlib import Path

from live_runtime import snapshots_until_live

from neural_tui.config import AnalysisSection, DriftSection, RuntimeSection, Settings
from neural_tui.runtime.pipeline import Runtime
from neural_tui.sources.tail import TailSource

FILES = 6
LINES = 400


def write_history(predictions: Path) -> int:
    """Six files of records, oldest first; the last file's feature moved far away."""
    start = time.time() - 3600
    for index in range(FILES):
        value = 1000.0 if index == FILES - 1 else 0.0
        lines = [json.dumps({"timestamp": start + index * 60 + i * 0.1,
                             "prediction_id": f"{index}-{i}", "model_name": "fraud",
                             "model_version": "1", "input_features": {"x": value + i % 7},
                             "prediction": 1, "latency_ms": 5.0})
                 for i in range(LINES)]
        (predictions / f"part-{index}.jsonl").write_text("\n".join(lines) + "\n")
    return FILES * LINES


def settings() -> Settings:
    return Settings(runtime=RuntimeSection(cadence_seconds=0.01),
                    analysis=AnalysisSection(interval_seconds=3600.0, every_records=10_000_000),
                    drift=DriftSection(window=200, reference_rows=200))


async def test_no_snapshot_is_live_before_every_record_on_disk_was_read(predictions):
    total = write_history(predictions)
    source = TailSource(predictions.parent, poll_interval=0.01, chunk_bytes=4096)
    seen = await snapshots_until_live(Runtime(settings(), [source]))
    assert seen[0].catching_up
    live = [s for s in seen if not s.catching_up]
    assert live
    assert all(s.ingest.records_total == total for s in live)


async def test_the_first_live_snapshot_carries_analysis_of_the_newest_records(predictions):
    write_history(predictions)
    source = TailSource(predictions.parent, poll_interval=0.01, chunk_bytes=4096)
    seen = await snapshots_until_live(Runtime(settings(), [source]))
    first_live = next(s for s in seen if not s.catching_up)
    (model,) = first_live.models
    assert model.drifted is True, "the drift run over the newest window, not one over history"


async def test_an_empty_storage_is_live_after_its_first_pass(predictions):
    source = TailSource(predictions.parent, poll_interval=0.01)
    seen = await snapshots_until_live(Runtime(settings(), [source]))
    assert not seen[-1].catching_up
    assert seen[-1].ingest.records_total == 0


def test_a_source_that_cannot_say_is_taken_as_caught_up():
    runtime = Runtime(settings(), [])
    assert not runtime.build_snapshot().catching_up


class Reading:
    """A source that says whether it read the history on disk at its start."""

    label = "reading"

    def __init__(self) -> None:
        self.caught_up = False


def test_a_backlog_after_the_start_up_read_does_not_make_snapshots_catch_up_again():
    from neural_tui.records import IngestBatch
    from tests.batches import make_batch

    source = Reading()
    runtime = Runtime(settings(), [source])  # type: ignore[list-item]
    assert runtime.build_snapshot().catching_up
    source.caught_up = True
    assert not runtime.build_snapshot().catching_up
    runtime._note_backlog(source, True)  # type: ignore[arg-type]
    assert not runtime.build_snapshot().catching_up
    runtime._note_backlog(source, False)  # type: ignore[arg-type]
    runtime.ingest(IngestBatch(make_batch([time.time()], model="new")))
    assert not runtime.build_snapshot().catching_up, "a new model's first analysis is live"
