"""Headless mode: runtime, alerting and exporter. This module must never import Textual.

It polls the `[[targets]]` (and `--target`s) so that `/metrics` says which are up
(`neural_target_up`) and `/healthz` lists them; their models are never re-exported. A
`[prometheus]` section is left to the console and the reports: the exporter has nothing to
export from it, and a probe of this process should not fail because that server is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from neural_tui.alerts.service import Alerting
from neural_tui.config import PrometheusSection, Settings
from neural_tui.errors import UsageError
from neural_tui.fleet import remote_sources
from neural_tui.metrics_server import MetricsServer, MetricsServerBindError
from neural_tui.runtime.pipeline import Runtime
from neural_tui.sources.tail import TailSource
from neural_tui.storage_layout import misplaced_records, require_storage

log = logging.getLogger(__name__)

LAYOUT_CHECK_SECONDS = 30.0
"""How often the storage is looked at for misplaced records while none was read."""
PROGRESS_LOG_SECONDS = 5.0
"""How often the history read at start is logged while it lasts."""
PROGRESS_LOOK_SECONDS = 0.25
"""How often the latest snapshot is looked at for the end of that read."""


def serve(settings: Settings, *, demo: bool = False) -> int:
    """Serve `/metrics` and `/healthz` until SIGINT or SIGTERM; returns the exit code.

    A storage path that is missing or not a directory stops it at once (`UsageError`, exit 2).
    """
    if demo:
        with tempfile.TemporaryDirectory(prefix="neural-tui-demo-") as tmp:
            return asyncio.run(_serve(settings, demo_storage=Path(tmp)))
    require_storage(settings.storage.path)
    return asyncio.run(_serve(settings, demo_storage=None))


async def _serve(settings: Settings, demo_storage: Path | None) -> int:
    storage = demo_storage or settings.storage.path
    runtime = Runtime(settings,
                      [TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)],
                      remote_sources=remote_sources(replace(settings,
                                                            prometheus=PrometheusSection())))
    server = MetricsServer(lambda: runtime.latest,
                           host=settings.server.host, port=settings.server.port,
                           stale_after_seconds=10 * settings.runtime.cadence_seconds)
    alerting = Alerting(settings, storage)
    alerting.register_metrics(server.registry)
    try:
        server.start()
    except MetricsServerBindError as exc:
        raise UsageError(str(exc)) from None
    log.info("serving http://%s:%d/metrics for %s", server.host, server.port, storage)
    traffic = None
    if demo_storage is not None:
        from neural_tui.demo import DemoTraffic

        traffic = DemoTraffic(demo_storage)
        traffic.start()
    layout_check = asyncio.create_task(_warn_if_misplaced(runtime, storage))
    progress = asyncio.create_task(_log_history_progress(runtime), name="progress log")
    alerts = asyncio.create_task(alerting.run(runtime), name="alerting")
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel if task else lambda: None)
    try:
        await runtime.run()
    except asyncio.CancelledError:
        log.info("stopping")
    finally:
        layout_check.cancel()
        progress.cancel()
        alerts.cancel()
        await asyncio.gather(alerts, return_exceptions=True)
        if traffic is not None:
            traffic.stop()
        server.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
    return 0


async def _warn_if_misplaced(runtime: Runtime, storage: Path) -> None:
    """Log once where the records likely are, if JSONL files sit one level off the folder
    read while no record was read (see `neural_tui.storage_layout`)."""
    while runtime.latest.ingest.records_total == 0:
        misplaced = await asyncio.to_thread(misplaced_records, storage)
        if misplaced is not None:
            log.warning("%s", misplaced.describe())
            return
        await asyncio.sleep(LAYOUT_CHECK_SECONDS)


async def _log_history_progress(runtime: Runtime) -> None:
    """Log `catching up: 41 % (...)` once the storage was listed, then every
    `PROGRESS_LOG_SECONDS` while the runtime reads the history on disk at start, then `caught
    up` once, so that a long start shows its life (a short one logs only `caught up`)."""
    started = time.monotonic()
    logged_at: float | None = None
    while True:
        snapshot = runtime.latest
        if snapshot.generated_at > 0 and not snapshot.catching_up:
            log.info("caught up: %s records read in %.1f s",
                     f"{snapshot.ingest.records_total:,}", time.monotonic() - started)
            return
        now = time.monotonic()
        history = snapshot.history
        if history is not None and (logged_at is None
                                    or now - logged_at >= PROGRESS_LOG_SECONDS):
            logged_at = now
            log.info("catching up: %s", history.describe())
        await asyncio.sleep(PROGRESS_LOOK_SECONDS)
