"""Opening the Textual console on storage or on demo traffic, with the alerting running in
the console's own event loop (it pages whether or not anyone looks at the screen)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from neural_tui.alerts.service import Alerting
from neural_tui.config import Settings
from neural_tui.runtime.feed import SnapshotListener
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.sources.tail import TailSource


def open_console(settings: Settings, *, demo: bool = False) -> int:
    """Run the console until the user quits; log lines stay in the snapshot, off the screen."""
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger("neural_tui").propagate = False
    if demo:
        from neural_tui.demo import DemoTraffic

        with tempfile.TemporaryDirectory(prefix="neural-tui-demo-") as tmp:
            storage = Path(tmp)
            traffic = DemoTraffic(storage)
            traffic.start()
            try:
                return _run(settings, storage, label="demo traffic")
            finally:
                traffic.stop()
    return _run(settings, settings.storage.path, label=str(settings.storage.path))


def _run(settings: Settings, storage: Path, *, label: str) -> int:
    from neural_tui.app.app import NeuralTuiApp

    source = TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)
    feed = AlertingFeed(Runtime(settings, [source]), Alerting(settings, storage))
    engine = feed.alerting.engine
    app = NeuralTuiApp(feed, source_label=label,
                       engine_interval_seconds=settings.analysis.interval_seconds,
                       health=settings.health, keys=settings.keys,
                       alerts=lambda: engine.view, alert_commands=engine)
    app.run()
    return 0


class AlertingFeed:
    """The runtime as the console sees it, with the alerting run beside it: `alerting.engine`
    is the `AlertsView` to read and the `AlertCommands` to send. While the console is paused
    the runtime publishes nothing, so the alerting builds its own snapshots meanwhile."""

    def __init__(self, runtime: Runtime, alerting: Alerting) -> None:
        self.runtime = runtime
        self.alerting = alerting

    @property
    def latest(self) -> Snapshot:
        return self.runtime.latest

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.alerting.run(self.runtime, self.runtime.build_snapshot),
                              name="alerting")
            await self.runtime.run()

    def subscribe(self, listener: SnapshotListener) -> None:
        self.runtime.subscribe(listener)

    def unsubscribe(self, listener: SnapshotListener) -> None:
        self.runtime.unsubscribe(listener)

    def set_paused(self, paused: bool) -> None:
        self.runtime.set_paused(paused)
