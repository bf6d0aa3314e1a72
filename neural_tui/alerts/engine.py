"""`AlertEngine`: the rules evaluated over every snapshot, the lifecycle moved on, notifications
handed to delivery, and the `AlertsView` the surfaces read; the `AlertCommands` they send.

It never blocks the runtime's event loop: the listener (`hand_over`) only queues the snapshot
for the engine's own thread, where the rules (compiled condition trees, rules x models) are
evaluated; the saved state is written in another thread, and delivery only queues. Its clock
is the snapshot's time, so a test drives it with snapshots (`on_snapshot` evaluates at once).

Catch-up: while a snapshot says `catching_up` (the sources still read the history on disk at
start, or the engines still describe it; start-up only, never a later backlog), rules are not
evaluated at all, so an incident that is over by the time the history is read never pages.
From the first live snapshot on, a condition that still holds fires as usual (after its
`for`); an alert that the saved state shows as already sent is not sent again (its group's
notification log says so), and one that fired before the restart but no longer holds is
resolved, with its resolved notification.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from neural_tui.alerts.condition import Condition, name_kind, parse
from neural_tui.alerts.lifecycle import MAX_SILENCES, Lifecycle, Observation, Timing
from neural_tui.alerts.notification import Notification
from neural_tui.alerts.silencing import check_silence
from neural_tui.alerts.store import (
    SILENCES_RELOAD_SECONDS,
    WRITE_TIMEOUT_SECONDS,
    StateWriter,
    alerts_folder,
    delete_silence,
    encode_state,
    load_silences,
    load_state,
    new_silence_id,
    save_silence,
)
from neural_tui.alerts.template import Template, parse_template
from neural_tui.alerts.values import PROCESS_FIGURES, Figure, ModelFigures
from neural_tui.alerts.view import AlertsView, DeliveryRecord, Silence
from neural_tui.config import AlertRuleSection, AlertsSection, Settings, parse_duration
from neural_tui.engines.slo import SLOAlert
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import plain
from neural_tui.sources.workers import DaemonExecutor

log = logging.getLogger(__name__)

SAVE_AT_LEAST_EVERY_SECONDS = 60.0
"""How often the state is written while only the figures of firing alerts change."""
MAX_VALUE_CHARS = 200
SLO_SEVERITY = {"page": "critical", "ticket": "warning"}
"""The SLO engine's burn-tier severities as alert severities."""


class NotificationSink(Protocol):
    """Where notifications go: `Delivery.submit` queues one and returns at once."""

    def submit(self, notification: Notification) -> None: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """One `[[alerts.rules]]` entry with its condition and summary parsed."""

    section: AlertRuleSection
    condition: Condition
    summary: Template

    def applies_to(self, model: ModelSnapshot) -> bool:
        return self.section.model is None or self.section.model == model.name

    @property
    def process_wide(self) -> bool:
        """Whether it reads only figures of the whole process, for no model in particular
        (`PROCESS_FIGURES`): it is then evaluated once per snapshot, not once per model."""
        read = self.condition.names | (self.summary.placeholders - _FIXED_PLACEHOLDERS)
        return self.section.model is None and read <= PROCESS_FIGURES


_FIXED_PLACEHOLDERS = frozenset({"rule", "model", "version", "severity", "when"})


def compile_rules(alerts: AlertsSection) -> tuple[Rule, ...]:
    """The rules of a loaded config (which checked them: nothing here raises for them)."""
    def known(name: str) -> bool:
        return name in _FIXED_PLACEHOLDERS or name_kind(name) is not None

    return tuple(Rule(rule, parse(rule.when), parse_template(rule.summary, known))
                 for rule in alerts.rules)


def timing_of(alerts: AlertsSection) -> Timing:
    return Timing(group_by=alerts.group_by, group_wait=alerts.group_wait,
                  group_interval=alerts.group_interval, repeat_interval=alerts.repeat_interval,
                  send_resolved=alerts.send_resolved)


def format_figure(value: Figure) -> str:
    """A figure as a summary shows it: "n/a" without data, yes/no, or 4 significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.4g}"


class AlertEngine:
    """Evaluates the rules on each snapshot and implements `AlertCommands` (module docstring).

    Call `load()` (blocking: from a thread, or `await start()`) before the first snapshot, so
    the saved state is in place; `run()` keeps the silences in step with the folder (another
    process's `neural-tui alerts silence`) until cancelled; `close()` writes the last state.
    """

    def __init__(self, settings: Settings, storage: Path, *,
                 delivery: NotificationSink | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        alerts = settings.alerts
        self.rules = compile_rules(alerts)
        self.lifecycle = Lifecycle(timing_of(alerts))
        self.delivery = delivery
        self.folder = alerts_folder(storage)
        self.clock = clock
        self._slo_channels = (tuple(alerts.channels) if alerts.slo_channels is None
                              else alerts.slo_channels)
        self._slo_burning: dict[tuple[str, str, str], dict[str, Observation]] = {}
        """Per (SLO, model, version) that burns, its burn alerts that fired, by fingerprint."""
        self._writer = StateWriter(self.folder)
        self.writes_state = True
        """False in a process that another one's alerting sends for: the sender's state file
        (what fires, what was sent to whom) is the sender's alone to write."""
        self._lock = threading.RLock()
        self._view = AlertsView.empty()
        self._now = 0.0
        self._silence_epoch = 0
        self._saved_shape = self._shape()
        """What the state on disk holds (nothing is written while nothing happened)."""
        self._saved_at = -math.inf
        self._failed_rules: set[str] = set()
        self._last_snapshot_at = -math.inf
        self._evaluator = DaemonExecutor(1, "alerts evaluation")
        self._queue_lock = threading.Lock()
        self._queued: Snapshot | None = None
        self._evaluating = False

    @property
    def view(self) -> AlertsView:
        """The latest published view (immutable; safe to read from any thread)."""
        return self._view

    def load(self) -> None:
        """Read the saved state and silences (blocking)."""
        with self._lock:
            load_state(self.folder, self.lifecycle)
            now = self.clock()
            self._take_silences(load_silences(self.folder), now)
            self._saved_shape = self._shape()
            self._publish(now)

    async def start(self) -> None:
        """`load()` in the writer's thread."""
        await asyncio.wrap_future(self._writer.submit(self.load))

    async def run(self, fallback: Callable[[], Snapshot] | None = None,
                  every_seconds: float = 1.0) -> None:
        """Reload the silences every `SILENCES_RELOAD_SECONDS` until cancelled; with
        `fallback`, evaluate its snapshot when none arrived for `2 x every_seconds` (a paused
        console stops publishing, the alerting must not stop with it)."""
        reload_at = time.monotonic() + SILENCES_RELOAD_SECONDS
        while True:
            await asyncio.sleep(min(every_seconds, SILENCES_RELOAD_SECONDS))
            if time.monotonic() >= reload_at:
                reload_at = time.monotonic() + SILENCES_RELOAD_SECONDS
                await self._reload_silences()
            if fallback is not None and (time.monotonic() - self._last_snapshot_at
                                         > 2 * every_seconds):
                self.hand_over(fallback())

    async def _reload_silences(self) -> None:
        epoch = self._silence_epoch
        silences = await asyncio.wrap_future(
            self._writer.submit(lambda: load_silences(self.folder)))
        self._evaluator.submit(self._apply_silences, silences, epoch)

    def _apply_silences(self, silences: Mapping[str, Silence], epoch: int) -> None:
        """The silences read from the folder, unless a command changed them meanwhile (the
        next reload then brings both)."""
        with self._lock:
            if epoch != self._silence_epoch:
                return
            now = self._now or self.clock()
            if self._take_silences(silences, now):
                self._publish(now)

    def _take_silences(self, silences: Mapping[str, Silence], now: float) -> bool:
        """Hold the silences read from the folder that have not ended (the `MAX_SILENCES`
        ending last); forget the files of the others. Whether anything changed."""
        ended = [s.id for s in silences.values() if s.ends_at <= now]
        live = sorted((s for s in silences.values() if s.ends_at > now),
                      key=lambda s: s.ends_at)[-MAX_SILENCES:]
        self._forget_silences(ended)
        kept = {s.id: s for s in live}
        if kept == self.lifecycle.silences:
            return False
        self.lifecycle.silences = kept
        return True

    def _forget_silences(self, ended: list[str]) -> None:
        """Delete the files of silences that ended, so the folder does not grow."""
        for silence_id in ended:
            self._writer.run(partial(delete_silence, self.folder, silence_id))

    def close(self) -> None:
        """Write the last state and wait (a bounded time) for it to reach the disk."""
        self.wait_idle(WRITE_TIMEOUT_SECONDS)
        with self._lock:
            if self.writes_state and (self.lifecycle.alerts
                                      or self._shape() != self._saved_shape):
                self._writer.save_state(encode_state(self.lifecycle))
        if not self._writer.wait():
            log.error("alerts: the last state was not written in time")

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Evaluate `snapshot` now, in the caller's thread: send what is due, publish."""
        self._last_snapshot_at = time.monotonic()
        self._evaluate(snapshot)

    def hand_over(self, snapshot: Snapshot) -> None:
        """The runtime's listener: evaluate `snapshot` in the engine's own thread and return
        at once. While an evaluation runs, only the newest snapshot waits (the lifecycle reads
        each snapshot's time, so skipping one only coarsens the steps)."""
        self._last_snapshot_at = time.monotonic()
        with self._queue_lock:
            self._queued = snapshot
            if self._evaluating:
                return
            self._evaluating = True
        self._evaluator.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._queue_lock:
                snapshot, self._queued = self._queued, None
                if snapshot is None:
                    self._evaluating = False
                    return
            try:
                self._evaluate(snapshot)
            except Exception:
                log.exception("alerts: an evaluation failed; the next snapshot is evaluated "
                              "afresh")

    def wait_idle(self, timeout: float) -> bool:
        """Wait until what was handed to the engine's thread so far is done (for tests and
        shutdown); False if it did not finish within `timeout` seconds."""
        try:
            self._evaluator.submit(lambda: None).result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        return True

    def _evaluate(self, snapshot: Snapshot) -> None:
        if snapshot.catching_up:
            return
        now = snapshot.generated_at
        with self._lock:
            self._now = now
            self.lifecycle.observe(now, self._holding(snapshot))
            ended = self.lifecycle.expire_silences(now)
            if ended:
                self._silence_epoch += 1
                self._forget_silences(ended)
            notifications = self.lifecycle.flush(now)
            self._publish(now)
            self._save(now)
        for notification in notifications:
            self._submit(notification)

    def _submit(self, notification: Notification) -> None:
        if self.delivery is None:
            return
        try:
            self.delivery.submit(notification)
        except Exception:
            log.exception("alerts: delivery refused notification %s for channel %s",
                          notification.id, plain(notification.channel))

    def _holding(self, snapshot: Snapshot) -> Iterator[Observation]:
        """Rules hold over the local models only: a remote model's alerts are its own
        exporter's (`neural_alerts_firing`), routed by Alertmanager."""
        local = snapshot.local_models
        for model in local:
            figures = ModelFigures(model, snapshot)
            for rule in self.rules:
                if (not rule.process_wide and rule.applies_to(model)
                        and self._holds(rule, figures)):
                    yield self._observation(rule, model, figures)
            for status in model.slos:
                yield from self._slo_observations(status.spec.name, status.alerts, model)
        if local:
            figures = ModelFigures(local[0], snapshot)
            for rule in self.rules:
                if rule.process_wide and self._holds(rule, figures):
                    yield self._observation(rule, None, figures)

    def _holds(self, rule: Rule, figures: ModelFigures) -> bool:
        try:
            return rule.condition.holds(figures)
        except Exception:
            if rule.section.name not in self._failed_rules:
                self._failed_rules.add(rule.section.name)
                log.exception("alerts: rule %r could not be evaluated; it is skipped where "
                              "it fails", rule.section.name)
            return False

    def _observation(self, rule: Rule, model: ModelSnapshot | None,
                     figures: ModelFigures) -> Observation:
        """One alert of `rule`, on `model` (None: a process-wide rule, without model labels)."""
        section = rule.section
        labels = {**section.labels, "alertname": section.name, "severity": section.severity}
        if model is not None:
            labels.update(model=model.name, version=model.version)
        read = {name: figures(name) for name in rule.condition.names}
        values = {name: float(value) for name, value in read.items()
                  if value is not None and math.isfinite(float(value))}
        fields = {"rule": section.name, "model": _shown(model.name) if model else "",
                  "version": _shown(model.version) if model else "",
                  "severity": section.severity, "when": section.when}
        for name in rule.summary.placeholders - _FIXED_PLACEHOLDERS:
            fields[name] = format_figure(read[name] if name in read else figures(name))
        annotations = {"summary": rule.summary.fill(fields), "when": section.when}
        return Observation(labels=labels, annotations=annotations, values=values,
                           for_seconds=section.for_, repeat_seconds=section.repeat,
                           channels=section.channels)

    def _slo_observations(self, slo: str, alerts: tuple[SLOAlert, ...],
                          model: ModelSnapshot) -> Iterator[Observation]:
        """The SLO's alerts, and the burn alerts of its slower tiers that fired before a
        faster one took over: the SLO engine holds a slower tier back while a faster one fires,
        and that is no reason to tell anyone the slower one is over. They stay firing (muted
        by the faster one when its severity is higher) until the SLO stops burning."""
        key = (slo, model.name, model.version)
        observations = [self._slo_observation(alert, model) for alert in alerts]
        burning = [o for o in observations if o.labels.get("alertname") == "slo_burn_rate"]
        if not burning:
            self._slo_burning.pop(key, None)
            yield from observations
            return
        current = min(burning, key=lambda observation: _window_seconds(observation.labels))
        faster = _window_seconds(current.labels)
        held = {fingerprint: observation
                for fingerprint, observation in self._slo_burning.get(key, {}).items()
                if fingerprint != current.fingerprint
                and _window_seconds(observation.labels) > faster}
        self._slo_burning[key] = {**held, current.fingerprint: current}
        yield from observations
        yield from held.values()

    def _slo_observation(self, alert: SLOAlert, model: ModelSnapshot) -> Observation:
        labels = {**alert.labels, "alertname": alert.name,
                  "severity": SLO_SEVERITY.get(alert.severity, "warning"),
                  "model": model.name, "version": model.version}
        values = {name: value for name, value in (("long_burn_rate", alert.long_burn_rate),
                                                  ("short_burn_rate", alert.short_burn_rate))
                  if value is not None and math.isfinite(value)}
        return Observation(labels=labels, annotations={"summary": plain(alert.summary)},
                           values=values, for_seconds=0.0, repeat_seconds=None,
                           channels=self._slo_channels)

    def _publish(self, now: float) -> None:
        """Replace the view readers see (one reference swap: readers in any thread need no
        lock)."""
        self._view = self.lifecycle.view(now)

    def _save(self, now: float) -> None:
        """Write the state when what fires, what was sent or the silences changed, and at
        least every `SAVE_AT_LEAST_EVERY_SECONDS` while only figures moved."""
        if not self.writes_state:
            return
        shape = self._shape()
        if shape == self._saved_shape and (
            not self.lifecycle.alerts or now - self._saved_at < SAVE_AT_LEAST_EVERY_SECONDS
        ):
            return
        self._saved_shape, self._saved_at = shape, now
        self._writer.save_state(encode_state(self.lifecycle))

    def _shape(self) -> object:
        """What, when it changes, is worth writing at once."""
        lifecycle = self.lifecycle
        return (
            tuple((f, t.fired_at, t.acknowledged_by) for f, t in lifecycle.alerts.items()
                  if t.firing),
            tuple((k, g.next_flush, len(g.members), len(g.resolved))
                  for k, g in lifecycle.groups.items()),
            tuple((k, e.notification_id) for k, e in lifecycle.sent.items()),
            lifecycle.resolved[0].since if lifecycle.resolved else None,
            sum(len(d) for d in lifecycle.deliveries.values()),
        )

    def record_delivery(self, notification: Notification, record: DeliveryRecord) -> None:
        """Delivery's listener: the outcome of one attempt, credited to the alerts it carried
        in the engine's thread (the caller, on the event loop, never waits for an
        evaluation)."""
        self._evaluator.submit(self._record_delivery, notification, record)

    def _record_delivery(self, notification: Notification, record: DeliveryRecord) -> None:
        with self._lock:
            now = self._now or self.clock()
            if self.lifecycle.record_delivery(notification, record, now):
                self._publish(now)
                self._save(now)

    def acknowledge(self, fingerprint: str, author: str) -> None:
        with self._lock:
            if self.lifecycle.acknowledge(fingerprint, author):
                now = self._now or self.clock()
                self._publish(now)
                self._save(now)

    def silence(self, matchers: Mapping[str, str], duration_seconds: float, comment: str,
                author: str) -> Silence:
        """Mute the alerts whose labels equal every matcher, for `duration_seconds`; kept on
        disk, so a restart (or another process) sees it."""
        silence = make_silence(matchers, duration_seconds, comment, author, self.clock())
        with self._lock:
            self._silence_epoch += 1
            self.lifecycle.add_silence(silence)
            self._writer.run(partial(save_silence, self.folder, silence))
            self._publish(self._now or self.clock())
        return silence

    def unsilence(self, silence_id: str) -> bool:
        with self._lock:
            known = self.lifecycle.silences.pop(silence_id, None) is not None
            self._silence_epoch += 1
            self._writer.run(partial(delete_silence, self.folder, silence_id))
            if known:
                self._publish(self._now or self.clock())
        return known


def make_silence(matchers: Mapping[str, str], duration_seconds: float, comment: str,
                 author: str, now: float) -> Silence:
    """A new silence from `now`; `SilenceRequestError` (a `ValueError`) for what
    `check_silence` refuses."""
    check_silence(matchers, duration_seconds, comment, author)
    return Silence(id=new_silence_id(), matchers=dict(matchers), starts_at=now,
                   ends_at=now + duration_seconds, comment=comment, author=author)


def _shown(text: str) -> str:
    """A name from a log as a summary shows it: controls visible, length bounded."""
    shown = plain(text)
    return shown if len(shown) <= MAX_VALUE_CHARS else shown[:MAX_VALUE_CHARS] + "…"


def _window_seconds(labels: Mapping[str, str]) -> int:
    """The long window of a burn alert in seconds (its tier: the longer, the slower)."""
    return parse_duration(labels.get("long_window", "")) or 0
