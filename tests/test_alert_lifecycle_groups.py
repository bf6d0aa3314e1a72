"""The lifecycle's groups, driven directly with chosen times: an alert is in the groups its
current channels and `group_by` put it in, and nowhere else."""

from __future__ import annotations

from collections.abc import Iterable

from neural_tui.alerts.lifecycle import Lifecycle, Observation, Timing
from neural_tui.alerts.notification import Notification

LABELS = {"alertname": "slow", "severity": "warning", "model": "fraud", "version": "1"}


def holding(channels: tuple[str, ...] = ("a",), **labels: str) -> Observation:
    return Observation(labels={**LABELS, **labels}, annotations={}, values={}, for_seconds=0.0,
                       repeat_seconds=None, channels=channels)


def told(notifications: Iterable[Notification]) -> list[tuple[str, str, str]]:
    return [(n.channel, alert.status, alert.labels["model"])
            for n in notifications for alert in n.alerts]


def test_an_alert_that_fires_again_before_the_flush_is_not_also_sent_as_resolved():
    lifecycle = Lifecycle(Timing(group_wait=10, group_interval=60))
    lifecycle.observe(0, [holding()])
    assert told(lifecycle.flush(10)) == [("a", "firing", "fraud")]
    lifecycle.observe(20, [])
    lifecycle.observe(30, [holding()])
    assert told(lifecycle.flush(70)) == []
    assert told(lifecycle.flush(20_000)) == [("a", "firing", "fraud")]
