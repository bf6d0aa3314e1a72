"""The alert lifecycle, as Alertmanager runs it: pending, firing, resolved; silences,
inhibition and acknowledgements; groups with their wait, interval and repeat; deduplication.

Pure bookkeeping: every step takes the time it happens at (the snapshot's time) and returns the
notifications to send, so the engine can run it in the event loop and tests with a fake clock.

- An alert is *pending* from the first evaluation its condition holds; it *fires* once it held
  for the rule's `for` (at once when `for` is 0). A pending alert whose condition stops holding
  is forgotten: flapping inside `for` never fires. A firing alert whose condition stops holding
  is *resolved* (`ends_at` set) and kept in the recent history.
- A firing alert is *silenced* while a silence's matchers all equal its labels, and *inhibited*
  while an alert of a higher severity with the same `alertname`, `model`, `version` (and `slo`)
  fires. Muted alerts are not sent.
- Each firing alert joins one group per channel: the channel and the values of `[alerts]
  group_by`. A new group is flushed `group_wait` after it appears, then every `group_interval`.
  A flush sends the group's unmuted firing alerts (and the resolved ones the channel was told
  fired) when something changed since the last notification (an alert not yet sent as firing,
  one resolved), or when the group's repeat interval passed (the smallest `repeat` of its
  alerts' rules) and an alert in it is not acknowledged. Otherwise nothing is sent: that is the
  deduplication, and `SentEntry` (what was sent, per channel and group) is what a restart reads
  to avoid paging again. It is written when the notification is handed to delivery, and put
  back as it was when delivery gives it up (`failed`, `dropped`), so the next flush sends again:
  Alertmanager logs a notification only once it was delivered.
- Acknowledging an alert stops its repeats; a new alert in its group, or its resolution, is
  still sent. The acknowledgement ends with the alert.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from neural_tui.alerts.notification import Alert, Notification
from neural_tui.alerts.view import AlertEntry, AlertsView, DeliveryRecord, Silence

RESOLVED_KEPT = 200
"""Resolved alerts the view (and the saved state) keeps, newest first."""
DELIVERIES_KEPT = 20
"""Delivery records kept per alert, newest last."""
NOTIFICATIONS_REMEMBERED = 1000
"""Notification ids whose delivery outcomes can still be credited to their alerts."""
MAX_SILENCES = 1000
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
INHIBITION_EQUAL = ("alertname", "model", "version", "slo")
"""Labels a muting alert shares with the alert it mutes (absent labels count as equal)."""


@dataclass(frozen=True, slots=True)
class Timing:
    """The `[alerts]` timing, in seconds."""

    group_by: tuple[str, ...] = ("alertname", "model")
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    send_resolved: bool = True


@dataclass(frozen=True, slots=True)
class Observation:
    """One alert whose condition holds at this evaluation, with how it is to travel."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    values: Mapping[str, float]
    for_seconds: float
    repeat_seconds: float | None
    channels: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return Alert(self.labels, {}, "firing", 0.0).fingerprint


@dataclass(slots=True)
class Tracked:
    """One pending or firing alert."""

    labels: dict[str, str]
    annotations: dict[str, str]
    values: dict[str, float]
    active_since: float
    fired_at: float | None
    for_seconds: float
    repeat_seconds: float | None
    channels: tuple[str, ...]
    acknowledged_by: str | None = None

    @property
    def firing(self) -> bool:
        return self.fired_at is not None

    def alert(self) -> Alert:
        return Alert(labels=dict(self.labels), annotations=dict(self.annotations),
                     status="firing", starts_at=self.fired_at or self.active_since,
                     values=dict(self.values))


@dataclass(frozen=True, slots=True)
class SentEntry:
    """What a channel was last sent for a group: the notification log of Alertmanager."""

    firing: frozenset[str]
    resolved: frozenset[str]
    at: float
    notification_id: str


@dataclass(slots=True)
class Group:
    """The alerts one channel hears of together (same `group_by` values)."""

    channel: str
    key: str
    labels: dict[str, str]
    next_flush: float
    members: set[str] = field(default_factory=set)
    """Fingerprints of the group's firing alerts."""
    resolved: dict[str, Alert] = field(default_factory=dict)
    """Alerts resolved since the last flush."""


def group_key(labels: Mapping[str, str]) -> str:
    """The group's labels as Alertmanager writes a group key: `{a="1",b="2"}`."""
    inner = ",".join(f'{name}="{value}"' for name, value in sorted(labels.items()))
    return "{" + inner + "}"


class Lifecycle:
    """Every alert's state, the groups, silences and the notification log (module docstring)."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.alerts: dict[str, Tracked] = {}
        self.groups: dict[tuple[str, str], Group] = {}
        self.sent: dict[tuple[str, str], SentEntry] = {}
        self.silences: dict[str, Silence] = {}
        self.resolved: deque[AlertEntry] = deque(maxlen=RESOLVED_KEPT)
        self.deliveries: dict[str, list[DeliveryRecord]] = {}
        self.notified: dict[str, tuple[str, ...]] = {}
        """Notification id to the fingerprints it carried (the newest ones only)."""
        self.replaced: dict[str, SentEntry | None] = {}
        """Notification id to the log entry it replaced, put back if its delivery fails."""

    def observe(self, now: float, holding: Iterable[Observation]) -> None:
        """Move every alert on: `holding` is every alert whose condition holds at `now`."""
        seen: set[str] = set()
        for observation in holding:
            fingerprint = observation.fingerprint
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            tracked = self.alerts.get(fingerprint)
            if tracked is None:
                tracked = self.alerts[fingerprint] = Tracked(
                    labels=dict(observation.labels), annotations=dict(observation.annotations),
                    values=dict(observation.values), active_since=now, fired_at=None,
                    for_seconds=observation.for_seconds,
                    repeat_seconds=observation.repeat_seconds, channels=observation.channels)
            else:
                tracked.annotations = dict(observation.annotations)
                tracked.values = dict(observation.values)
                tracked.for_seconds = observation.for_seconds
                tracked.repeat_seconds = observation.repeat_seconds
                tracked.channels = observation.channels
            if not tracked.firing and now - tracked.active_since >= tracked.for_seconds:
                tracked.fired_at = now
        for fingerprint in [f for f in self.alerts if f not in seen]:
            self._end(fingerprint, now)
        self._join_groups(now)

    def _end(self, fingerprint: str, now: float) -> None:
        tracked = self.alerts.pop(fingerprint)
        if not tracked.firing:
            return
        alert = replace(tracked.alert(), status="resolved", ends_at=now)
        for group in self.groups.values():
            if fingerprint in group.members:
                group.members.discard(fingerprint)
                group.resolved[fingerprint] = alert
        self.resolved.appendleft(AlertEntry(alert=alert, state="resolved", since=now,
                                            deliveries=tuple(self.deliveries.get(fingerprint,
                                                                                  ()))))
        self.deliveries.pop(fingerprint, None)

    def _join_groups(self, now: float) -> None:
        """Put each firing alert in the groups of its current channels and `group_by` values,
        and take it out of any other (a channel removed from its rule, a changed `group_by`):
        as on an Alertmanager reload, the old group just stops, with no resolved sent."""
        placed: dict[str, set[tuple[str, str]]] = {}
        for fingerprint, tracked in self.alerts.items():
            if not tracked.firing:
                continue
            labels = {name: tracked.labels[name] for name in self.timing.group_by
                      if name in tracked.labels}
            key = group_key(labels)
            placed[fingerprint] = {(channel, key) for channel in tracked.channels}
            for channel in tracked.channels:
                group = self.groups.get((channel, key))
                if group is None:
                    group = self.groups[(channel, key)] = Group(
                        channel, key, labels, next_flush=now + self.timing.group_wait)
                group.members.add(fingerprint)
                group.resolved.pop(fingerprint, None)
        for where, group in self.groups.items():
            group.members = {f for f in group.members if where in placed.get(f, ())}

    def muting(self, now: float) -> dict[str, tuple[str | None, bool]]:
        """Per alert: the id of the silence muting it, and whether it is inhibited."""
        strongest: dict[tuple[str | None, ...], int] = {}
        for tracked in self.alerts.values():
            if tracked.firing:
                key = _inhibition_key(tracked.labels)
                strongest[key] = max(strongest.get(key, -1), _rank(tracked.labels))
        active = [s for s in self.silences.values() if s.starts_at <= now < s.ends_at]
        return {
            fingerprint: (
                next((s.id for s in active if _matches(s.matchers, tracked.labels)), None),
                strongest.get(_inhibition_key(tracked.labels), -1) > _rank(tracked.labels),
            )
            for fingerprint, tracked in self.alerts.items()
        }

    def flush(self, now: float) -> list[Notification]:
        """The notifications due at `now` (module docstring), the log updated as sent."""
        notifications: list[Notification] = []
        due = [key for key, group in self.groups.items() if now >= group.next_flush]
        if not due:
            return notifications
        muting = self.muting(now)
        for key in due:
            group = self.groups[key]
            group.next_flush = now + self.timing.group_interval
            notification = self._flush_group(group, now, muting)
            if notification is not None:
                notifications.append(notification)
            if not group.members and not group.resolved:
                del self.groups[key]
                entry = self.sent.get(key)
                if entry is not None and not entry.firing:
                    del self.sent[key]
        return notifications

    def _flush_group(self, group: Group, now: float,
                     muting: Mapping[str, tuple[str | None, bool]]) -> Notification | None:
        key = (group.channel, group.key)
        entry = self.sent.get(key)
        told = entry.firing if entry is not None else frozenset()
        firing = {f for f in group.members if muting.get(f, (None, True)) == (None, False)}
        resolved = {f: a for f, a in group.resolved.items() if f in told}
        group.resolved.clear()
        if not self._needs_update(entry, firing, set(resolved), group, now):
            if entry is not None and resolved:
                self.sent[key] = replace(entry, firing=entry.firing - set(resolved))
            return None
        notification_id = secrets.token_hex(8)
        self.replaced[notification_id] = entry
        self.sent[key] = SentEntry(frozenset(firing), frozenset(resolved), now, notification_id)
        sent_resolved = tuple(resolved.values()) if self.timing.send_resolved else ()
        alerts = (*(self.alerts[f].alert() for f in sorted(firing)), *sent_resolved)
        if not alerts:
            return None
        self._remember(notification_id, tuple(a.fingerprint for a in alerts))
        return Notification(id=notification_id, channel=group.channel, group_key=group.key,
                            group_labels=dict(group.labels), alerts=alerts, created_at=now)

    def _needs_update(self, entry: SentEntry | None, firing: set[str], resolved: set[str],
                      group: Group, now: float) -> bool:
        if entry is None:
            return bool(firing)
        if not firing <= entry.firing:
            return True
        if not firing:
            return bool(entry.firing)
        if self.timing.send_resolved and not resolved <= entry.resolved:
            return True
        unacknowledged = [self.alerts[f] for f in firing if self.alerts[f].acknowledged_by is None]
        if not unacknowledged:
            return False
        repeat = min(t.repeat_seconds or self.timing.repeat_interval for t in unacknowledged)
        return now - entry.at >= repeat

    def _remember(self, notification_id: str, fingerprints: tuple[str, ...]) -> None:
        self.notified[notification_id] = fingerprints
        for remembered in (self.notified, self.replaced):
            while len(remembered) > NOTIFICATIONS_REMEMBERED:
                del remembered[next(iter(remembered))]

    def record_delivery(self, notification: Notification, record: DeliveryRecord,
                        now: float) -> bool:
        """Credit a delivery outcome to the alerts the notification carried, and undo its log
        entry if delivery gave it up; False if it is unknown (too old, or from before a
        restart)."""
        notification_id = notification.id
        fingerprints = self.notified.get(notification_id)
        if fingerprints is None:
            return False
        if record.outcome in ("failed", "dropped"):
            self._undo(notification, now)
        for fingerprint in fingerprints:
            if fingerprint in self.alerts:
                records = self.deliveries.setdefault(fingerprint, [])
                records.append(record)
                del records[:-DELIVERIES_KEPT]
        return True

    def _undo(self, notification: Notification, now: float) -> None:
        """Put the group's log entry back as before `notification`, unless a newer one was
        sent since, and its resolved alerts back in the group, so the next flush sends them."""
        key = (notification.channel, notification.group_key)
        if notification.id not in self.replaced:
            return
        previous = self.replaced.pop(notification.id)
        entry = self.sent.get(key)
        if entry is not None and entry.notification_id != notification.id:
            return
        if previous is None:
            self.sent.pop(key, None)
        else:
            self.sent[key] = previous
        resolved = [a for a in notification.alerts
                    if a.status == "resolved" and a.fingerprint not in self.alerts]
        if not resolved:
            return
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(
                notification.channel, notification.group_key, dict(notification.group_labels),
                next_flush=now + self.timing.group_interval)
        for alert in resolved:
            group.resolved.setdefault(alert.fingerprint, alert)

    def acknowledge(self, fingerprint: str, author: str) -> bool:
        tracked = self.alerts.get(fingerprint)
        if tracked is None:
            return False
        tracked.acknowledged_by = author
        return True

    def add_silence(self, silence: Silence) -> None:
        self.silences[silence.id] = silence
        while len(self.silences) > MAX_SILENCES:
            oldest = min(self.silences.values(), key=lambda s: s.ends_at)
            del self.silences[oldest.id]

    def expire_silences(self, now: float) -> list[str]:
        """Forget silences that ended; their ids."""
        ended = [s.id for s in self.silences.values() if s.ends_at <= now]
        for silence_id in ended:
            del self.silences[silence_id]
        return ended

    def view(self, now: float) -> AlertsView:
        entries = []
        muting = self.muting(now)
        for fingerprint, tracked in self.alerts.items():
            silenced_by, inhibited = muting[fingerprint]
            entries.append(AlertEntry(
                alert=tracked.alert(), state="firing" if tracked.firing else "pending",
                since=tracked.fired_at if tracked.fired_at is not None else tracked.active_since,
                silenced_by=silenced_by, inhibited=inhibited,
                acknowledged_by=tracked.acknowledged_by,
                deliveries=tuple(self.deliveries.get(fingerprint, ()))))
        entries.sort(key=lambda e: e.since, reverse=True)
        silences = sorted(self.silences.values(), key=lambda s: s.starts_at, reverse=True)
        return AlertsView(generated_at=now, current=tuple(entries),
                          resolved=tuple(self.resolved), silences=tuple(silences))


def _matches(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(matchers) and all(labels.get(name) == value for name, value in matchers.items())


def _inhibition_key(labels: Mapping[str, str]) -> tuple[str | None, ...]:
    return tuple(labels.get(name) for name in INHIBITION_EQUAL)


def _rank(labels: Mapping[str, str]) -> int:
    return SEVERITY_RANK.get(labels.get("severity", ""), 0)
