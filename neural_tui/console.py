"""Opening the Textual console on storage or on demo traffic, and on the fleet's targets and
Prometheus, with the alerting running in the console's own event loop (it pages whether or not
anyone looks at the screen).

Alert rules judge local models only, so a console that reads only remote sources (targets or
Prometheus given, and the storage directory absent) runs no alerting and creates nothing on
disk.

A replay (`open_replay`) plays the storage's records through the same runtime on a replay
clock; its alerting shows what would fire, sends nothing and writes nothing. An idle model's
panel offers one: the console exits with a `ReplayRequest`, which `open_console` answers with
a replay of the same storage in the same terminal."""

from __future__ import annotations

import asyncio
import logging
import math
import shlex
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from neural_tui.alerts.service import Alerting, ShownAlerting
from neural_tui.config import AlertRuleSection, Settings, target_name
from neural_tui.errors import UsageError
from neural_tui.fleet import remote_sources
from neural_tui.remote_models import RemoteSource
from neural_tui.runtime.defaults import ModelDefaults
from neural_tui.runtime.feed import SnapshotListener
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.replay_clock import DEFAULT_SPEED, ReplayClock
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.sources.replay import ReplaySource, StoredRecords
from neural_tui.sources.tail import TailSource
from neural_tui.storage_layout import RECORDS_FOLDER, require_storage

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
    request = console_app(settings, storage, label=str(storage), offers_replay=True).run()
    if request is None:
        return 0
    return open_replay(settings, storage, start=request.start, speed=DEFAULT_SPEED,
                       greeting=f"replaying {request.model}: "
                                f"{replay_command(storage, request.start, config=settings.source)}")


def replay_command(storage: Path, start: float, *, config: Path | None = None) -> str:
    """The command line that starts the same replay, with the console's `--config` if any."""
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    configured = ["--config", str(config)] if config is not None else []
    return shlex.join(["neural-tui", *configured, "--replay", "--storage", str(storage),
                       "--from", moment])


def open_replay(settings: Settings, storage: Path, *, start: float | None = None,
                end: float | None = None, speed: float = DEFAULT_SPEED,
                greeting: str | None = None) -> int:
    """Replay the records of `storage` from `start` (default: the first) to `end` (default:
    the last) at `speed` times the wall clock, until the user quits."""
    app = replay_app(settings, storage, start=start, end=end, speed=speed, greeting=greeting)
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger("neural_tui").propagate = False
    app.run()
    return 0


def replay_app(settings: Settings, storage: Path, *, start: float | None = None,
               end: float | None = None, speed: float = DEFAULT_SPEED,
               greeting: str | None = None) -> NeuralTuiApp:
    """The console over a replay of `storage` (`UsageError` when there is nothing to play)."""
    from neural_tui.app.app import NeuralTuiApp

    require_storage(storage)
    if start is not None and end is not None and end < start:
        raise UsageError("--to: before --from")
    records = StoredRecords(storage, start=-math.inf if start is None else start)
    first = records.next_time()
    if not math.isfinite(first) or (end is not None and first > end):
        where = storage / RECORDS_FOLDER
        raise UsageError(f"--replay: no records in {where} between --from and --to"
                         if start is not None or end is not None
                         else f"--replay: no records in {where}")
    last = records.last_time()
    stop = end if end is not None else last if math.isfinite(last) and last >= first else None
    clock = ReplayClock(first if start is None else max(start, first), speed=speed, end=stop,
                        cadence_seconds=settings.runtime.cadence_seconds)
    source = ReplaySource(records, clock, end=stop, on_finished=clock.finish,
                          label=f"replay {storage}")
    runtime = Runtime(settings, [source], clock=clock,
                      defaults=ModelDefaults.from_settings(settings, storage), ranges=True)
    feed = ReplayFeed(runtime, ShownAlerting(settings, storage), clock)
    engine = feed.alerting.engine
    return NeuralTuiApp(feed, source_label=f"replay of {storage}",
                        engine_interval_seconds=settings.analysis.interval_seconds,
                        health=settings.health, keys=settings.keys,
                        alerts=lambda: engine.view, replay=clock, greeting=greeting,
                        refresh_seconds=settings.console.refresh_seconds,
                        look=settings.console)


def demo_settings(settings: Settings) -> Settings:
    """`settings` for the demo: with `DEMO_DRIFT_RULE` when they name no alert rule."""
    if settings.alerts.rules:
        return settings
    return replace(settings, alerts=replace(settings.alerts, rules=(DEMO_DRIFT_RULE,)))


def console_app(settings: Settings, storage: Path, *, label: str,
                remotes: Sequence[RemoteSource] | None = None,
                offers_replay: bool = False) -> NeuralTuiApp:
    """The console over `storage` and the remote sources the settings ask for (`remotes`
    replaces them); without `storage` on disk and with remote sources, over those alone.
    `offers_replay`: an idle model's panel offers to replay `storage` (not a demo's, which
    is gone once the console exits)."""
    from neural_tui.app.app import NeuralTuiApp
    from neural_tui.app.fleet_groups import Fleet

    remotes = tuple(remote_sources(settings) if remotes is None else remotes)
    local = storage.is_dir() or not remotes
    fleet = Fleet(local=local, targets=tuple(target_name(t) for t in settings.targets),
                  prometheus_url=settings.prometheus.url)
    if not local:
        return NeuralTuiApp(Runtime(settings, [], remote_sources=remotes),
                            engine_interval_seconds=settings.analysis.interval_seconds,
                            health=settings.health, keys=settings.keys, fleet=fleet,
                            refresh_seconds=settings.console.refresh_seconds,
                            look=settings.console)
    source = TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)
    feed = AlertingFeed(Runtime(settings, [source], remote_sources=remotes, ranges=True),
                        Alerting(settings, storage))
    engine = feed.alerting.engine
    return NeuralTuiApp(feed, source_label=label,
                        engine_interval_seconds=settings.analysis.interval_seconds,
                        health=settings.health, keys=settings.keys, fleet=fleet,
                        alerts=lambda: engine.view, alert_commands=engine,
                        refresh_seconds=settings.console.refresh_seconds,
                        look=settings.console,
                        offers_replay=offers_replay)


class AlertingFeed:
    """The runtime as the console sees it, with the alerting run beside it: `alerting.engine`
    is the `AlertsView` to read and the `AlertCommands` to send. The alerting reads the
    snapshots built with the configured window (`Runtime.configured_window`), whatever time
    range the console shows; while the console is paused the runtime publishes nothing, so
    the alerting builds its own snapshots meanwhile (`build_snapshot`, the configured window
    too)."""

    def __init__(self, runtime: Runtime, alerting: Alerting | ShownAlerting) -> None:
        self.runtime = runtime
        self.alerting = alerting

    @property
    def latest(self) -> Snapshot:
        return self.runtime.latest

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.alerting.run(self.runtime.configured_window,
                                                self.runtime.build_snapshot),
                              name="alerting")
            await self.runtime.run()

    def subscribe(self, listener: SnapshotListener) -> None:
        self.runtime.subscribe(listener)

    def unsubscribe(self, listener: SnapshotListener) -> None:
        self.runtime.unsubscribe(listener)

    def set_paused(self, paused: bool) -> None:
        self.runtime.set_paused(paused)

    def set_time_range(self, seconds: float) -> None:
        self.runtime.set_time_range(seconds)


class ReplayFeed(AlertingFeed):
    """A replay's runtime and its shown-only alerting: pausing stops the replay clock (the
    runtime goes on publishing what the clock reached, so stepping shows each step)."""

    def __init__(self, runtime: Runtime, alerting: ShownAlerting, clock: ReplayClock) -> None:
        super().__init__(runtime, alerting)
        self.clock = clock

    def set_paused(self, paused: bool) -> None:
        self.clock.set_paused(paused)
