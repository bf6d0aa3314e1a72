"""Builders of alert views for the console's and the `alerts` command's tests: name the fields
a test is about; every time is relative to `factories.FIXED_TIME`."""

from __future__ import annotations

from typing import Any

from factories import FIXED_TIME

from neural_tui.alerts.notification import Alert
from neural_tui.alerts.view import AlertEntry, AlertsView, DeliveryRecord, Silence


def alert_entry(
    rule: str = "drift_high",
    model: str | None = "fraud-detector",
    *,
    severity: str = "warning",
    state: str = "firing",
    since: float = FIXED_TIME - 720,
    summary: str = "",
    labels: dict[str, str] | None = None,
    values: dict[str, float] | None = None,
    starts_at: float | None = None,
    ends_at: float | None = None,
    **overrides: Any,
) -> AlertEntry:
    """An alert of `rule` on `model` in `state` since `since` (12 minutes before the view)."""
    all_labels = {"alertname": rule, "severity": severity}
    if model is not None:
        all_labels["model"] = model
    all_labels.update(labels or {})
    alert = Alert(
        labels=all_labels,
        annotations={"summary": summary} if summary else {},
        status="resolved" if state == "resolved" else "firing",
        starts_at=since if starts_at is None else starts_at,
        ends_at=ends_at,
        values=values or {},
    )
    return AlertEntry(alert=alert, state=state, since=since, **overrides)  # type: ignore[arg-type]


def delivery(channel: str = "oncall-slack", outcome: str = "sent", **overrides: Any
             ) -> DeliveryRecord:
    fields: dict[str, Any] = {"channel": channel, "outcome": outcome, "at": FIXED_TIME - 700,
                              "attempts": 1}
    fields.update(overrides)
    return DeliveryRecord(**fields)


def silence(silence_id: str = "s-1", **overrides: Any) -> Silence:
    fields: dict[str, Any] = {
        "id": silence_id,
        "matchers": {"alertname": "drift_high", "model": "fraud-detector"},
        "starts_at": FIXED_TIME - 600,
        "ends_at": FIXED_TIME + 6600,
        "comment": "retraining tonight",
        "author": "dana",
    }
    fields.update(overrides)
    return Silence(**fields)


def alerts_view(*current: AlertEntry, resolved: tuple[AlertEntry, ...] = (),
                silences: tuple[Silence, ...] = ()) -> AlertsView:
    return AlertsView(generated_at=FIXED_TIME, current=current, resolved=resolved,
                      silences=silences)
