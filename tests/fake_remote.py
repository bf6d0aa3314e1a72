"""Fake remote sources for the one-shot reports: each `fetch()` answers what the test says (or
raises, or never answers), so `status` and `health` can be held to each remote case."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from neural_tui import reports
from neural_tui.config import Settings
from neural_tui.remote_models import (
    RemoteFigures,
    RemoteModel,
    RemoteSource,
    RemoteView,
    TargetStatus,
)


class FakeSource:
    """A remote source whose one round is `views`; or that raises `error`; or, with `hang`,
    whose round never ends."""

    def __init__(self, label: str, views: Sequence[RemoteView] = (), *,
                 error: Exception | None = None, hang: bool = False) -> None:
        self._label = label
        self._views = tuple(views)
        self._error = error
        self._hang = hang
        self.fetches = 0

    @property
    def label(self) -> str:
        return self._label

    async def views(self) -> AsyncIterator[RemoteView]:
        for view in self._views:
            yield view

    async def fetch(self) -> tuple[RemoteView, ...]:
        self.fetches += 1
        if self._hang:
            await asyncio.Event().wait()
        if self._error is not None:
            raise self._error
        return self._views


def use_sources(monkeypatch: pytest.MonkeyPatch, *sources: FakeSource) -> list[Settings]:
    """Make the reports build `sources` whatever the settings; returns the settings they were
    built from, for the test to look at."""
    seen: list[Settings] = []

    def build(settings: Settings) -> tuple[RemoteSource, ...]:
        seen.append(settings)
        return sources

    monkeypatch.setattr(reports, "make_remote_sources", build)
    return seen


def remote_model(name: str = "fraud", version: str = "2.0", *, predictions: float = 120.0,
                 errors: float = 6.0, rps: float | None = 2.0, error_rate: float | None = 0.05,
                 p95: float | None = 40.0, figures: RemoteFigures | None = None,
                 instance: str = "") -> RemoteModel:
    return RemoteModel(
        name=name, version=version, predictions_total=predictions,
        errors_total={"timeout": errors} if errors else {}, latency=None,
        throughput_rps=rps, error_rate=error_rate, latency_p50_ms=None if p95 is None else 10.0,
        latency_p95_ms=p95, latency_p99_ms=None if p95 is None else 80.0, window_seconds=300.0,
        figures=figures or RemoteFigures(), instance=instance,
    )


def target_view(name: str, *models: RemoteModel, up: bool = True, detail: str = "",
                at: float = 1_000.0) -> RemoteView:
    """One target's round, as the target source labels it."""
    status = TargetStatus(name=name, url=f"http://{name}/metrics", up=up, detail=detail,
                          last_success_at=at if up else None, last_poll_seconds=0.02)
    return RemoteView(label=f"target {name}", at=at, models=models if up else (),
                      targets=(status,))


def prometheus_view(*models: RemoteModel, problem: str | None = None) -> RemoteView:
    return RemoteView(label="prometheus", at=1_000.0, models=models, problem=problem)


