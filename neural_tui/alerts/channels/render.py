"""What the channels say, shaped as Alertmanager shapes it: titles, times and the webhook body.

Every label and annotation value may come from a log (a model name, a feature name), so the
channels escape it for their own format; here values are only made plain (no control
character), never interpreted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from neural_tui.alerts.notification import Alert, Notification
from neural_tui.safe_text import plain

WEBHOOK_VERSION = "4"
"""The Alertmanager webhook payload version the webhook channel writes."""
ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's `endsAt` of an alert that has not ended."""
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


def rfc3339(seconds: float) -> str:
    """Unix seconds as RFC 3339 UTC with milliseconds; a time out of range (NaN, before 1970,
    past 9999) is clamped, since an alert's times may come from a log."""
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    moment = datetime.fromtimestamp(min(seconds, _LATEST), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def title(notification: Notification) -> str:
    """`[FIRING:2] drift fraud-model` (Alertmanager's default title): the status, how many
    alerts fire, and the group's label values; plain, on one line."""
    firing = sum(1 for a in notification.alerts if a.status == "firing")
    status = f"FIRING:{firing}" if notification.status == "firing" else "RESOLVED"
    values = " ".join(v for _, v in sorted(notification.group_labels.items()))
    if not values:
        values = " ".join(sorted({a.labels.get("alertname", "") for a in notification.alerts}))
    return plain(f"[{status}] {values}".strip())


def summary(alert: Alert) -> str:
    """The alert's summary annotation, else its name."""
    return plain(alert.annotations.get("summary") or alert.labels.get("alertname", "alert"))


def value_text(values: Mapping[str, float]) -> str:
    """`drift_score=0.31, error_rate=0.052`: the figures the condition saw."""
    return ", ".join(f"{plain(k)}={v:.4g}" for k, v in sorted(values.items()))


def common(mappings: list[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every mapping holds with the same value."""
    if not mappings:
        return {}
    first, *rest = mappings
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


def alert_body(alert: Alert) -> dict[str, Any]:
    """One alert as Alertmanager's webhook lists it."""
    ends = rfc3339(alert.ends_at) if alert.ends_at is not None else ZERO_TIME
    return {
        "status": alert.status,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": ends,
        "generatorURL": "",
        "fingerprint": alert.fingerprint,
    }


def webhook_body(notification: Notification, receiver: str) -> dict[str, Any]:
    """The notification in Alertmanager's webhook format (version 4)."""
    return {
        "version": WEBHOOK_VERSION,
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": common([a.labels for a in notification.alerts]),
        "commonAnnotations": common([a.annotations for a in notification.alerts]),
        "externalURL": "",
        "alerts": [alert_body(a) for a in notification.alerts],
    }
