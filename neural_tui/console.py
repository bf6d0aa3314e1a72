"""Opening the Textual console on storage or on demo traffic, and on the fleet's targets and
Prometheus, with the alerting running in the console's own event loop (it pages whether or not
anyone looks at the screen).

Alert rules judge local models only, so a console that reads only remote sources (targets or
Prometheus given, and the storage directory absent) runs no alerting and creates nothing on
disk."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from neural_tui.alerts.service import Alerting
from neural_tui.config import AlertRuleSection, Settings, target_name
from neural_tui.fleet import remote_sources
from neural_tui.remote_models import RemoteSource
from neural_tui.runtime.feed import SnapshotListener
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.sources.tail import TailSource

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

DEMO_DRIFT_RULE = AlertRuleSection(
    name="drift", when="drifted",
    summary="{model} drifted: {drift_score} of features, prediction drift "
            "{prediction_drift_score}")
"""The alert `--demo` runs when the config names no rule: `neural-tui init`'s drift rule
without its 10 minutes' wait, so the demo's drift is seen to fire an alert within minutes."""


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
                console_app(demo_settings(settings), storage, label="demo traffic").run()
                return 0
            finally:
                traffic.stop()
    storage = settings.storage.path
    console_app(settings, storage, label=str(storage)).run()
    return 0


def demo_settings(settings: Settings) -> Settings:
    """`settings` for the demo: with `DEMO_DRIFT_RULE` when they name no alert rule."""
    if settings.alerts.rules:
        return settings
    return replace(settings, alerts=replace(settings.alerts, rules=(DEMO_DRIFT_RULE,)))


def console_app(settings: Settings, storage: Path, *, label: str,
                remotes: Sequence[RemoteSource] | None = None) -> NeuralTuiApp:
    """The console over `storage` and the remote sources the settings ask for (`remotes`
    replaces them); without `storage` on disk and with remote sources, over those alone."""
    from neural_tui.app.app import NeuralTuiApp
    from neural_tui.app.fleet_groups import Fleet

    remotes = tuple(remote_sources(settings) if remotes is None else remotes)
    local = storage.is_dir() or not remotes
    fleet = Fleet(local=local, targets=tuple(target_name(t) for t in settings.targets),
                  prometheus_url=settings.prometheus.url)
    if not local:
        return NeuralTuiApp(Runtime(settings, [], remote_sources=remotes),
                            engine_interval_seconds=settings.analysis.interval_seconds,
                            health=settings.health, keys=settings.keys, fleet=fleet)
    source = TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)
    feed = AlertingFeed(Runtime(settings, [source], remote_sources=remotes),
                        Alerting(settings, storage))
    engine = feed.alerting.engine
    return NeuralTuiApp(feed, source_label=label,
                        engine_interval_seconds=settings.analysis.interval_seconds,
                        health=settings.health, keys=settings.keys, fleet=fleet,
                        alerts=lambda: engine.view, alert_commands=engine)


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
