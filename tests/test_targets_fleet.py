"""The target source end to end: two real headless exporters fed different traffic, a target
that never answers and one that answers too slowly, and a runtime that shows them all."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from headless_storage import log_records
from target_servers import Reply, ReplyServer, headless_exporter, silent_server

from neural_tui.config import RuntimeSection, Settings, StorageSection
from neural_tui.remote_models import Endpoint, RemoteView
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.sources.targets import TargetSource

INTERVAL = 1.0
TIMEOUT = 0.5

STORAGE_TOTALS = {
    "a": {("fraud", "1.0"): 124, ("churn", "1.0"): 30},
    "b": {("fraud", "1.0"): 51, ("credit", "1.0"): 70},
}
"""What each exporter's storage holds: records plus errors (an error is a prediction too)."""


@pytest.fixture(scope="module")
def exporters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("fleet")
    log_records(root / "a", "fraud", 120, errors=4)
    log_records(root / "a", "churn", 30)
    log_records(root / "b", "fraud", 50, errors=1)
    log_records(root / "b", "credit", 70)
    with headless_exporter(root / "a", root) as a, headless_exporter(root / "b", root) as b:
        yield {"a": f"{a}/metrics", "b": f"{b}/metrics"}


def endpoint(name: str, url: str) -> Endpoint:
    return Endpoint(name, url, interval_seconds=INTERVAL, timeout_seconds=TIMEOUT)


def totals(view: RemoteView) -> dict[tuple[str, str], float]:
    return {(m.name, m.version): m.predictions_total for m in view.models}


async def test_each_targets_totals_equal_its_storage_totals(exporters):
    source = TargetSource([endpoint(name, url) for name, url in exporters.items()])
    deadline = time.monotonic() + 30
    while True:   # the exporters read their storage once started: wait until they have
        views = await source.fetch()
        if [totals(v) for v in views] == list(STORAGE_TOTALS.values()):
            break
        assert time.monotonic() < deadline, [totals(v) for v in views]
        await asyncio.sleep(0.2)
    assert [v.label for v in views] == ["target a", "target b"]
    fraud_a = next(m for m in views[0].models if m.name == "fraud")
    assert dict(fraud_a.errors_total) == {"timeout": 4}
    assert fraud_a.latency is not None and fraud_a.latency.count == 120
    assert fraud_a.instance == "a"


async def test_a_silent_and_a_slow_target_never_delay_the_healthy_ones(exporters):
    def too_slow(request: object) -> Reply:
        return Reply(b"neural_predictions_total 1\n", delay=3 * TIMEOUT)

    with silent_server() as silent, ReplyServer(too_slow) as slow:
        source = TargetSource([endpoint("a", exporters["a"]), endpoint("silent", silent),
                               endpoint("slow", slow.url), endpoint("b", exporters["b"])])
        seen: Counter[str] = Counter()
        details: dict[str, set[str]] = {}
        intervals = 5

        async def follow() -> None:
            async for view in source.views():
                seen[view.label] += 1
                status = view.targets[0]
                details.setdefault(view.label, set()).add(
                    "up" if status.up else status.detail)

        with pytest.raises(TimeoutError):
            async with asyncio.timeout(intervals * INTERVAL):
                await follow()
    # Polls start at 0 s (spread over the first second) and then every second: five each
    # in five seconds, one missed at most at the edge.
    assert seen["target a"] >= intervals - 1
    assert seen["target b"] >= intervals - 1
    assert details["target a"] == details["target b"] == {"up"}
    assert details["target silent"] == details["target slow"] == {"timed out after 0.5 s"}
    assert seen["target silent"] >= intervals - 1
    assert seen["target slow"] >= intervals - 1


async def test_a_runtime_shows_the_remote_models_and_the_targets(exporters, tmp_path: Path):
    with silent_server() as silent:
        source = TargetSource([endpoint("a", exporters["a"]), endpoint("b", exporters["b"]),
                               endpoint("silent", silent)])
        runtime = Runtime(Settings(storage=StorageSection(tmp_path),
                                   runtime=RuntimeSection(cadence_seconds=0.05)),
                          [], remote_sources=[source])
        task = asyncio.create_task(runtime.run())
        try:
            async with asyncio.timeout(20):
                while not _complete(runtime.latest):
                    await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    snapshot = runtime.latest
    for name, expected in STORAGE_TOTALS.items():
        for (model, _version), total in expected.items():
            shown = snapshot.model(f"{model} @ target {name}")
            assert shown is not None
            assert (shown.source, shown.predictions_total) == (f"target {name}", total)
    assert snapshot.local_models == ()
    assert {t.name: t.up for t in snapshot.targets} == {"a": True, "b": True, "silent": False}
    assert runtime.source_health()[0].status == "ok"   # a target down is not the source


def _complete(snapshot: Snapshot) -> bool:
    return (len(snapshot.targets) == 3
            and {m.uid for m in snapshot.models} == {
                f"{model} @ target {name}"
                for name, expected in STORAGE_TOTALS.items() for model, _ in expected}
            and all(m.predictions_total == STORAGE_TOTALS[m.source.split()[-1]][(m.name,
                                                                                  m.version)]
                    for m in snapshot.models))
