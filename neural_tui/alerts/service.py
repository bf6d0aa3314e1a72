"""`Alerting`: the engine and delivery put together, as headless mode and the console run them.

One place that wires the engine to a snapshot feed and to `Delivery` (whose outcomes come
back to the engine), registers both metric collectors, and starts and stops them in order:
the saved state and the outbox are read before the first snapshot is evaluated, and the last
state is written after the feed stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry

from neural_tui.alerts.delivery import Delivery
from neural_tui.alerts.delivery_metrics import register_delivery_metrics
from neural_tui.alerts.engine import AlertEngine
from neural_tui.alerts.metrics import AlertsCollector
from neural_tui.config import Settings
from neural_tui.runtime.feed import SnapshotFeed
from neural_tui.runtime.snapshot import Snapshot

log = logging.getLogger(__name__)


class Alerting:
    """The engine and its delivery for one storage; `run` them beside the feed."""

    def __init__(self, settings: Settings, storage: Path) -> None:
        self.engine = AlertEngine(settings, storage)
        self.delivery = Delivery.from_settings(settings.alerts.channels, storage,
                                               listener=self.engine.record_delivery)
        self.engine.delivery = self.delivery
        self._every_seconds = settings.runtime.cadence_seconds

    def register_metrics(self, registry: CollectorRegistry) -> None:
        """`neural_alerts_firing` and `neural_alert_notifications_total` on `registry`."""
        registry.register(AlertsCollector(lambda: self.engine.view))
        register_delivery_metrics(registry, self.delivery.counts)

    async def run(self, feed: SnapshotFeed,
                  fallback: Callable[[], Snapshot] | None = None) -> None:
        """Evaluate every snapshot `feed` publishes until cancelled; `fallback` builds one
        when the feed goes quiet (a paused console). A failure is logged and ends the
        alerting only, never the exporter or the console."""
        try:
            await self._run(feed, fallback)
        except Exception:
            log.exception("alerting stopped after an error; metrics and the console go on")

    async def _run(self, feed: SnapshotFeed, fallback: Callable[[], Snapshot] | None) -> None:
        await self.delivery.start()
        try:
            await self.engine.start()
            feed.subscribe(self.engine.on_snapshot)
            try:
                await self.engine.run(fallback, self._every_seconds)
            finally:
                feed.unsubscribe(self.engine.on_snapshot)
                await asyncio.to_thread(self.engine.close)
        finally:
            await self.delivery.close()
