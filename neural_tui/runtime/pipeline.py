"""The asyncio pipeline: one task per source, per-model state, the engines on their schedule,
snapshots on a fixed cadence.

Each snapshot says how every source is doing (`Snapshot.source_health`, read by `/healthz`):

- `failing` while its task keeps failing: the last failure is less than
  `FAILING_FOR_SECONDS` old and the source delivered no batch (nor, if it reports
  `progress_at`, completed a pass) since; `detail` is the last error, on one line;
- `stuck` when a source that reports `progress_at` (the monotonic time of its last completed
  poll pass or batch) has not moved for `stuck_after_seconds`: `max(STUCK_MIN_SECONDS,
  STUCK_POLLS x [runtime] poll_interval_seconds)`;
- `failing` too while a source reports a `problem` (what keeps it from seeing its records,
  such as a predictions folder that cannot be listed), with that as `detail`;
- `ok` otherwise. Lines or files a source cannot read (`read_error`) are counted in the ingest
  errors, not judged here: the source still sees the rest.

Every model's SLOs (`ModelSnapshot.slos`) are judged at one clock: the runtime's record clock
(`record_clock`: the newest record time any model's traffic agrees with, never past the
clock), run on by the time since records last arrived once the sources have caught up
(`_slo_clock`). The
publisher evaluates them in a worker thread, which copies the minute counts itself, just
before each snapshot, within `SLO_SHARE` of the cadence on average (many 30-day models are
refreshed in turn); a one-shot `build_snapshot` evaluates them in place, at record time.

The console may ask for another time range than `[runtime] window_seconds`
(`set_time_range`): the published snapshots' rates, error rates, percentiles and series then
cover that range (series of at most `SERIES_POINTS` points, read from the per-minute history
past the per-second ring). What the alert rules read never changes with it: `configured_window`
publishes, alongside, snapshots built with the configured window, and `build_snapshot` always
builds one. The engines' live analysis keeps judging each model's `[drift] window` newest
records whatever the range (`Snapshot.engine_window_records` says how many): that is what the
alert rules read. A runtime built with `ranges` (the console's) also runs them over a sample of
the chosen range (`runtime.range_analysis`), for the shown snapshots only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import partial

import numpy as np

from neural_tui.config import Settings
from neural_tui.decode import KEPT_LINE_REASONS
from neural_tui.engines.slo import MINUTE, SLOStatus
from neural_tui.records import IngestBatch, RecordBatch
from neural_tui.remote_models import RemoteSource, RemoteView
from neural_tui.runtime.analysis import Analysis, ModelKey, range_rows, state_limits
from neural_tui.runtime.defaults import ModelDefaults
from neural_tui.runtime.engine_settings import slo_specs
from neural_tui.runtime.feed import TIME_RANGES_SECONDS, SnapshotListener
from neural_tui.runtime.range_analysis import RangeAnalysis, RangeResult
from neural_tui.runtime.remote_snapshot import remote_model_snapshots
from neural_tui.runtime.slo_counts import SLOCounts, evaluate_models, record_clock
from neural_tui.runtime.snapshot import (
    SERIES_POINTS,
    EngineRange,
    HistoryProgress,
    IngestStats,
    ModelSnapshot,
    Snapshot,
    SourceHealth,
    latency_bounds_seconds,
)
from neural_tui.runtime.state import ModelState, RecentActivity, StateLimits
from neural_tui.runtime.verdict import ModelAnalysis
from neural_tui.sources.source import Source

log = logging.getLogger(__name__)

MESSAGES_KEPT = 20
RESTART_FIRST_PAUSE_SECONDS = 1.0
RESTART_LAST_PAUSE_SECONDS = 30.0
REFUSED_MODELS_NAMED = 20
"""Refused (model, version) pairs named in a warning each; the rest are only counted."""
TOO_MANY_MODELS = "too_many_models"
"""Ingest error reason for the rows of (model, version) pairs past `[runtime] max_models`."""
FAILING_FOR_SECONDS = 2 * RESTART_LAST_PAUSE_SECONDS
STUCK_MIN_SECONDS = 30.0
STUCK_POLLS = 40
SLO_SHARE = 0.1
"""Share of the snapshot cadence the SLO refreshes may spend evaluating, on average."""


class Runtime:
    """Feeds batches into bounded per-model state and publishes immutable snapshots.

    Ingest is vectorised and cheap, so it runs in the event loop; anything heavy (the engines)
    runs in a worker thread. Readers only ever see published snapshots.
    """

    def __init__(
        self,
        settings: Settings,
        sources: Sequence[Source],
        *,
        remote_sources: Sequence[RemoteSource] = (),
        defaults: ModelDefaults | None = None,
        limits: StateLimits | None = None,
        clock: Callable[[], float] = time.time,
        ranges: bool = False,
    ) -> None:
        """`ranges`: keep a sample of each time range's predictions, so that the engines can
        judge the range a console shows (`set_time_range`); costs memory and a second run per
        model while a range is shown, so only a console asks for it."""
        self.settings = settings
        self.sources = tuple(sources)
        self.remote_sources = tuple(remote_sources)
        self._remote_views: dict[str, RemoteView] = {}
        """Each remote source's latest round, by label."""
        self.defaults = defaults or ModelDefaults.from_settings(settings)
        if limits is not None and ranges and not limits.range_rows:
            limits = replace(limits, range_rows=range_rows(settings))
        self.limits = limits or replace(
            state_limits(settings, ranges=ranges),
            latency_bounds_seconds=latency_bounds_seconds(
                (slo.threshold_ms for slo in settings.slo
                 if slo.type == "latency" and slo.threshold_ms is not None),
                settings.exporter.latency_buckets_ms),
        )
        self.clock = clock
        self._records_arrived_at: float | None = None
        """The runtime's clock when records last arrived: the SLO clock runs on from there."""
        self.analysis = Analysis(settings)
        self.range_analysis = RangeAnalysis(self.analysis, clock) if ranges else None
        """The engines over the console's time range; None: this runtime shows none."""
        self.states: dict[tuple[str, str], ModelState] = {}
        self.records_total = 0
        self.skipped: Counter[str] = Counter()
        self.messages: deque[str] = deque(maxlen=MESSAGES_KEPT)
        self._shown = Publication()
        """The snapshots over the chosen range: what the console reads."""
        self._time_range: float | None = None
        """The range the console chose; None: `[runtime] window_seconds`."""
        self.configured_window = Publication()
        """The snapshots built with the configured window, published with each of `latest`:
        what the alert rules read, whatever range the console shows."""
        self._paused = False
        self._refused_models: set[tuple[str, str]] = set()
        self._failures: dict[str, tuple[float, str]] = {}
        """By source label: when its task last failed (monotonic) and the error, one line."""
        self._started_at = time.monotonic()
        self.stuck_after_seconds = max(STUCK_MIN_SECONDS,
                                       STUCK_POLLS * settings.runtime.poll_interval_seconds)
        self._backlogged: set[Source] = set()
        self._caught_up_at: float | None = None
        """The analysis clock when the sources last caught up; None while they read a backlog."""
        self._read_at: float | None = None
        """`time.monotonic()` when the sources had read the history on disk at start."""
        self._live = False
        """Whether a snapshot was live once (`catching_up` is then false for good)."""
        self._recent_skips: deque[list[int]] = deque()
        """Per second of the clock since the start-up read: [second, lines skipped]."""
        self._slo_statuses: dict[ModelKey, tuple[SLOStatus, ...]] = {}
        """The publisher's latest SLO evaluation of each model with SLOs."""
        self._slo_judged: dict[ModelKey, tuple[int, float]] = {}
        """The counts' `changes` and the record time behind each model's latest statuses."""
        self._slo_cost: dict[ModelKey, tuple[float, int]] = {}
        """Each model's latest evaluation: the seconds it took and the refresh it ran in."""
        self._slo_refreshes = 0
        self._slo_credit = 0.0
        """Seconds of evaluation the refreshes may still spend: each adds `SLO_SHARE` of the
        cadence (up to that much), each evaluation takes what it cost."""
        self._slo_failing = False
        """Whether the last SLO evaluation failed (said once, until one succeeds)."""

    @property
    def latest(self) -> Snapshot:
        return self._shown.latest

    def subscribe(self, listener: SnapshotListener) -> None:
        self._shown.subscribe(listener)

    def unsubscribe(self, listener: SnapshotListener) -> None:
        self._shown.unsubscribe(listener)

    def set_paused(self, paused: bool) -> None:
        """Freeze what readers see; ingest goes on, so nothing is missed on resume."""
        self._paused = paused
        if paused:
            self._publish(_with_paused(self._shown.latest, True),
                          _with_paused(self.configured_window.latest, True))
        else:
            self._publish_now()

    def set_time_range(self, seconds: float) -> None:
        """Cover `seconds` (one of `TIME_RANGES_SECONDS`) in the published snapshots' figures
        and series from now on; while paused, from the resume."""
        if seconds not in TIME_RANGES_SECONDS:
            raise ValueError(f"time range must be one of {TIME_RANGES_SECONDS} seconds, "
                             f"got {seconds!r}")
        self._time_range = float(seconds)
        if self.range_analysis is not None:
            self.range_analysis.choose(self._time_range)
        if not self._paused:
            self._publish_now()

    async def run(self) -> None:
        """Run every source, the analysis and the publisher until cancelled.

        A source or the analysis that fails is logged and restarted after a pause, so that one
        bad moment (a bug, an odd file) never stops the exporter or the console.
        """
        async with asyncio.TaskGroup() as group:
            for source in self.sources:
                group.create_task(self._supervised(f"source {source.label}",
                                                   partial(self._consume, source),
                                                   source.label))
            for remote in self.remote_sources:
                group.create_task(self._supervised(f"source {remote.label}",
                                                   partial(self._follow, remote),
                                                   remote.label))
            group.create_task(self._supervised("publisher", self._publish_forever),
                              name="publisher")
            group.create_task(self._supervised("analysis",
                                               partial(self.analysis.run, self.states)))
            if self.range_analysis is not None:
                group.create_task(self._supervised(
                    "range analysis", partial(self.range_analysis.run, self.states)))

    async def _supervised(
        self, what: str, start: Callable[[], Awaitable[None]], source: str | None = None
    ) -> None:
        pause = RESTART_FIRST_PAUSE_SECONDS
        while True:
            started = time.monotonic()
            try:
                await start()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if time.monotonic() - started > RESTART_LAST_PAUSE_SECONDS:
                    pause = RESTART_FIRST_PAUSE_SECONDS
                message = f"{what} failed, restarting in {pause:g} s: {exc!r}"
                log.error("%s", message, exc_info=exc)
                self.messages.append(message)
                if source is not None:
                    self._failures[source] = (time.monotonic(), " ".join(repr(exc).split()))
            await asyncio.sleep(pause)
            pause = min(pause * 2, RESTART_LAST_PAUSE_SECONDS)

    async def _consume(self, source: Source) -> None:
        try:
            async for batch in source.batches():
                if self._failures:
                    self._failures.pop(source.label, None)
                self.ingest(batch)
                self._note_backlog(source, batch.backlog)
        finally:
            self._backlogged.discard(source)
            self.analysis.catching_up = bool(self._backlogged)

    async def _follow(self, source: RemoteSource) -> None:
        """Keep each round of a remote source for the next snapshot."""
        async for view in source.views():
            self._failures.pop(source.label, None)
            self.note_remote(view)

    def note_remote(self, view: RemoteView) -> None:
        """Show `view` in the next snapshot, in place of the previous view of its label."""
        self._remote_views[view.label] = view

    def _note_backlog(self, source: Source, backlog: bool) -> None:
        """The engines follow their interval only while a source reads a backlog; once every
        source caught up, a snapshot goes out at once with the totals of all that was read."""
        if backlog:
            self._backlogged.add(source)
        elif source in self._backlogged:
            self._backlogged.discard(source)
            if not self._backlogged and not self._paused:
                self._publish_now()
        self.analysis.catching_up = bool(self._backlogged)

    def source_health(self) -> tuple[SourceHealth, ...]:
        """How each source is doing now (see the module docstring)."""
        now = time.monotonic()
        return (tuple(self._health_of(source, now) for source in self.sources)
                + tuple(self._remote_health(remote.label, now)
                        for remote in self.remote_sources))

    def _remote_health(self, label: str, now: float) -> SourceHealth:
        """A remote source is failing while its task keeps raising or its latest round says
        it could not read; a target that is down is the target's state, not the source's."""
        failure = self._failures.get(label)
        if failure is not None and now - failure[0] < FAILING_FOR_SECONDS:
            return SourceHealth(label, "failing", failure[1][:300])
        view = self._remote_views.get(label)
        if view is not None and view.problem:
            return SourceHealth(label, "failing", view.problem[:300])
        return SourceHealth(label, "ok", "")

    def _health_of(self, source: Source, now: float) -> SourceHealth:
        progress = self._progress_at(source)
        failure = self._failures.get(source.label)
        if failure is not None and now - failure[0] < FAILING_FOR_SECONDS and (
            progress is None or progress <= failure[0]
        ):
            return SourceHealth(source.label, "failing", failure[1][:300])
        problem = getattr(source, "problem", None)
        if problem:
            return SourceHealth(source.label, "failing", str(problem)[:300])
        if progress is not None and now - progress > self.stuck_after_seconds:
            return SourceHealth(source.label, "stuck",
                                f"no completed read pass for {now - progress:.0f} s (limit "
                                f"{self.stuck_after_seconds:g} s)")
        return SourceHealth(source.label, "ok", "")

    def _progress_at(self, source: Source) -> float | None:
        """The source's `progress_at` (the runtime's start before its first pass), or None for
        a source that does not report one."""
        if not hasattr(source, "progress_at"):
            return None
        progress = source.progress_at
        return self._started_at if progress is None else float(progress)

    async def _publish_forever(self) -> None:
        cadence = self.settings.runtime.cadence_seconds
        while True:
            if not self._paused:
                await self._refresh_slos()
                self._publish_now()
            await asyncio.sleep(cadence)

    def ingest(self, batch: IngestBatch) -> None:
        """Fold one source batch into the per-model state."""
        self.records_total += len(batch.records)
        if len(batch.records):
            self._records_arrived_at = self.clock()
        self.skipped.update(batch.skipped)
        self._note_skips(batch.skipped)
        for message in batch.messages:
            log.warning("%s", message)
            self.messages.append(message)
        for (name, version), rows in self._by_model(batch.records):
            state = self.states.get((name, version)) or self._track(name, version, len(rows))
            if state is not None:
                state.ingest(rows)
                if state.notices:
                    self._note(state.notices)

    def _note_skips(self, skipped: Mapping[str, int]) -> None:
        """Count lines skipped live (not the history read at start) by second, for
        `IngestStats.skipped_recently`."""
        lines = sum(n for reason, n in skipped.items() if reason not in KEPT_LINE_REASONS)
        if not lines or not self._live:
            return
        second = int(self.clock())
        if self._recent_skips and self._recent_skips[-1][0] == second:
            self._recent_skips[-1][1] += lines
        else:
            self._recent_skips.append([second, lines])

    def _skipped_recently(self, now: float, window: float) -> int:
        while self._recent_skips and self._recent_skips[0][0] <= now - window:
            self._recent_skips.popleft()
        return sum(lines for _, lines in self._recent_skips)

    def _note(self, notices: list[str]) -> None:
        for message in notices:
            log.warning("%s", message)
            self.messages.append(message)
        notices.clear()

    def _track(self, name: str, version: str, rows: int) -> ModelState | None:
        """State for a new (model, version), or None past `max_models`: its rows are skipped."""
        limit = self.settings.runtime.max_models
        if len(self.states) < limit:
            state = self.states[(name, version)] = ModelState(
                name, version, self.limits, slo_specs(self.settings.slo, name))
            return state
        self.records_total -= rows
        self.skipped[TOO_MANY_MODELS] += rows
        refused = self._refused_models
        if (name, version) not in refused and len(refused) < REFUSED_MODELS_NAMED:
            refused.add((name, version))
            message = (f"model {name!r} version {version!r}: not tracked, {limit} models "
                       "already are (raise [runtime] max_models)")
            log.warning("%s", message)
            self.messages.append(message)
        return None

    def _by_model(self, records: RecordBatch) -> list[tuple[tuple[str, str], RecordBatch]]:
        if len(records) == 0:
            return []
        said, versions_said = records.model.tolist(), records.version.tolist()
        if said.count(said[0]) == len(said) and versions_said.count(versions_said[0]) == len(said):
            return [(self.defaults.key(said[0], versions_said[0]), records)]
        names = self.defaults.names(records.model)
        versions = self.defaults.versions(names, records.version)
        if (names == names[0]).all() and (versions == versions[0]).all():
            return [((names[0], versions[0]), records)]
        name_values, name_codes = np.unique(names.astype(str), return_inverse=True)
        version_values, version_codes = np.unique(versions.astype(str), return_inverse=True)
        codes = name_codes * len(version_values) + version_codes
        groups = []
        for code in np.unique(codes).tolist():
            name, version = divmod(code, len(version_values))
            key = (str(name_values[name]), str(version_values[version]))
            groups.append((key, records.take(codes == code)))
        return groups

    def build_snapshot(self) -> Snapshot:
        """A snapshot of the state now, regardless of pause, its SLOs evaluated now (for the
        one-shot subcommands)."""
        now = self._record_clock()
        work = {key: (state.slo_counts, now)
                for key, state in self.states.items() if state.slo_counts is not None}
        return self._build({key: statuses
                            for key, (statuses, _) in evaluate_models(work).items()})

    def _record_clock(self) -> float:
        return record_clock((state.robust_now() for state in self.states.values()),
                            self.clock())

    def _slo_clock(self) -> float:
        """Record time, run on by the time that passed since records last arrived (never past
        the runtime's clock), once the sources have read the history on disk.

        Records arriving keep it at record time, so history and a replay of old records give
        the figures they gave live; minutes in which nothing arrives at all still pass, and
        count as the outage they are (a throughput SLO fails when every model stops, as
        Prometheus, judging the exported counters in real time, would say).
        """
        record = self._record_clock()
        if (not self._sources_caught_up() or not math.isfinite(record)
                or self._records_arrived_at is None):
            return record
        now = self.clock()
        return min(record + max(0.0, now - self._records_arrived_at), now)

    async def _refresh_slos(self) -> None:
        """Evaluate, in a worker thread, the SLOs of models whose counts or record time moved
        since their last evaluation: the longest unevaluated first, as many as the latest
        costs say the credit allows (at least one, if there is credit), so that SLOs take at
        most `SLO_SHARE` of the runtime on average however many models and windows there are.
        The worker copies the counts itself: nothing of their size is copied on the loop."""
        share = SLO_SHARE * self.settings.runtime.cadence_seconds
        self._slo_credit = min(self._slo_credit + share, share)
        now = self._slo_clock()
        minute = math.floor(now / MINUTE) if math.isfinite(now) else -1
        stale = []
        for key, state in self.states.items():
            counts = state.slo_counts
            if counts is not None and self._slo_judged.get(key) != (counts.changes, minute):
                stale.append((self._slo_cost.get(key, (0.0, -1))[1], key, counts))
        if not stale or self._slo_credit <= 0:
            return
        budget = self._slo_credit
        work: dict[ModelKey, tuple[SLOCounts, float]] = {}
        for _, key, counts in sorted(stale, key=lambda item: item[0]):
            cost = self._slo_cost.get(key, (0.0, -1))[0]
            if work and cost > budget:
                break
            budget -= cost
            work[key] = (counts, now)
            self._slo_judged[key] = (counts.changes, minute)
        self._slo_refreshes += 1
        try:
            fresh = await asyncio.to_thread(evaluate_models, work)
        except Exception as exc:  # a bug in the SLO engine must not stop publishing
            if not self._slo_failing:
                message = f"SLO evaluation failed, the previous statuses are kept: {exc!r}"
                log.error("%s", message, exc_info=exc)
                self.messages.append(message)
            self._slo_failing = True
            for key in work:
                self._slo_judged.pop(key, None)
            return
        self._slo_failing = False
        self._slo_statuses = {**self._slo_statuses,
                              **{key: statuses for key, (statuses, _) in fresh.items()}}
        self._slo_cost.update((key, (seconds, self._slo_refreshes))
                              for key, (_, seconds) in fresh.items())
        self._slo_credit -= sum(seconds for _, seconds in fresh.values())

    def _publish_now(self) -> None:
        """Publish a snapshot over the chosen range, and one over the configured window (the
        same one when no range was chosen)."""
        shown = self._build(time_range=self._time_range)
        self._publish(shown, shown if self._time_range is None else self._build())

    def _build(self, slos: Mapping[ModelKey, tuple[SLOStatus, ...]] | None = None,
               time_range: float | None = None) -> Snapshot:
        """A snapshot with the SLO statuses given, else the publisher's latest, over
        `time_range` (None: the configured window and series)."""
        now = self.clock()
        runtime = self.settings.runtime
        slos = slos if slos is not None else self._slo_statuses
        if time_range is None:
            span = _Span(runtime.window_seconds, runtime.series_seconds, None)
        else:
            span = _Span(time_range, math.ceil(time_range), SERIES_POINTS)
        ranged = self.range_analysis if time_range is not None else None
        models = tuple(
            _model_snapshot(state, now, span, self.analysis.result(key),
                            self.analysis.waiting(key, state), slos.get(key, ()),
                            self.analysis.reference_filling(key, state),
                            ranged.result(key) if ranged is not None else None)
            for key, state in sorted(self.states.items())
        )
        views = [self._remote_views[label] for label in sorted(self._remote_views)]
        models += tuple(model for view in views for model in self._remote_models(view))
        catching_up = self._catching_up()
        return Snapshot(
            generated_at=now,
            models=models,
            ingest=IngestStats(
                records_total=self.records_total,
                line_problems=dict(self.skipped),
                last_messages=tuple(self.messages),
                kept_reasons=KEPT_LINE_REASONS,
                skipped_recently=self._skipped_recently(now, runtime.window_seconds),
            ),
            paused=self._paused,
            sources=(tuple(source.label for source in self.sources)
                     + tuple(remote.label for remote in self.remote_sources)),
            source_health=self.source_health(),
            catching_up=catching_up,
            history=self.history_progress() if catching_up else None,
            targets=tuple(target for view in views for target in view.targets),
            time_range_seconds=span.window_seconds,
            engine_window_records=self.settings.drift.window,
            engine_ranges=self.range_analysis is not None,
        )

    def _remote_models(self, view: RemoteView) -> tuple[ModelSnapshot, ...]:
        """The view's models as snapshots; a view that cannot be turned into them costs its
        own models only (said once), never the snapshot every reader waits for."""
        try:
            return remote_model_snapshots(view)
        except Exception as exc:
            message = f"remote view {view.label} left out: {exc!r}"
            if message not in self.messages:
                log.exception("%s", message)
                self.messages.append(message)
            return ()

    def history_progress(self) -> HistoryProgress | None:
        """How far the sources that can say it (`history_bytes`: read, present at start) have
        read the history on disk; None if none can yet. Records and rates count every record
        ingested since the start, over the time the read took (the rates stand still while
        the engines' first runs follow)."""
        counted = [progress for progress in (getattr(s, "history_bytes", None)
                                             for s in self.sources) if progress is not None]
        if not counted:
            return None
        read = sum(done for done, _ in counted)
        total = sum(whole for _, whole in counted)
        if self._read_at is None and self._sources_caught_up():
            self._read_at = time.monotonic()
        elapsed = (self._read_at or time.monotonic()) - self._started_at
        per_second = self.records_total / elapsed if elapsed > 0 else 0.0
        bytes_per_second = read / elapsed if elapsed > 0 else 0.0
        left = (max(0, total - read) / bytes_per_second) if bytes_per_second > 0 else None
        return HistoryProgress(read, total, self.records_total, per_second, left,
                               analysing=self._read_at is not None)

    def _sources_caught_up(self) -> bool:
        """Whether every source read the history on disk at its start (a source that can say
        so reports `caught_up`) and none reads a backlog."""
        return not self._backlogged and all(getattr(s, "caught_up", True) for s in self.sources)

    def _catching_up(self) -> bool:
        """Whether the start-up is still under way: a source still reads the history on disk at
        its start (a source that can say so reports `caught_up`), or a model's analysis still
        describes it (the first runs after catching up are hurried). Once false it stays
        false: a later backlog, or a new model's first analysis, is live traffic, and the
        alerting must not go quiet then."""
        if not self._sources_caught_up():
            self._caught_up_at = None
            return not self._live
        if self._caught_up_at is None:
            self._caught_up_at = self.analysis.now()
            self.analysis.hurry()
        if not self._live:
            since = self._caught_up_at
            self._live = all(self.analysis.current(key, state, since)
                             for key, state in self.states.items())
        return not self._live

    def _publish(self, snapshot: Snapshot, configured: Snapshot) -> None:
        """`snapshot` to the readers of `latest`, `configured` (built with the configured
        window) to those of `configured_window`."""
        self._shown.publish(snapshot)
        self.configured_window.publish(configured)


class Publication:
    """One stream of the runtime's snapshots, a `Snapshots`: those over the range the console
    chose (`Runtime.latest`), or those built with `[runtime] window_seconds`
    (`Runtime.configured_window`, what the alerting reads whichever range the console shows).
    Listeners are called in the publisher's loop and must return quickly."""

    def __init__(self) -> None:
        self._latest = Snapshot.empty()
        self._listeners: list[SnapshotListener] = []

    @property
    def latest(self) -> Snapshot:
        return self._latest

    def subscribe(self, listener: SnapshotListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: SnapshotListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def publish(self, snapshot: Snapshot) -> None:
        self._latest = snapshot
        for listener in tuple(self._listeners):
            listener(snapshot)


@dataclass(frozen=True, slots=True)
class _Span:
    """What a snapshot's figures cover: the window, the series' length and their points (None:
    one a second)."""

    window_seconds: float
    series_seconds: int
    points: int | None


def _model_snapshot(
    state: ModelState,
    now: float,
    span: _Span,
    analysis: ModelAnalysis | None,
    waiting: tuple[str | None, str | None],
    slos: tuple[SLOStatus, ...],
    reference_filling: tuple[int, int] | None = None,
    ranged: RangeResult | None = None,
) -> ModelSnapshot:
    recent = state.recent(now, span.window_seconds, span.series_seconds, span.points)
    analysis = analysis or ModelAnalysis()
    engine_range = None
    if ranged is not None:
        figures = ranged.figures
        if figures.drift is None or figures.quality is None:
            waiting = (("no predictions in the time range shown" if not
                        ranged.judged else "the engines failed on the range's sample (see "
                        "the log)"), waiting[1])
        analysis = replace(analysis, drift=figures.drift, quality=figures.quality,
                           performance=figures.performance,
                           performance_compared=(figures.performance_compared
                                                 if analysis.performance_waiting is None
                                                 else None))
        engine_range = EngineRange(ranged.seconds, ranged.records, ranged.judged,
                                   ranged.labelled)
    dropped = dict(state.dropped)
    if analysis.features_dropped:
        dropped["feature_names"] = analysis.features_dropped
    return ModelSnapshot(
        name=state.name,
        version=state.version,
        predictions_total=state.predictions_total,
        errors_total=dict(state.errors),
        latency=state.histogram(),
        labels_total=state.labels_total,
        labels_joined=state.labels_joined,
        labels_correct=state.labels_correct,
        slos=slos,
        last_record_at=state.last_record_at,
        window_seconds=span.window_seconds,
        drift=analysis.drift,
        quality=analysis.quality,
        performance=analysis.performance,
        feature_drift_history=analysis.feature_drift_history,
        drift_scores=analysis.scores(),
        analysis_waiting=waiting[0],
        performance_waiting=waiting[1],
        reference_filling=reference_filling,
        engine_range=engine_range,
        drifted=analysis.drifted,
        drift_kinds=analysis.drift_kinds,
        dropped=dropped,
        **{f.name: getattr(recent, f.name) for f in fields(RecentActivity)},
    )


def _with_paused(snapshot: Snapshot, paused: bool) -> Snapshot:
    return replace(snapshot, paused=paused)
