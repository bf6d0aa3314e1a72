"""The old module's alerting API for in-process use: `AlertManager`, `AlertRule`,
`AlertChannel`, `AlertSeverity` and `Alert`, with its names (`add_rule`, `add_channel`,
`check_rules`, `send_alert`, `get_recent_alerts`, `get_alert_summary`).

A model server written for `neural.monitoring` keeps its calls; what they do changed where the
old module was wrong:

- `send_alert` returns at once. Each alert becomes a `Notification` for neural-tui's
  `Delivery` (the same channels, queues, retries with backoff, `Retry-After` and outbox as
  headless mode and the console), which runs in one daemon thread with its own event loop. The
  old module posted to every channel in the caller's thread, for up to ten seconds each, with
  no retry.
- A rule's `message_template` is filled from the data the rule saw, besides `title` and
  `message`; a placeholder without a value stays as written (the old templates raised
  `KeyError` when their rule fired).
- A rule's `condition` may also be a `when` string of the rules' grammar
  ("p95_latency_ms > 500"), checked when the rule is made; a callable that raises is logged
  and counts as not holding.
- Channels are checked when they are added, with the errors of a config file's
  `[alerts.channels.NAME]` (the old module failed on the first alert, silently).
- `LOG` appends one JSON line per alert to `<storage_path>/alerts.jsonl`; the webhook channel
  posts Alertmanager's webhook body, not the old `to_dict()`.
- The history kept in memory is bounded (`HISTORY_LIMIT` alerts).

The delivery's own files (the outbox) live under `<storage_path>/library/`, apart from the
state of a console or headless process that watches the same storage.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from string import Formatter
from typing import Any

from neural_tui.alerts.condition import Condition, parse
from neural_tui.alerts.delivery import Delivery
from neural_tui.alerts.notification import Alert as LabelledAlert
from neural_tui.alerts.notification import Notification
from neural_tui.alerts.view import DeliveryRecord
from neural_tui.config import ChannelSection, channel_from_table
from neural_tui.safe_text import plain

log = logging.getLogger(__name__)

DEFAULT_STORAGE_PATH = Path("monitoring_data") / "alerts"
"""The old module's default: the `alerts/` folder of the default storage."""
LOG_FILE = "alerts.jsonl"
LIBRARY_FOLDER = "library"
HISTORY_LIMIT = 1000
MAX_VALUES = 50
"""At most this many numbers of an alert's metadata travel as its values."""
CLOSE_TIMEOUT_SECONDS = 5.0


class AlertSeverity(Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertChannel(Enum):
    """A channel type; `add_channel` adds channels of a type, `send_alert` names types (every
    channel of that type) or channel names."""

    SLACK = "slack"
    EMAIL = "email"
    WEBHOOK = "webhook"
    LOG = "log"
    FILE = "file"
    ALERTMANAGER = "alertmanager"


@dataclass
class Alert:
    """One alert as the old module made it: a title, a message, where it came from, and any
    data (numbers in `metadata` travel as the alert's values)."""

    timestamp: float
    severity: AlertSeverity
    title: str
    message: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "severity": self.severity.value,
                "title": self.title, "message": self.message, "source": self.source,
                "metadata": self.metadata}


@dataclass
class AlertRule:
    """Fires when `condition` holds for the data `check_rules` is given, at most once per
    `cooldown_seconds`.

    `condition` is a callable of the data, or a `when` string of the rules' grammar
    ("accuracy < 0.8"), which is parsed (and refused with `ValueError`) here.
    """

    name: str
    condition: Callable[[dict[str, Any]], bool] | str
    severity: AlertSeverity
    channels: list[AlertChannel | str]
    cooldown_seconds: float = 300.0
    message_template: str = "{title}: {message}"
    last_triggered: float = 0.0
    _when: Condition | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.condition, str):
            self._when = parse(self.condition)

    def should_trigger(self, data: dict[str, Any]) -> bool:
        """Whether the rule fires now (its cooldown over, its condition holding); firing
        starts the cooldown."""
        now = time.time()
        if now - self.last_triggered < self.cooldown_seconds:
            return False
        if not self._holds(data):
            return False
        self.last_triggered = now
        return True

    def _holds(self, data: dict[str, Any]) -> bool:
        if self._when is not None:
            return self._when.holds(lambda name: _number(data.get(name)))
        if callable(self.condition):
            try:
                return bool(self.condition(data))
            except Exception:
                log.exception("alert rule %s: its condition raised; it does not hold",
                              plain(self.name))
        return False

    def message(self, data: Mapping[str, Any]) -> str:
        """`message_template` filled from `data`, `title` and `message` (the data as text).

        Only plain names are filled (`{drift_score:.3f}`); a placeholder without a value, one
        reaching into a value (`{x.attr}`, `{x[0]}`) or a format that does not fit its value
        stays as written, so a template never raises and never reads past the data.
        """
        fields = {**{str(key): value for key, value in data.items()}, "title": self.name,
                  "message": str(dict(data))}
        try:
            parts = list(Formatter().parse(self.message_template))
        except ValueError:
            return self.message_template
        return "".join(literal + _fill(name, spec, conversion, fields)
                       for literal, name, spec, conversion in parts)


def _fill(name: str | None, spec: str | None, conversion: str | None,
          fields: Mapping[str, Any]) -> str:
    """One placeholder's text, or the placeholder as written when it cannot be filled."""
    if name is None:
        return ""
    written = "{" + name + (f"!{conversion}" if conversion else "") + (
        f":{spec}" if spec else "") + "}"
    if name not in fields or conversion not in (None, "s", "r", "a"):
        return written
    value = fields[name]
    if conversion:
        converters: dict[str, Callable[[object], str]] = {"s": str, "r": repr, "a": ascii}
        value = converters[conversion](value)
    try:
        return format(value, spec or "")
    except (ValueError, TypeError):
        return written


class AlertManager:
    """Rules checked against data, and alerts sent through channels without blocking.

    The constructor's channels are the old module's: `slack_webhook_url`, `email_config`
    (`smtp_server`, `smtp_port`, `username`, `password`, `from_addr`, `to_addrs`) and
    `webhook_url`; `add_channel` adds any other. `close()` (also at exit, and on leaving a
    `with` block) waits a bounded time for the queues to reach the outbox.
    """

    def __init__(self, slack_webhook_url: str | None = None,
                 email_config: Mapping[str, Any] | None = None,
                 webhook_url: str | None = None, storage_path: str | Path | None = None) -> None:
        self.storage_path = Path(storage_path) if storage_path else DEFAULT_STORAGE_PATH
        self.rules: list[AlertRule] = []
        self.alert_history: list[Alert] = []
        """The alerts sent, oldest first, at most `HISTORY_LIMIT`."""
        self.deliveries: deque[DeliveryRecord] = deque(maxlen=HISTORY_LIMIT)
        """The outcome of every attempt, newest last (what the console shows as "sent")."""
        self._channels: dict[str, ChannelSection] = {}
        self._kinds: dict[str, AlertChannel] = {}
        self._lock = threading.RLock()
        self._worker: _DeliveryThread | None = None
        self._carried: list[Notification] = []
        self.add_channel(AlertChannel.LOG)
        if slack_webhook_url:
            self.add_channel(AlertChannel.SLACK, webhook_url=slack_webhook_url)
        if email_config:
            self.add_channel(AlertChannel.EMAIL, **_email_settings(email_config))
        if webhook_url:
            self.add_channel(AlertChannel.WEBHOOK, url=webhook_url)
        atexit.register(_close_at_exit, weakref.ref(self))

    def __enter__(self) -> AlertManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def channels(self) -> dict[str, str]:
        """Each channel's name and type."""
        with self._lock:
            return {name: kind.value for name, kind in self._kinds.items()}

    def add_channel(self, channel: AlertChannel | str, name: str | None = None,
                    **settings: Any) -> str:
        """Add a channel of a type, with the keys of a config's `[alerts.channels.NAME]`
        (`webhook_url`, `url`, `headers`, `host`, `port`, `starttls`, `username`,
        `password`, `from` (or `from_`), `to`, `path`, `ca_file`, `timeout_seconds`); returns
        its name, by default the type's (`slack`, then `slack-2`...). `ValueError` names a
        missing or wrong key."""
        kind = AlertChannel(channel)
        table = {("from" if key == "from_" else key): value for key, value in settings.items()}
        if kind is AlertChannel.LOG:
            table.setdefault("path", str(self.storage_path / LOG_FILE))
        table["type"] = AlertChannel.FILE.value if kind is AlertChannel.LOG else kind.value
        if isinstance(table.get("to"), str):
            table["to"] = [table["to"]]
        with self._lock:
            chosen = name or self._free_name(kind.value)
            if chosen in self._channels:
                raise ValueError(f"a channel named {chosen!r} exists already")
            self._channels[chosen] = channel_from_table(
                chosen, table, Path("AlertManager.add_channel"), Path.cwd())
            self._kinds[chosen] = kind
            self._stop_worker()
        return chosen

    def add_rule(self, rule: AlertRule) -> None:
        with self._lock:
            self.rules.append(rule)

    def remove_rule(self, rule_name: str) -> None:
        with self._lock:
            self.rules = [rule for rule in self.rules if rule.name != rule_name]

    def check_rules(self, data: dict[str, Any]) -> list[Alert]:
        """Send an alert for every rule that fires on `data`; the alerts sent."""
        with self._lock:
            firing = [rule for rule in self.rules if rule.should_trigger(data)]
        sent = []
        for rule in firing:
            alert = Alert(timestamp=time.time(), severity=rule.severity, title=rule.name,
                          message=rule.message(data), source="alert_rule", metadata=dict(data))
            self.send_alert(alert, rule.channels)
            sent.append(alert)
        return sent

    def send_alert(self, alert: Alert,
                   channels: Iterable[AlertChannel | str] | None = None) -> None:
        """Queue `alert` for `channels` (types or names; None: every channel) and return.

        A channel type without a channel of that type is skipped; an unknown name is logged.
        """
        with self._lock:
            self.alert_history.append(alert)
            del self.alert_history[:-HISTORY_LIMIT]
            names = self._resolve(channels)
            worker = self._running_worker() if names else None
        for name in names:
            notification = _notification(alert, name)
            if worker is not None:
                worker.submit(notification)

    def get_recent_alerts(self, n: int = 100,
                          severity: AlertSeverity | None = None) -> list[Alert]:
        """The last `n` alerts sent (of `severity`, when given), oldest first."""
        with self._lock:
            alerts = [a for a in self.alert_history if severity is None or a.severity == severity]
        return alerts[-n:] if n > 0 else []

    def get_alert_summary(self, hours: int = 24) -> dict[str, Any]:
        """Counts by severity and source of the alerts of the last `hours`, as the old module
        summed them, and the last ten critical ones."""
        cutoff = time.time() - hours * 3600
        with self._lock:
            recent = [a for a in self.alert_history if a.timestamp >= cutoff]
        if not recent:
            return {"status": "ok", "total_alerts": 0, "time_period_hours": hours}
        by_source: dict[str, int] = {}
        for alert in recent:
            by_source[alert.source] = by_source.get(alert.source, 0) + 1
        return {
            "status": "ok",
            "total_alerts": len(recent),
            "time_period_hours": hours,
            "by_severity": {s.value: sum(a.severity is s for a in recent) for s in AlertSeverity},
            "by_source": by_source,
            "recent_critical": [a.to_dict() for a in recent
                                if a.severity is AlertSeverity.CRITICAL][-10:],
        }

    def close(self) -> None:
        """Stop the delivery thread; what is not yet acknowledged stays in the outbox, for
        the next `AlertManager` on this `storage_path` to send."""
        with self._lock:
            self._stop_worker()
            if self._carried:
                log.error("alerts: %d alert(s) queued while closing were not sent",
                          len(self._carried))
                self._carried = []

    def _free_name(self, base: str) -> str:
        if base not in self._channels:
            return base
        number = 2
        while f"{base}-{number}" in self._channels:
            number += 1
        return f"{base}-{number}"

    def _resolve(self, channels: Iterable[AlertChannel | str] | None) -> list[str]:
        if channels is None:
            return list(self._channels)
        names: list[str] = []
        for channel in channels:
            if isinstance(channel, AlertChannel):
                matched = [name for name, kind in self._kinds.items() if kind is channel]
            elif channel in self._channels:
                matched = [channel]
            else:
                log.error("alert: no channel named %s; it is skipped", plain(str(channel)))
                matched = []
            names.extend(name for name in matched if name not in names)
        return names

    def _running_worker(self) -> _DeliveryThread:
        if self._worker is None:
            delivery = Delivery.from_settings(dict(self._channels),
                                              self.storage_path / LIBRARY_FOLDER,
                                              listener=self._record)
            self._worker = _DeliveryThread(delivery, self._carried)
            self._carried = []
        return self._worker

    def _stop_worker(self) -> None:
        """Stop the delivery thread; what it never took waits for the next one."""
        worker, self._worker = self._worker, None
        if worker is not None:
            self._carried.extend(worker.stop())

    def _record(self, _: Notification, record: DeliveryRecord) -> None:
        self.deliveries.append(record)
        if record.outcome != "sent":
            log.warning("alert to %s: %s after %d attempt(s): %s", plain(record.channel),
                        record.outcome, record.attempts, plain(record.detail))


class _DeliveryThread:
    """A `Delivery` run in a daemon thread with its own event loop.

    `submit` never waits: before the loop has read the outbox and started, notifications wait
    in a list that the loop takes over once it runs; once a stop was asked, they wait in a
    list that `stop` hands back, for the next thread to send.
    """

    def __init__(self, delivery: Delivery, waiting: Iterable[Notification] = ()) -> None:
        self.delivery = delivery
        self._lock = threading.Lock()
        self._early: list[Notification] = list(waiting)
        self._started = False
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="neural-tui alerts",
                                        daemon=True)
        self._thread.start()

    def submit(self, notification: Notification) -> None:
        with self._lock:
            if not self._started or self._stopping:
                self._early.append(notification)
                del self._early[:-HISTORY_LIMIT]
            else:
                self.delivery.submit(notification)

    def stop(self) -> list[Notification]:
        """Close the delivery (its queues go to the outbox), waiting a bounded time; the
        notifications it never took."""
        with self._lock:
            self._stopping = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(CLOSE_TIMEOUT_SECONDS)
        with self._lock:
            left, self._early = self._early, []
        return left

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception:
            log.exception("alerts: the library's delivery stopped")

    async def _serve(self) -> None:
        stop = asyncio.Event()
        await self.delivery.start()
        with self._lock:
            self._loop, self._stop, self._started = asyncio.get_running_loop(), stop, True
            if self._stopping:
                stop.set()
            else:
                for notification in self._early:
                    self.delivery.submit(notification)
                self._early = []
        try:
            await stop.wait()
        finally:
            await self.delivery.close()


def _close_at_exit(manager: weakref.ref[AlertManager]) -> None:
    alive = manager()
    if alive is not None:
        alive.close()


def _notification(alert: Alert, channel: str) -> Notification:
    """The alert as the channels take it: labelled by title, severity and source (and model,
    when its metadata names one), its message as the summary, its numbers as values."""
    labels = {"alertname": alert.title, "severity": alert.severity.value, "source": alert.source}
    model = alert.metadata.get("model")
    if isinstance(model, str):
        labels["model"] = model
    values = {str(key): float(value) for key, value in alert.metadata.items()
              if _number(value) is not None}
    labelled = LabelledAlert(labels=labels, annotations={"summary": alert.message},
                             status="firing", starts_at=alert.timestamp,
                             values=dict(list(values.items())[:MAX_VALUES]))
    return Notification(id=f"library-{secrets.token_hex(8)}", channel=channel,
                        group_key=labelled.fingerprint, group_labels=labels,
                        alerts=(labelled,), created_at=alert.timestamp)


def _number(value: Any) -> float | None:
    """A finite number from the data, or None (text, a flag, NaN, a 400-digit integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _email_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The old `email_config` keys as the email channel's."""
    settings: dict[str, Any] = {"host": config.get("smtp_server", "smtp.gmail.com"),
                                "port": int(config.get("smtp_port", 587))}
    username, password = config.get("username"), config.get("password")
    if username is not None or password is not None:
        settings.update(username=username, password=password)
    sender = config.get("from_addr", username)
    if sender is not None:
        settings["from"] = sender
    recipients = config.get("to_addrs", [])
    settings["to"] = [recipients] if isinstance(recipients, str) else list(recipients)
    return settings


def create_drift_alert_rule(threshold: float = 0.2) -> AlertRule:
    return AlertRule(name="Model Drift Detected", condition=f"drift_score > {threshold!r}",
                     severity=AlertSeverity.WARNING,
                     channels=[AlertChannel.SLACK, AlertChannel.EMAIL], cooldown_seconds=1800,
                     message_template="Model drift detected with score {drift_score:.3f}")


def create_quality_alert_rule(threshold: float = 0.7) -> AlertRule:
    return AlertRule(name="Data Quality Issue", condition=f"quality_score < {threshold!r}",
                     severity=AlertSeverity.WARNING,
                     channels=[AlertChannel.SLACK, AlertChannel.LOG], cooldown_seconds=900,
                     message_template="Data quality score dropped to {quality_score:.3f}")


def create_performance_alert_rule(threshold: float = 0.8) -> AlertRule:
    return AlertRule(name="Performance Degradation", condition=f"accuracy < {threshold!r}",
                     severity=AlertSeverity.CRITICAL,
                     channels=[AlertChannel.SLACK, AlertChannel.EMAIL], cooldown_seconds=600,
                     message_template="Model accuracy dropped to {accuracy:.3f}")


def create_latency_alert_rule(threshold_ms: float = 1000.0) -> AlertRule:
    """Reads `p95_latency_ms`, the name the rest of neural-tui uses (the old rule read a key,
    `p95_latency`, that nothing ever passed, so it never fired)."""
    return AlertRule(name="High Latency", condition=f"p95_latency_ms > {threshold_ms!r}",
                     severity=AlertSeverity.WARNING,
                     channels=[AlertChannel.SLACK, AlertChannel.LOG], cooldown_seconds=300,
                     message_template="P95 latency is {p95_latency_ms:.1f}ms")
