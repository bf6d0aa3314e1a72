"""`Alerting`: the engine and delivery put together, as headless mode and the console run them.

One place that wires the engine to a snapshot feed and to `Delivery` (whose outcomes come
back to the engine), registers both metric collectors, and starts and stops them in order:
the saved state and the outbox are read before the first snapshot is evaluated, and the last
state is written after the feed stopped.

Only one `Alerting` per storage sends notifications: it holds `<storage>/alerts/sender.lock`
(`flock`, released by the kernel when the process ends). A second one (a console beside the
headless exporter on the same storage) evaluates and shows alerts but pages nobody, and says so
once in the log, so an incident is paged once and one outbox is read by one process.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO

from prometheus_client import CollectorRegistry

from neural_tui.alerts.delivery import Delivery
from neural_tui.alerts.delivery_metrics import register_delivery_metrics
from neural_tui.alerts.engine import AlertEngine
from neural_tui.alerts.metrics import AlertsCollector
from neural_tui.alerts.store import alerts_folder
from neural_tui.config import Settings
from neural_tui.runtime.feed import Snapshots
from neural_tui.runtime.snapshot import Snapshot

log = logging.getLogger(__name__)

SENDER_LOCK = "sender.lock"


class Alerting:
    """The engine and its delivery for one storage; `run` them beside the feed."""

    def __init__(self, settings: Settings, storage: Path) -> None:
        self.engine = AlertEngine(settings, storage)
        self.delivery = Delivery.from_settings(settings.alerts.channels, storage,
                                               listener=self.engine.record_delivery)
        self.engine.delivery = self.delivery
        self._every_seconds = settings.runtime.cadence_seconds
        self._lock_path = alerts_folder(storage) / SENDER_LOCK

    def register_metrics(self, registry: CollectorRegistry) -> None:
        """`neural_alerts_firing` and `neural_alert_notifications_total` on `registry`."""
        registry.register(AlertsCollector(lambda: self.engine.view))
        register_delivery_metrics(registry, self.delivery.counts)

    async def run(self, feed: Snapshots,
                  fallback: Callable[[], Snapshot] | None = None) -> None:
        """Evaluate every snapshot `feed` publishes until cancelled; `fallback` builds one
        when the feed goes quiet (a paused console). A failure is logged and ends the
        alerting only, never the exporter or the console."""
        try:
            await self._run(feed, fallback)
        except Exception:
            log.exception("alerting stopped after an error; metrics and the console go on")

    async def _run(self, feed: Snapshots, fallback: Callable[[], Snapshot] | None) -> None:
        lock: IO[bytes] | None = None
        try:
            lock = await asyncio.to_thread(_take_lock, self._lock_path)
        except BlockingIOError:
            log.warning("alerts: another neural-tui process sends the notifications of this "
                        "storage (it holds %s); this one evaluates alerts, sends none and "
                        "leaves the saved state to it",
                        self._lock_path)
            self.engine.delivery = None
            self.engine.writes_state = False
            await self._evaluate(feed, fallback)
            return
        except OSError as exc:
            log.warning("alerts: cannot lock %s (%s); sending without the lock",
                        self._lock_path, exc.strerror or exc)
        try:
            await self.delivery.start()
            try:
                await self._evaluate(feed, fallback)
            finally:
                await self.delivery.close()
        finally:
            if lock is not None:
                lock.close()

    async def _evaluate(self, feed: Snapshots,
                        fallback: Callable[[], Snapshot] | None) -> None:
        await self.engine.start()
        feed.subscribe(self.engine.hand_over)
        try:
            await self.engine.run(fallback, self._every_seconds)
        finally:
            feed.unsubscribe(self.engine.hand_over)
            await asyncio.to_thread(self.engine.close)


def _take_lock(path: Path) -> IO[bytes]:
    """The open, exclusively locked `path`; BlockingIOError when another holder has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise
    return handle


class ShownAlerting:
    """The engine alone, for a replay: the rules are evaluated and the alerts shown, but
    nothing is sent (no delivery, no outbox) and nothing is read from or written to
    `<storage>/alerts/` (no saved state, no silences), so replaying a past incident neither
    pages anyone again nor touches the live alerting's files."""

    def __init__(self, settings: Settings, storage: Path) -> None:
        self.engine = AlertEngine(settings, storage)
        self.engine.writes_state = False

    async def run(self, feed: Snapshots,
                  fallback: Callable[[], Snapshot] | None = None) -> None:
        """Evaluate every snapshot `feed` publishes until cancelled (`fallback` is not
        needed: a replay's runtime keeps publishing while the replay clock stands)."""
        feed.subscribe(self.engine.hand_over)
        try:
            await asyncio.Event().wait()
        finally:
            feed.unsubscribe(self.engine.hand_over)
