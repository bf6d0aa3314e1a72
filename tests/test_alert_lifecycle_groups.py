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


def test_a_channel_removed_from_the_rule_gets_no_more_repeats():
    lifecycle = Lifecycle(Timing(group_wait=10, group_interval=60, repeat_interval=100))
    lifecycle.observe(0, [holding(("a",))])
    assert told(lifecycle.flush(10)) == [("a", "firing", "fraud")]
    sent: list[Notification] = []
    for moment in range(20, 1000, 10):
        lifecycle.observe(moment, [holding(("b",))])
        sent += lifecycle.flush(moment)
    assert {channel for channel, _, _ in told(sent)} == {"b"}
    assert {channel for channel, _ in lifecycle.groups} == {"b"}


def test_a_changed_group_by_leaves_no_group_of_the_old_key():
    lifecycle = Lifecycle(Timing(group_by=("alertname", "model"), group_wait=10))
    lifecycle.observe(0, [holding()])
    lifecycle.flush(10)
    lifecycle.timing = Timing(group_by=("alertname",), group_wait=10)
    lifecycle.observe(20, [holding()])
    lifecycle.flush(10_000)
    assert [key for _, key in lifecycle.groups] == ['{alertname="slow"}']
    assert [key for _, key in lifecycle.sent] == ['{alertname="slow"}']
