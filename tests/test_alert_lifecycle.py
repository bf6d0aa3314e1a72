"""The alert lifecycle, driven by snapshots with chosen times: pending, firing, resolved,
`for`, repeat, grouping, deduplication, silences, acknowledgements and inhibition."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from neural_tui.alerts.engine import AlertEngine
from neural_tui.alerts.notification import Notification
from neural_tui.config import AlertRuleSection, AlertsSection, ChannelSection, Duration, Settings
from neural_tui.engines.slo import SLOAlert, SLOSpec, SLOStatus
from neural_tui.runtime.snapshot import IngestStats, ModelSnapshot, Snapshot
from tests.factories import model_snapshot

T0 = 1_767_225_600.0


class Outbox:
    """Stands in for `Delivery`: keeps what was submitted."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def submit(self, notification: Notification) -> None:
        self.sent.append(notification)

    def take(self) -> list[Notification]:
        sent, self.sent = self.sent, []
        return sent


def rule(name: str = "slow", when: str = "p95_latency_ms > 500", **fields: Any
         ) -> AlertRuleSection:
    fields.setdefault("channels", ("pager",))
    for key in ("for_", "repeat"):
        if key in fields and fields[key] is not None:
            fields[key] = Duration(fields[key])
    return AlertRuleSection(name=name, when=when, **fields)


def settings(*rules: AlertRuleSection, **timing: Any) -> Settings:
    durations = {k: Duration(v) for k, v in timing.items()
                 if k in ("group_wait", "group_interval", "repeat_interval")}
    other = {k: v for k, v in timing.items() if k not in durations}
    return Settings(alerts=AlertsSection(
        rules=rules, channels={"pager": ChannelSection(type="file"),
                               "chat": ChannelSection(type="file")},
        **{"group_wait": Duration(30), "group_interval": Duration(300),
           "repeat_interval": Duration(3600), **durations, **other}))


def engine(tmp_path: Path, *rules: AlertRuleSection, **timing: Any) -> tuple[AlertEngine, Outbox]:
    outbox = Outbox()
    alerting = AlertEngine(settings(*rules, **timing), tmp_path, delivery=outbox,
                           clock=lambda: T0)
    alerting.load()
    return alerting, outbox


def at(seconds: float, *models: ModelSnapshot, catching_up: bool = False) -> Snapshot:
    return Snapshot(generated_at=T0 + seconds, models=models, ingest=IngestStats(0, {}),
                    catching_up=catching_up)


def slow(name: str = "fraud", p95: float = 800.0, **overrides: Any) -> ModelSnapshot:
    return model_snapshot(name, latency_p95_ms=p95, **overrides)


def fast(name: str = "fraud") -> ModelSnapshot:
    return model_snapshot(name, latency_p95_ms=40.0)


def run(alerting: AlertEngine, start: float, stop: float, step: float, *models: ModelSnapshot
        ) -> None:
    moment = start
    while moment <= stop:
        alerting.on_snapshot(at(moment, *models))
        moment += step


def states(alerting: AlertEngine) -> list[tuple[str, str]]:
    return [(entry.alert.labels["model"], entry.state) for entry in alerting.view.current]


def test_a_condition_without_for_fires_at_once_and_is_sent_after_group_wait(tmp_path):
    alerting, outbox = engine(tmp_path, rule())
    alerting.on_snapshot(at(0, slow()))
    assert states(alerting) == [("fraud", "firing")]
    run(alerting, 1, 29, 1, slow())
    assert outbox.take() == []
    alerting.on_snapshot(at(30, slow()))
    (notification,) = outbox.take()
    assert notification.channel == "pager"
    assert notification.status == "firing"
    (alert,) = notification.alerts
    assert alert.labels == {"alertname": "slow", "severity": "warning", "model": "fraud",
                            "version": "1.0.0"}
    assert alert.starts_at == T0
    assert alert.values == {"p95_latency_ms": 800.0}
    assert notification.group_labels == {"alertname": "slow", "model": "fraud"}
    assert notification.group_key == '{alertname="slow",model="fraud"}'


def test_an_alert_is_pending_for_the_rules_for_then_fires(tmp_path):
    alerting, outbox = engine(tmp_path, rule(for_=60), group_wait=0)
    run(alerting, 0, 59, 1, slow())
    assert states(alerting) == [("fraud", "pending")]
    assert outbox.take() == []
    alerting.on_snapshot(at(60, slow()))
    assert states(alerting) == [("fraud", "firing")]
    assert [n.alerts[0].starts_at for n in outbox.take()] == [T0 + 60]


def test_a_condition_flapping_inside_for_never_fires(tmp_path):
    alerting, outbox = engine(tmp_path, rule(for_=60), group_wait=0)
    seen = set()
    for second in range(0, 600, 10):
        model = slow() if (second // 10) % 6 != 5 else fast()
        alerting.on_snapshot(at(second, model))
        seen.update(state for _, state in states(alerting))
    assert seen == {"pending"}
    assert outbox.take() == []
    assert alerting.view.resolved == ()


def test_a_firing_alert_is_sent_once_then_again_only_after_the_repeat_interval(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=10, group_interval=60,
                              repeat_interval=3600)
    run(alerting, 0, 3600, 5, slow())
    assert [n.created_at - T0 for n in outbox.take()] == [10]
    run(alerting, 3605, 3730, 5, slow())
    assert [n.created_at - T0 for n in outbox.take()] == [3610]


def test_a_rules_own_repeat_overrides_the_repeat_interval(tmp_path):
    alerting, outbox = engine(tmp_path, rule(repeat=600), group_wait=0, group_interval=60)
    run(alerting, 0, 1300, 10, slow())
    assert [n.created_at - T0 for n in outbox.take()] == [0, 600, 1200]


def test_an_acknowledged_alert_is_not_repeated(tmp_path):
    alerting, outbox = engine(tmp_path, rule(repeat=600), group_wait=0, group_interval=60)
    alerting.on_snapshot(at(0, slow()))
    assert len(outbox.take()) == 1
    fingerprint = alerting.view.current[0].alert.fingerprint
    alerting.acknowledge(fingerprint, "ana")
    assert alerting.view.current[0].acknowledged_by == "ana"
    run(alerting, 10, 3000, 10, slow())
    assert outbox.take() == []


def test_alerts_sharing_the_group_labels_travel_in_one_notification(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_by=("alertname",))
    run(alerting, 0, 30, 10, slow("fraud"), slow("churn"))
    (notification,) = outbox.take()
    assert sorted(a.labels["model"] for a in notification.alerts) == ["churn", "fraud"]
    assert notification.group_labels == {"alertname": "slow"}


def test_by_default_each_rule_and_model_is_its_own_group(tmp_path):
    alerting, outbox = engine(tmp_path, rule())
    run(alerting, 0, 30, 10, slow("fraud"), slow("churn"))
    assert sorted(n.group_labels["model"] for n in outbox.take()) == ["churn", "fraud"]


def test_each_channel_of_a_rule_gets_its_own_notification(tmp_path):
    alerting, outbox = engine(tmp_path, rule(channels=("pager", "chat")))
    run(alerting, 0, 30, 10, slow())
    sent = outbox.take()
    assert sorted(n.channel for n in sent) == ["chat", "pager"]
    assert len({n.id for n in sent}) == 2


def test_an_alert_joining_a_group_waits_for_the_groups_next_interval(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_by=("alertname",), group_wait=30,
                              group_interval=300)
    run(alerting, 0, 100, 10, slow("fraud"))
    assert [len(n.alerts) for n in outbox.take()] == [1]
    run(alerting, 110, 330, 10, slow("fraud"), slow("churn"))
    (notification,) = outbox.take()
    assert notification.created_at == T0 + 330
    assert sorted(a.labels["model"] for a in notification.alerts) == ["churn", "fraud"]


def test_a_resolved_alert_is_sent_as_resolved_at_the_next_flush(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60)
    run(alerting, 0, 50, 10, slow())
    assert len(outbox.take()) == 1
    run(alerting, 60, 110, 10, fast())
    assert alerting.view.current == ()
    (entry,) = alerting.view.resolved
    assert entry.alert.ends_at == T0 + 60
    (notification,) = outbox.take()
    assert notification.created_at == T0 + 60
    assert notification.status == "resolved"
    assert [(a.status, a.ends_at) for a in notification.alerts] == [("resolved", T0 + 60)]


def test_resolved_notifications_can_be_turned_off(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60,
                              send_resolved=False)
    run(alerting, 0, 50, 10, slow())
    assert len(outbox.take()) == 1
    run(alerting, 60, 200, 10, fast())
    assert outbox.take() == []
    run(alerting, 210, 300, 10, slow())
    assert len(outbox.take()) == 1, "a new incident is sent again"


def test_an_alert_resolved_before_its_group_was_sent_is_never_sent(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=30)
    run(alerting, 0, 20, 10, slow())
    run(alerting, 30, 400, 10, fast())
    assert outbox.take() == []
    assert len(alerting.view.resolved) == 1


def test_a_second_incident_after_resolution_is_sent_again(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60)
    run(alerting, 0, 50, 10, slow())
    run(alerting, 60, 110, 10, fast())
    run(alerting, 120, 180, 10, slow())
    assert [n.status for n in outbox.take()] == ["firing", "resolved", "firing"]


def test_a_silenced_alert_is_not_sent_and_is_sent_when_the_silence_ends(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60)
    silence = alerting.silence({"alertname": "slow", "model": "fraud"}, 600, "deploying", "ana")
    run(alerting, 0, 590, 10, slow())
    assert outbox.take() == []
    (entry,) = alerting.view.current
    assert entry.state == "firing"
    assert entry.silenced_by == silence.id
    assert alerting.view.silences == (silence,)
    run(alerting, 600, 660, 10, slow())
    assert [n.created_at - T0 for n in outbox.take()] == [600]
    assert alerting.view.silences == ()


def test_a_silence_matches_only_alerts_with_every_matcher(tmp_path):
    alerting, outbox = engine(tmp_path, rule())
    alerting.silence({"alertname": "slow", "model": "churn"}, 3600, "", "ana")
    run(alerting, 0, 30, 10, slow("fraud"), slow("churn"))
    assert [n.group_labels["model"] for n in outbox.take()] == ["fraud"]


def test_lifting_a_silence_lets_the_alert_through_at_the_next_flush(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60)
    silence = alerting.silence({"alertname": "slow"}, 3600, "", "ana")
    run(alerting, 0, 100, 10, slow())
    assert alerting.unsilence(silence.id)
    assert not alerting.unsilence(silence.id)
    run(alerting, 110, 130, 10, slow())
    assert [n.created_at - T0 for n in outbox.take()] == [120]


@pytest.mark.parametrize(("matchers", "seconds", "author", "message"), [
    ({}, 60, "ana", "at least one matcher"),
    ({"model": "m"}, 0, "ana", "from 1m to 90d"),
    ({"model": "m"}, 59, "ana", "from 1m to 90d"),
    ({"model": "m"}, float("inf"), "ana", "from 1m to 90d"),
    ({"model": "m"}, float("nan"), "ana", "from 1m to 90d"),
    ({"model": "m"}, 91 * 86_400, "ana", "from 1m to 90d"),
    ({"model": "m"}, 60, "a" * 201, "author is longer than 200"),
])
def test_a_silence_the_request_checks_would_refuse_is_refused_by_the_engine_too(
        tmp_path, matchers, seconds, author, message):
    alerting, _ = engine(tmp_path, rule())
    with pytest.raises(ValueError, match=message):
        alerting.silence(matchers, seconds, "", author)


def test_a_critical_alert_inhibits_the_warning_of_the_same_rule_and_model(tmp_path):
    alerting, outbox = engine(
        tmp_path, rule(severity="warning", when="p95_latency_ms > 500"),
        rule(severity="critical", when="p95_latency_ms > 1000"), group_by=("alertname",))
    run(alerting, 0, 30, 10, slow("fraud", p95=1500), slow("churn", p95=700))
    (notification,) = outbox.take()
    assert sorted((a.labels["model"], a.labels["severity"]) for a in notification.alerts) == [
        ("churn", "warning"), ("fraud", "critical")]
    inhibited = {(e.alert.labels["model"], e.alert.labels["severity"]): e.inhibited
                 for e in alerting.view.current}
    assert inhibited == {("fraud", "critical"): False, ("fraud", "warning"): True,
                         ("churn", "warning"): False}


def test_the_warning_is_sent_once_the_critical_resolves(tmp_path):
    alerting, outbox = engine(
        tmp_path, rule(severity="warning", when="p95_latency_ms > 500"),
        rule(severity="critical", when="p95_latency_ms > 1000"), group_by=("alertname",),
        group_wait=0, group_interval=60)
    run(alerting, 0, 50, 10, slow(p95=1500))
    assert [[a.labels["severity"] for a in n.alerts] for n in outbox.take()] == [["critical"]]
    run(alerting, 60, 60, 10, slow(p95=700))
    (notification,) = outbox.take()
    assert sorted((a.labels["severity"], a.status) for a in notification.alerts) == [
        ("critical", "resolved"), ("warning", "firing")]


def test_evaluating_the_same_state_many_times_sends_one_notification(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=1)
    run(alerting, 0, 600, 1, slow())
    assert len(outbox.take()) == 1


def test_a_rule_for_one_model_ignores_the_others(tmp_path):
    alerting, _ = engine(tmp_path, rule(model="churn"))
    alerting.on_snapshot(at(0, slow("fraud"), slow("churn")))
    assert states(alerting) == [("churn", "firing")]


def test_the_summary_fills_its_placeholders_and_reads_n_a_without_data(tmp_path):
    alerting, _ = engine(tmp_path, rule(
        summary="{rule} ({severity}) on {model} {version}: p95 {p95_latency_ms} ms, "
                "accuracy {accuracy}, drifted {drifted}"))
    alerting.on_snapshot(at(0, slow(p95=812.3456)))
    annotations = alerting.view.current[0].alert.annotations
    assert annotations["summary"] == ("slow (warning) on fraud 1.0.0: p95 812.3 ms, "
                                      "accuracy n/a, drifted n/a")
    assert annotations["when"] == "p95_latency_ms > 500"


def test_a_model_name_with_control_characters_is_shown_literally_in_the_summary(tmp_path):
    alerting, _ = engine(tmp_path, rule(summary="{model}"))
    alerting.on_snapshot(at(0, slow("evil\x1b[31m")))
    assert alerting.view.current[0].alert.annotations["summary"] == "evil\u241b[31m"


def test_rules_wait_while_the_snapshot_is_catching_up(tmp_path):
    alerting, outbox = engine(tmp_path, rule(), group_wait=0)
    for second in range(0, 100, 10):
        alerting.on_snapshot(at(second, slow(), catching_up=True))
    assert alerting.view.current == ()
    alerting.on_snapshot(at(100, fast()))
    assert outbox.take() == []
    assert alerting.view.resolved == ()


def slo_status(model: str, alerts: tuple[SLOAlert, ...]) -> SLOStatus:
    spec = SLOSpec(name="availability", type="availability", target=0.999,
                   window_seconds=30 * 86_400)
    return SLOStatus(spec=spec, model=model, at=T0, good=900, total=1000, sli=0.9,
                     compliance=0.9, error_budget_remaining=-99.0, burn_rates={"1h": 100.0},
                     time_to_exhaustion_seconds=None, breaches=(), alerts=alerts)


def test_slo_burn_alerts_travel_the_same_path_to_the_slo_channels(tmp_path):
    burn = SLOAlert(name="slo_burn_rate", severity="page",
                    labels={"slo": "availability", "model": "fraud", "severity": "page",
                            "long_window": "1h", "short_window": "5m"},
                    summary="availability burns 100x its budget", long_burn_rate=100.0,
                    short_burn_rate=120.0)
    alerting, outbox = engine(tmp_path, slo_channels=("chat",))
    model = replace(fast(), slos=(slo_status("fraud", (burn,)),))
    run(alerting, 0, 30, 10, model)
    (notification,) = outbox.take()
    assert notification.channel == "chat"
    (alert,) = notification.alerts
    assert alert.labels == {"alertname": "slo_burn_rate", "severity": "critical",
                            "slo": "availability", "model": "fraud", "version": "1.0.0",
                            "long_window": "1h", "short_window": "5m"}
    assert alert.values == {"long_burn_rate": 100.0, "short_burn_rate": 120.0}
    assert alert.annotations["summary"] == "availability burns 100x its budget"
    run(alerting, 40, 400, 10, replace(fast(), slos=(slo_status("fraud", ()),)))
    assert [n.status for n in outbox.take()] == ["resolved"]


def burn(severity: str, long_window: str, short_window: str) -> SLOAlert:
    return SLOAlert(name="slo_burn_rate", severity=severity,  # type: ignore[arg-type]
                    labels={"slo": "availability", "model": "fraud", "severity": severity,
                            "long_window": long_window, "short_window": short_window},
                    summary=f"burning over {long_window}")


def test_a_slo_escalating_to_a_faster_tier_never_says_the_slower_one_is_over(tmp_path):
    """The ticket fires, then the page takes over (the SLO engine holds the ticket back): the
    pager hears of the page, nobody hears the ticket resolved while it burns; when the SLO
    stops burning, both end and the page is resolved."""
    alerting, outbox = engine(tmp_path, slo_channels=("chat",))
    ticket, page = burn("ticket", "3d", "6h"), burn("page", "1h", "5m")
    run(alerting, 0, 30, 10, replace(fast(), slos=(slo_status("fraud", (ticket,)),)))
    assert [(n.status, n.alerts[0].labels["severity"]) for n in outbox.take()] == [
        ("firing", "warning")]
    run(alerting, 40, 400, 10, replace(fast(), slos=(slo_status("fraud", (page,)),)))
    sent = [(n.status, a.status, a.labels["severity"]) for n in outbox.take() for a in n.alerts]
    assert ("resolved", "resolved", "warning") not in sent
    assert all(status == "firing" for _, status, _ in sent)
    assert ("firing", "firing", "critical") in sent
    run(alerting, 410, 800, 10, replace(fast(), slos=(slo_status("fraud", ()),)))
    ended = {a.labels["severity"] for n in outbox.take() for a in n.alerts
             if a.status == "resolved"}
    assert "critical" in ended
    assert alerting.view.current == ()


def test_a_slo_calming_to_a_slower_tier_resolves_the_faster_one(tmp_path):
    alerting, outbox = engine(tmp_path, slo_channels=("chat",))
    ticket, page = burn("ticket", "3d", "6h"), burn("page", "1h", "5m")
    run(alerting, 0, 30, 10, replace(fast(), slos=(slo_status("fraud", (page,)),)))
    outbox.take()
    run(alerting, 40, 400, 10, replace(fast(), slos=(slo_status("fraud", (ticket,)),)))
    resolved = {a.labels["severity"] for n in outbox.take() for a in n.alerts
                if a.status == "resolved"}
    assert resolved == {"critical"}


def test_slo_alerts_go_to_every_channel_when_slo_channels_is_unset(tmp_path):
    burn = SLOAlert(name="slo_burn_rate", severity="ticket",
                    labels={"slo": "availability", "model": "fraud", "severity": "ticket"},
                    summary="slow burn")
    alerting, outbox = engine(tmp_path)
    run(alerting, 0, 30, 10, replace(fast(), slos=(slo_status("fraud", (burn,)),)))
    sent = outbox.take()
    assert sorted(n.channel for n in sent) == ["chat", "pager"]
    assert {n.alerts[0].labels["severity"] for n in sent} == {"warning"}


def test_a_delivery_outcome_is_shown_with_the_alerts_it_carried(tmp_path):
    from neural_tui.alerts.view import DeliveryRecord

    alerting, outbox = engine(tmp_path, rule(), group_wait=0)
    alerting.on_snapshot(at(0, slow()))
    (notification,) = outbox.take()
    record = DeliveryRecord(channel="pager", outcome="sent", at=T0 + 1, attempts=2)
    alerting.record_delivery(notification, record)
    alerting.close()
    assert alerting.view.current[0].deliveries == (record,)


def test_the_view_lists_current_alerts_newest_first(tmp_path):
    alerting, _ = engine(tmp_path, rule())
    alerting.on_snapshot(at(0, slow("fraud")))
    alerting.on_snapshot(at(10, slow("fraud"), slow("churn")))
    assert [(e.alert.labels["model"], e.since) for e in alerting.view.current] == [
        ("churn", T0 + 10), ("fraud", T0)]


def test_the_runtimes_listener_returns_at_once_and_evaluates_the_newest_snapshot(tmp_path):
    import threading

    calls: list[str] = []

    class ThreadNoting(Outbox):
        def submit(self, notification: Notification) -> None:
            calls.append(threading.current_thread().name)
            super().submit(notification)

    outbox = ThreadNoting()
    alerting = AlertEngine(settings(rule(), group_wait=Duration(0)), tmp_path, delivery=outbox,
                           clock=lambda: T0)
    alerting.load()
    for second in range(200):
        alerting.hand_over(at(second, slow() if second == 199 else fast()))
    assert alerting.wait_idle(10)
    assert states(alerting) == [("fraud", "firing")]
    assert calls and all(name != threading.current_thread().name for name in calls)
    assert len(outbox.take()) == 1


async def test_a_quiet_feed_such_as_a_paused_console_does_not_stop_the_alerting(tmp_path):
    import asyncio

    alerting, outbox = engine(tmp_path, rule(), group_wait=0)
    built: list[float] = []

    def build() -> Snapshot:
        built.append(len(built))
        return at(len(built), slow())

    watching = asyncio.create_task(alerting.run(build, every_seconds=0.02))
    try:
        async with asyncio.timeout(10):
            while not outbox.sent:
                await asyncio.sleep(0.02)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    assert built
    assert states(alerting) == [("fraud", "firing")]


@pytest.mark.parametrize("outcome", ["failed", "dropped"])
def test_a_notification_delivery_gave_up_on_is_sent_again_at_the_next_flush(tmp_path, outcome):
    from neural_tui.alerts.view import DeliveryRecord

    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60)
    alerting.on_snapshot(at(0, slow()))
    (notification,) = outbox.take()
    alerting.acknowledge(notification.alerts[0].fingerprint, "ana")
    alerting.record_delivery(notification, DeliveryRecord("pager", outcome, T0 + 5, 3))
    assert alerting.wait_idle(10)
    run(alerting, 10, 50, 10, slow())
    assert outbox.take() == []
    alerting.on_snapshot(at(60, slow()))
    (again,) = outbox.take()
    assert [a.status for a in again.alerts] == ["firing"]


def test_a_resolved_notification_delivery_gave_up_on_is_sent_again(tmp_path):
    from neural_tui.alerts.view import DeliveryRecord

    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60)
    alerting.on_snapshot(at(0, slow()))
    outbox.take()
    alerting.on_snapshot(at(60, fast()))
    (resolved,) = outbox.take()
    assert resolved.status == "resolved"
    alerting.record_delivery(resolved, DeliveryRecord("pager", "failed", T0 + 61, 1))
    assert alerting.wait_idle(10)
    alerting.on_snapshot(at(120, fast()))
    (again,) = outbox.take()
    assert [a.status for a in again.alerts] == ["resolved"]
    alerting.on_snapshot(at(180, fast()))
    assert outbox.take() == []


def test_a_failure_of_an_older_notification_does_not_undo_a_newer_one(tmp_path):
    from neural_tui.alerts.view import DeliveryRecord

    alerting, outbox = engine(tmp_path, rule(), group_wait=0, group_interval=60,
                              group_by=("alertname",))
    alerting.on_snapshot(at(0, slow("fraud")))
    (first,) = outbox.take()
    alerting.on_snapshot(at(60, slow("fraud"), slow("churn")))
    assert len(outbox.take()) == 1
    alerting.record_delivery(first, DeliveryRecord("pager", "failed", T0 + 61, 3))
    assert alerting.wait_idle(10)
    run(alerting, 120, 600, 60, slow("fraud"), slow("churn"))
    assert outbox.take() == []


def test_a_rule_on_process_wide_figures_fires_once_without_a_model(tmp_path):
    alerting, _ = engine(tmp_path, rule("skipping", "ingest_errors > 0",
                                        summary="{ingest_errors} lines skipped"))
    snapshot = replace(at(0, slow("fraud"), slow("churn")),
                       ingest=IngestStats(0, {"not_json": 7}, skipped_recently=7))
    alerting.on_snapshot(snapshot)
    (entry,) = alerting.view.current
    assert entry.alert.labels == {"alertname": "skipping", "severity": "warning"}
    assert entry.alert.annotations["summary"] == "7 lines skipped"


def test_a_rule_on_process_wide_figures_for_one_model_is_labelled_with_it(tmp_path):
    alerting, _ = engine(tmp_path, rule("skipping", "ingest_errors > 0", model="fraud"))
    snapshot = replace(at(0, slow("fraud"), slow("churn")),
                       ingest=IngestStats(0, {"not_json": 7}, skipped_recently=7))
    alerting.on_snapshot(snapshot)
    assert states(alerting) == [("fraud", "firing")]
