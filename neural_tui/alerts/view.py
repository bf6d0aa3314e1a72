"""What the surfaces (console, `neural-tui alerts`, the exporter) read of the alerting.

INTERFACE DRAFT (the lead's): the alert lifecycle publishes an immutable `AlertsView` after each
evaluation and after each delivery attempt; readers never touch the lifecycle's own state.
Commands go the other way through `AlertCommands`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from neural_tui.alerts.notification import Alert

AlertState = Literal["pending", "firing", "resolved"]
DeliveryOutcome = Literal["sent", "failed", "retrying", "dropped"]


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One notification of an alert to one channel, as far as it went."""

    channel: str
    outcome: DeliveryOutcome
    at: float
    attempts: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes every alert whose labels match all `matchers` (label: exact value) until `ends_at`."""

    id: str
    matchers: Mapping[str, str]
    starts_at: float
    ends_at: float
    comment: str
    author: str


@dataclass(frozen=True, slots=True)
class AlertEntry:
    """One alert as the surfaces show it: its state, why it is quiet, what was sent."""

    alert: Alert
    state: AlertState
    since: float
    silenced_by: str | None = None
    inhibited: bool = False
    acknowledged_by: str | None = None
    deliveries: tuple[DeliveryRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertsView:
    """Current alerts (pending and firing, newest first), recently resolved ones, silences."""

    generated_at: float
    current: tuple[AlertEntry, ...] = ()
    resolved: tuple[AlertEntry, ...] = ()
    silences: tuple[Silence, ...] = ()

    @staticmethod
    def empty() -> AlertsView:
        return AlertsView(generated_at=0.0)


class AlertCommands(Protocol):
    """What a surface may ask of the alerting: acknowledge, silence, lift a silence."""

    def acknowledge(self, fingerprint: str, author: str) -> None: ...

    def silence(self, matchers: Mapping[str, str], duration_seconds: float, comment: str,
                author: str) -> Silence: ...

    def unsilence(self, silence_id: str) -> bool: ...
