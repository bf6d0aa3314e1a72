"""What the rule side hands to the delivery side: alerts, grouped into notifications.

INTERFACE DRAFT (the lead's): the contract between the alert lifecycle (rules, grouping,
silences, inhibition) and the channels (queues, retries, outbox). Shaped as Alertmanager shapes
them, so the webhook and Alertmanager channels translate them one to one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

AlertStatus = Literal["firing", "resolved"]
Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert instance: a rule (or an SLO burn tier) for one model.

    `labels` identify it (`alertname`, `severity`, `model`, the rule's own labels; an SLO
    alert adds `slo`, `long_window`, `short_window`); `annotations` hold `summary`; `values`
    are the figures the condition saw when it last held. Times are unix seconds; `ends_at` is
    set once resolved.
    """

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: AlertStatus
    starts_at: float
    ends_at: float | None = None
    values: Mapping[str, float] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A stable id from the labels (as Alertmanager identifies an alert)."""
        text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for one channel: a group of alerts sharing `group_labels`.

    `id` is unique per notification, so the outbox delivers each at most once per channel
    even across restarts; `status` is "firing" while any alert of the group fires.
    """

    id: str
    channel: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: tuple[Alert, ...]
    created_at: float

    @property
    def status(self) -> AlertStatus:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"
