"""One-shot reports for scripts and CI: read storage once, print a table or JSON, exit."""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_tui.config import HealthSettings, Settings
from neural_tui.errors import UsageError
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.sources.tail import TailSource

EXIT_OK = 0
EXIT_UNHEALTHY = 1


def load_runtime(settings: Settings) -> Runtime:
    """A runtime fed with everything in storage now, its clock set to the newest record.

    Reports on stored history are read as of the newest record, so a report on yesterday's
    files says what it said yesterday; on live storage the newest record is about now.
    """
    storage = settings.storage.path
    if not storage.is_dir():
        raise UsageError(f"{storage}: storage directory does not exist")
    source = TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)
    runtime = Runtime(settings, [source])
    for batch in asyncio.run(source.read_available()):
        runtime.ingest(batch)
    newest = max((s.last_record_at for s in runtime.states.values()
                  if s.last_record_at is not None), default=None)
    runtime.clock = (lambda: newest) if newest is not None else time.time
    return runtime


def select_models(snapshot: Snapshot, model: str | None) -> tuple[ModelSnapshot, ...]:
    if model is None:
        return snapshot.models
    chosen = tuple(m for m in snapshot.models if m.name == model)
    if not chosen:
        known = ", ".join(sorted({m.name for m in snapshot.models})) or "none"
        raise UsageError(f"--model {model!r}: no such model in storage (known: {known})")
    return chosen


def model_status(model: ModelSnapshot) -> dict[str, Any]:
    return {
        "name": model.name,
        "version": model.version,
        "predictions_total": model.predictions_total,
        "errors_total": model.errors_total,
        "labels_total": model.labels_total,
        "labels_joined": model.labels_joined,
        "last_record_at": model.last_record_at,
        "window_seconds": model.window_seconds,
        "throughput_rps": model.throughput_rps,
        "error_rate": model.error_rate,
        "latency_p50_ms": model.latency_p50_ms,
        "latency_p95_ms": model.latency_p95_ms,
        "latency_p99_ms": model.latency_p99_ms,
    }


def print_status(settings: Settings, *, model: str | None, as_json: bool) -> int:
    snapshot = load_runtime(settings).build_snapshot()
    models = select_models(snapshot, model)
    if as_json:
        print(json.dumps({
            "storage": str(settings.storage.path),
            "records_total": snapshot.ingest.records_total,
            "skipped_lines": snapshot.ingest.errors_total,
            "models": [model_status(m) for m in models],
        }))
        return EXIT_OK
    table = Table(title=f"neural-tui status — {settings.storage.path}", title_justify="left")
    for column in ("model", "version", "predictions", "errors", "error rate", "rps",
                   "p50 ms", "p95 ms", "p99 ms", "labels"):
        table.add_column(column, justify="left" if column in ("model", "version") else "right")
    for m in models:
        table.add_row(Text(m.name), Text(m.version), f"{m.predictions_total:,}",
                      f"{m.errors_count:,}", f"{m.error_rate:.2%}", f"{m.throughput_rps:.1f}",
                      _ms(m.latency_p50_ms), _ms(m.latency_p95_ms), _ms(m.latency_p99_ms),
                      f"{m.labels_joined:,}/{m.labels_total:,}")
    console = Console()
    console.print(table)
    skipped = sum(snapshot.ingest.errors_total.values())
    console.print(f"{snapshot.ingest.records_total:,} records read, {skipped:,} lines skipped",
                  markup=False)
    return EXIT_OK


@dataclass(frozen=True, slots=True)
class ModelHealth:
    name: str
    version: str
    problems: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems


def judge(model: ModelSnapshot, limits: HealthSettings, now: float) -> ModelHealth:
    """The problems a model has against the `[health]` limits, worded for a person."""
    problems = []
    if model.error_rate > limits.max_error_rate:
        problems.append(f"error rate {model.error_rate:.2%} above {limits.max_error_rate:.2%}")
    p95 = model.latency_p95_ms
    if limits.max_latency_p95_ms is not None and p95 is not None and (
        p95 > limits.max_latency_p95_ms
    ):
        problems.append(f"p95 latency {p95:.1f} ms above {limits.max_latency_p95_ms:g} ms")
    if limits.max_silence_seconds is not None:
        silent = now - model.last_record_at if model.last_record_at is not None else math.inf
        if silent > limits.max_silence_seconds:
            problems.append(f"no record for {silent:.0f} s (limit "
                            f"{limits.max_silence_seconds:g} s)")
    return ModelHealth(model.name, model.version, tuple(problems))


def print_health(settings: Settings, *, model: str | None, as_json: bool) -> int:
    snapshot = load_runtime(settings).build_snapshot()
    models = select_models(snapshot, model)
    verdicts = [judge(m, settings.health, time.time()) for m in models]
    problems = [] if verdicts else ["no model has any record in storage"]
    healthy = bool(verdicts) and all(v.healthy for v in verdicts)
    if as_json:
        print(json.dumps({
            "healthy": healthy,
            "problems": problems,
            "models": [{"name": v.name, "version": v.version, "healthy": v.healthy,
                        "problems": list(v.problems)} for v in verdicts],
        }))
    else:
        console = Console(highlight=False)
        for problem in problems:
            console.print(Text(f"UNHEALTHY  {problem}", style="bold red"))
        for v in verdicts:
            label = Text("ok         " if v.healthy else "UNHEALTHY  ",
                         style="green" if v.healthy else "bold red")
            label.append(Text(f"{v.name} {v.version}"))
            if v.problems:
                label.append(Text(": " + "; ".join(v.problems)))
            console.print(label)
    return EXIT_OK if healthy else EXIT_UNHEALTHY


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"
