"""A scripted stand-in for the runtime, and builders for the snapshots it publishes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from neural_tui.runtime.feed import SnapshotListener
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    IngestStats,
    LatencyHistogram,
    ModelSnapshot,
    Snapshot,
)

FIXED_TIME = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: every built snapshot carries it, so rendered output is fixed."""


class FakeFeed:
    """A `SnapshotFeed` whose `run()` publishes `script` in order, then waits to be cancelled.

    Tests can also `publish()` snapshots themselves; `paused_calls`, `listeners`, `running` and
    `cancelled` record what the console did to it. Like the runtime, `set_paused` republishes
    the latest snapshot with its `paused` flag set.
    """

    def __init__(self, initial: Snapshot | None = None, script: Iterable[Snapshot] = ()) -> None:
        self._latest = initial if initial is not None else Snapshot.empty(FIXED_TIME)
        self._script = list(script)
        self.listeners: list[SnapshotListener] = []
        self.paused_calls: list[bool] = []
        self.running = False
        self.cancelled = False

    @property
    def latest(self) -> Snapshot:
        return self._latest

    async def run(self) -> None:
        self.running = True
        try:
            for snapshot in self._script:
                self.publish(snapshot)
                await asyncio.sleep(0)
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.running = False

    def subscribe(self, listener: SnapshotListener) -> None:
        self.listeners.append(listener)

    def unsubscribe(self, listener: SnapshotListener) -> None:
        self.listeners.remove(listener)

    def set_paused(self, paused: bool) -> None:
        self.paused_calls.append(paused)
        self.publish(replace(self._latest, paused=paused))

    def publish(self, snapshot: Snapshot) -> None:
        self._latest = snapshot
        for listener in list(self.listeners):
            listener(snapshot)


def model_snapshot(name: str = "fraud-detector", **overrides: Any) -> ModelSnapshot:
    """A healthy model with a minute of steady traffic; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "name": name,
        "version": "1.0.0",
        "predictions_total": 12_000,
        "errors_total": {},
        "latency": LatencyHistogram(
            cumulative_counts=tuple(12_000 for _ in LATENCY_BUCKETS_SECONDS),
            count=12_000,
            sum_seconds=240.0,
        ),
        "labels_total": 3_000,
        "labels_joined": 2_900,
        "last_record_at": FIXED_TIME,
        "window_seconds": 300.0,
        "throughput_rps": 20.0,
        "error_rate": 0.0,
        "latency_p50_ms": 18.0,
        "latency_p95_ms": 42.5,
        "latency_p99_ms": 80.0,
        "throughput_series": tuple(18.0 + (i % 7) for i in range(60)),
        "error_rate_series": tuple(0.0 for _ in range(60)),
        "latency_p95_series": tuple(40.0 + (i % 5) for i in range(60)),
    }
    fields.update(overrides)
    return ModelSnapshot(**fields)


def snapshot(
    *models: ModelSnapshot,
    records_total: int | None = None,
    skipped: dict[str, int] | None = None,
    last_messages: tuple[str, ...] = (),
    paused: bool = False,
) -> Snapshot:
    """A snapshot at `FIXED_TIME` of `models` (sorted by name, as the runtime publishes them)."""
    total = sum(m.predictions_total for m in models) if records_total is None else records_total
    return Snapshot(
        generated_at=FIXED_TIME,
        models=tuple(sorted(models, key=lambda m: m.name)),
        ingest=IngestStats(total, dict(skipped or {}), last_messages),
        paused=paused,
        sources=("monitoring_data",),
    )
