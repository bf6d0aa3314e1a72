"""Remote views built by hand and a scripted remote source, for the console's fleet tests
(the one-shot reports' fakes, whose `fetch()` can fail or hang, are `fake_remote`).

Snapshots of remote models go through the runtime's own conversion (`remote_model_snapshots`),
so the console is tested on what the runtime really publishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import replace
from typing import Any

from factories import FIXED_TIME, snapshot

from neural_tui.remote_models import (
    FeatureDriftFigure,
    RemoteFigures,
    RemoteLatency,
    RemoteModel,
    RemoteView,
    SLOFigure,
    TargetStatus,
)
from neural_tui.runtime.remote_snapshot import remote_model_snapshots
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot, SourceHealth


def remote_model(name: str = "fraud-detector", version: str = "1.0.0",
                 **overrides: Any) -> RemoteModel:
    """A model in steady traffic as a target reports it; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "name": name,
        "version": version,
        "predictions_total": 9_000.0,
        "errors_total": {"TimeoutError": 90.0},
        "latency": RemoteLatency(bounds_seconds=(0.01, 0.05, 0.1),
                                 cumulative_counts=(4_000.0, 8_500.0, 9_000.0),
                                 count=9_000.0, sum_seconds=180.0),
        "throughput_rps": 12.5,
        "error_rate": 0.01,
        "latency_p50_ms": 11.0,
        "latency_p95_ms": 48.0,
        "latency_p99_ms": 90.0,
        "window_seconds": 300.0,
        "throughput_series": tuple(10.0 + (i % 5) for i in range(30)),
        "error_rate_series": tuple(0.01 for _ in range(30)),
        "latency_p95_series": tuple(45.0 + (i % 4) for i in range(30)),
    }
    fields.update(overrides)
    return RemoteModel(**fields)


def drift_figures() -> tuple[FeatureDriftFigure, ...]:
    """Five exported features: two drifted (PSI 0.45 of 0.2; KS at p 0.001 under an alpha of
    0.05), one the exporter did not judge, two stable; in an order that is not the worst-first
    one."""
    return (
        FeatureDriftFigure("age", "ks", 0.04, drifted=False, threshold=0.05, p_value=0.5),
        FeatureDriftFigure("income", "psi", 0.45, drifted=True, threshold=0.2),
        FeatureDriftFigure("region", "chi_square", 9.2, drifted=None, threshold=None),
        FeatureDriftFigure("tenure_days", "ks", 0.3, drifted=True, threshold=0.05,
                           p_value=0.001),
        FeatureDriftFigure("clicks", "wasserstein", 0.09, drifted=False, threshold=0.1),
    )


def rich_figures(**overrides: Any) -> RemoteFigures:
    """Everything an exporter of ours publishes of a model beyond its traffic."""
    fields: dict[str, Any] = {
        "feature_drift": drift_figures(),
        "quality_score": 0.95,
        "missing_rate": 0.012,
        "outlier_rate": 0.003,
        "accuracy": 0.91,
        "precision": 0.88,
        "recall": 0.8,
        "f1": 0.84,
        "slos": (
            SLOFigure("availability", compliance=0.9995, budget_remaining=0.5,
                      burn_rates={"1h": 1.2, "5m": 0.4, "6h": 0.9}),
            SLOFigure("latency-250ms", compliance=0.97, budget_remaining=-0.25,
                      burn_rates={"5m": 14.0, "1h": 12.5}),
        ),
        "alerts_firing": {("HighErrorRate", "critical"): 1, ("DriftDetected", "warning"): 1},
    }
    fields.update(overrides)
    return RemoteFigures(**fields)


def target_status(name: str, *, up: bool = True, detail: str = "",
                  last_success_at: float | None = FIXED_TIME - 0.2) -> TargetStatus:
    return TargetStatus(name=name, url=f"http://{name}:9108/metrics", up=up, detail=detail,
                        last_success_at=last_success_at, last_poll_seconds=0.05)


def target_view(name: str, *models: RemoteModel, up: bool = True, detail: str = "",
                last_success_at: float | None = FIXED_TIME - 0.2) -> RemoteView:
    """One target's round, labelled as the target source labels it; its models' instance is
    the target's name."""
    named = tuple(replace(model, instance=name) for model in models)
    status = target_status(name, up=up, detail=detail, last_success_at=last_success_at)
    return RemoteView(label=f"target {name}", at=FIXED_TIME, models=named, targets=(status,))


def exporter_status(name: str, *, up: bool = True) -> TargetStatus:
    """An exporter as the Prometheus source reports it: by Prometheus' `up`."""
    return TargetStatus(name=name, url=name.split("/")[-1], up=up,
                        detail="" if up else "Prometheus cannot scrape it (up == 0)",
                        scraped_by="prometheus")


def prometheus_view(*models: RemoteModel, problem: str | None = None,
                    exporters: Sequence[TargetStatus] = ()) -> RemoteView:
    return RemoteView(label="prometheus", at=FIXED_TIME, models=models,
                      targets=tuple(exporters), problem=problem)


def fleet_snapshot(local: Iterable[ModelSnapshot], views: Sequence[RemoteView],
                   source_health: tuple[SourceHealth, ...] = ()) -> Snapshot:
    """A snapshot at `FIXED_TIME` as the runtime builds it: local models by name, then each
    view's models by label, and every view's targets."""
    base = snapshot(*local)
    remote: list[ModelSnapshot] = []
    for view in sorted(views, key=lambda view: view.label):
        remote.extend(remote_model_snapshots(view))
    return Snapshot(
        generated_at=base.generated_at,
        models=base.models + tuple(remote),
        ingest=base.ingest,
        sources=(*base.sources, *sorted({"targets" if view.label.startswith("target ")
                                         else view.label for view in views})),
        source_health=source_health,
        targets=tuple(status for view in sorted(views, key=lambda view: view.label)
                      for status in view.targets),
    )


class FakeRemoteSource:
    """A `RemoteSource` whose `views()` yields `script` in order, then waits to be cancelled;
    `fetch()` answers the whole script as one round."""

    def __init__(self, label: str, script: Iterable[RemoteView]) -> None:
        self._label = label
        self._script = tuple(script)

    @property
    def label(self) -> str:
        return self._label

    async def views(self) -> AsyncIterator[RemoteView]:
        for view in self._script:
            yield view
        await asyncio.Event().wait()

    async def fetch(self) -> tuple[RemoteView, ...]:
        return self._script
