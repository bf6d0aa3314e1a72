"""The old module's alerting API, `from neural_tui import AlertManager, AlertRule,
AlertChannel`, as a model server calls it: rules fire on the data they are given (templates
filled, never a KeyError), alerts go through neural-tui's channels and retries, and
`send_alert` returns while a channel is still slow."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from alert_receivers import HANG, HttpReceiver, Reply

from neural_tui import AlertChannel, AlertManager, AlertRule, AlertSeverity
from neural_tui.alert_manager import (
    HISTORY_LIMIT,
    Alert,
    create_latency_alert_rule,
)
from neural_tui.alerts.condition import ConditionError


def wait_until(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.02)


def logged_alerts(storage: Path) -> list[dict]:
    """The notifications the LOG channel appended, one JSON object each."""
    path = storage / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def summaries(storage: Path) -> list[str]:
    return [alert["annotations"]["summary"] for notification in logged_alerts(storage)
            for alert in notification["alerts"]]


def drift_rule(**overrides: object) -> AlertRule:
    fields: dict[str, object] = {
        "name": "Model Drift Detected",
        "condition": lambda data: data.get("drift_score", 0) > 0.2,
        "severity": AlertSeverity.WARNING,
        "channels": [AlertChannel.LOG],
        "cooldown_seconds": 1800,
        "message_template": "Model drift detected with score {drift_score:.3f}",
    }
    fields.update(overrides)
    return AlertRule(**fields)  # type: ignore[arg-type]


def test_importing_the_alerting_names_loads_no_console() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from neural_tui import AlertManager, AlertRule, AlertChannel\n"
         "import sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60)
    loaded = set(result.stdout.split())
    assert "neural_tui.alert_manager" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "textual" or m.startswith("neural_tui.app")}


def test_a_rule_fires_with_its_template_filled_from_the_data_and_reaches_the_log(tmp_path):
    with AlertManager(storage_path=tmp_path) as manager:
        manager.add_rule(drift_rule())
        (alert,) = manager.check_rules({"drift_score": 0.31, "model": "fraud"})
        assert alert.message == "Model drift detected with score 0.310"
        wait_until(lambda: summaries(tmp_path), "the log line")
    (notification,) = logged_alerts(tmp_path)
    (sent,) = notification["alerts"]
    assert sent["labels"] == {"alertname": "Model Drift Detected", "severity": "warning",
                              "source": "alert_rule", "model": "fraud"}
    assert sent["values"] == {"drift_score": 0.31}


def test_a_rule_in_its_cooldown_does_not_fire_again(tmp_path):
    with AlertManager(storage_path=tmp_path) as manager:
        manager.add_rule(drift_rule())
        assert len(manager.check_rules({"drift_score": 0.5})) == 1
        assert manager.check_rules({"drift_score": 0.9}) == []
        assert manager.check_rules({"drift_score": 0.1}) == []


@pytest.mark.parametrize(("template", "message"), [
    ("{title}: {message}", "Rule: {'x': 1}"),
    ("{nope} on {title}", "{nope} on Rule"),
    ("{x:.2f}", "1.00"),
    ("{x.__class__}", "{x.__class__}"),
    ("{0}", "{0}"),
    ("{", "{"),
])
def test_a_template_never_raises_and_keeps_what_it_cannot_fill(template, message):
    rule = AlertRule(name="Rule", condition=lambda _: True, severity=AlertSeverity.INFO,
                     channels=[], message_template=template)
    assert rule.message({"x": 1}) == message


def test_a_when_string_is_a_condition_of_the_rules_grammar():
    rule = AlertRule(name="accuracy", condition="accuracy < 0.8 and not (error_rate > 0.5)",
                     severity=AlertSeverity.CRITICAL, channels=[], cooldown_seconds=0)
    assert rule.should_trigger({"accuracy": 0.7, "error_rate": 0.1})
    assert not rule.should_trigger({"accuracy": 0.9, "error_rate": 0.1})
    assert not rule.should_trigger({"error_rate": 0.1}), "no accuracy yet: unknown, not true"
    assert not rule.should_trigger({"accuracy": "0.1", "error_rate": 0.1}), "text is no figure"
    assert not rule.should_trigger({"accuracy": float("nan"), "error_rate": 0.1})


@pytest.mark.parametrize("when", ["__import__('os')", "p95_latency > 500", "accuracy <", "1"])
def test_a_when_string_that_is_not_a_condition_is_refused_when_the_rule_is_made(when):
    with pytest.raises(ConditionError):
        AlertRule(name="r", condition=when, severity=AlertSeverity.INFO, channels=[])


def test_a_condition_that_raises_does_not_fire_and_is_logged(tmp_path, caplog):
    def broken(data: dict) -> bool:
        return data["missing"] > 1

    with AlertManager(storage_path=tmp_path) as manager:
        manager.add_rule(drift_rule(condition=broken))
        with caplog.at_level(logging.ERROR):
            assert manager.check_rules({"drift_score": 0.9}) == []
    assert "its condition raised" in caplog.text


def test_the_latency_rule_reads_the_latency_the_rest_of_neural_tui_names():
    rule = create_latency_alert_rule(threshold_ms=500)
    assert rule.should_trigger({"p95_latency_ms": 812.0})
    assert rule.message({"p95_latency_ms": 812.0}) == "P95 latency is 812.0ms"


def test_send_alert_returns_while_the_channel_has_not_answered(tmp_path):
    with HttpReceiver(HANG) as receiver:
        manager = AlertManager(storage_path=tmp_path, webhook_url=f"{receiver.url}/hook")
        alert = Alert(timestamp=time.time(), severity=AlertSeverity.CRITICAL, title="down",
                      message="model down", source="custom")
        for _ in range(20):
            manager.send_alert(alert, [AlertChannel.WEBHOOK])
        wait_until(lambda: receiver.count() == 1, "the request at the receiver")
        assert list(manager.deliveries) == [], "the first attempt is still waiting for an answer"
        body = receiver.received[0].json()
        assert body["status"] == "firing"
        assert body["alerts"][0]["labels"]["alertname"] == "down"
        assert body["alerts"][0]["annotations"]["summary"] == "model down"
        manager.close()


def test_a_failed_attempt_is_retried_and_delivered_once(tmp_path):
    with HttpReceiver(Reply(status=500)) as receiver:
        manager = AlertManager(storage_path=tmp_path, webhook_url=f"{receiver.url}/hook")
        manager.send_alert(Alert(time.time(), AlertSeverity.WARNING, "slow", "p95 high",
                                 "custom"), [AlertChannel.WEBHOOK])
        wait_until(lambda: [r.outcome for r in manager.deliveries
                            if r.channel == "webhook"] == ["retrying", "sent"],
                   "a retry, then the delivery")
        manager.close()
        assert receiver.count() == 2


def test_what_a_closed_manager_could_not_send_is_sent_by_the_next_one(tmp_path):
    with HttpReceiver(HANG) as receiver:
        first = AlertManager(storage_path=tmp_path, webhook_url=f"{receiver.url}/hook")
        first.send_alert(Alert(time.time(), AlertSeverity.WARNING, "kept", "x", "custom"),
                         [AlertChannel.WEBHOOK])
        wait_until(lambda: receiver.count() == 1, "the first attempt")
        first.close()
    with HttpReceiver() as receiver:
        with AlertManager(storage_path=tmp_path, webhook_url=f"{receiver.url}/hook") as second:
            second.send_alert(Alert(time.time(), AlertSeverity.INFO, "new", "y", "custom"),
                              [AlertChannel.LOG])
            wait_until(lambda: receiver.count() == 1, "the kept alert sent again")
        assert receiver.received[0].json()["alerts"][0]["labels"]["alertname"] == "kept"


def test_the_old_constructor_arguments_become_channels(tmp_path):
    manager = AlertManager(
        slack_webhook_url="https://hooks.slack.invalid/T/B/X",
        email_config={"smtp_server": "mail.invalid", "smtp_port": 2525, "username": "u",
                      "password": "p", "from_addr": "ml@example.com",
                      "to_addrs": ["oncall@example.com"]},
        webhook_url="https://hooks.invalid/ml", storage_path=tmp_path)
    assert manager.channels == {"log": "log", "slack": "slack", "email": "email",
                                "webhook": "webhook"}
    manager.close()


@pytest.mark.parametrize(("channel", "settings", "message"), [
    (AlertChannel.SLACK, {}, "key 'alerts.channels.slack.webhook_url': is required"),
    (AlertChannel.WEBHOOK, {"url": "ftp://x"}, "must be an http:// or https:// URL"),
    (AlertChannel.EMAIL, {"host": "h", "from": "a@b.c", "to": "not an address"},
     "must be one e-mail address"),
    ("pager", {}, "'pager' is not a valid AlertChannel"),
    (AlertChannel.FILE, {"path": "x", "colour": "red"}, "unknown key"),
])
def test_a_wrong_channel_is_refused_when_added_naming_the_key(tmp_path, channel, settings,
                                                              message):
    with AlertManager(storage_path=tmp_path) as manager, pytest.raises(ValueError) as error:
        manager.add_channel(channel, **settings)
    assert message in str(error.value)
    assert "hooks" not in str(error.value)


def test_added_channels_are_named_and_chosen_by_type_or_name(tmp_path):
    with AlertManager(storage_path=tmp_path) as manager:
        first = manager.add_channel(AlertChannel.FILE, path=str(tmp_path / "a.jsonl"))
        second = manager.add_channel("file", path=str(tmp_path / "b.jsonl"))
        named = manager.add_channel(AlertChannel.FILE, name="ops", path=str(tmp_path / "c.jsonl"))
        assert (first, second, named) == ("file", "file-2", "ops")
        alert = Alert(time.time(), AlertSeverity.INFO, "hello", "x", "custom")
        manager.send_alert(alert, ["ops"])
        manager.send_alert(alert, [AlertChannel.FILE, "nobody", AlertChannel.SLACK])
        wait_until(lambda: all((tmp_path / f).exists() for f in ("a.jsonl", "b.jsonl")),
                   "both file channels written")
        wait_until(lambda: (tmp_path / "c.jsonl").exists()
                   and len((tmp_path / "c.jsonl").read_text().splitlines()) == 2,
                   "both alerts written to the named channel")
    assert len((tmp_path / "c.jsonl").read_text().splitlines()) == 2
    assert not (tmp_path / "alerts.jsonl").exists()


def test_recent_alerts_filter_then_take_the_last_n_and_the_summary_counts_them(tmp_path):
    with AlertManager(storage_path=tmp_path) as manager:
        now = time.time()
        for index, severity in enumerate([AlertSeverity.CRITICAL, AlertSeverity.INFO,
                                          AlertSeverity.INFO, AlertSeverity.INFO]):
            manager.send_alert(Alert(now - index, severity, f"a{index}", "m", "custom"), [])
        recent = manager.get_recent_alerts(n=2, severity=AlertSeverity.CRITICAL)
        assert [a.title for a in recent] == ["a0"]
        assert [a.title for a in manager.get_recent_alerts(n=2)] == ["a2", "a3"]
        summary = manager.get_alert_summary(hours=1)
    assert summary["total_alerts"] == 4
    assert summary["by_severity"] == {"info": 3, "warning": 0, "critical": 1}
    assert summary["by_source"] == {"custom": 4}
    assert [a["title"] for a in summary["recent_critical"]] == ["a0"]


def test_the_history_in_memory_is_bounded(tmp_path):
    with AlertManager(storage_path=tmp_path) as manager:
        for index in range(HISTORY_LIMIT + 5):
            manager.send_alert(Alert(time.time(), AlertSeverity.INFO, f"a{index}", "", "x"), [])
        assert len(manager.alert_history) == HISTORY_LIMIT
        assert manager.alert_history[0].title == "a5"


def test_only_finite_numbers_of_the_metadata_travel_as_values(tmp_path):
    with AlertManager(storage_path=tmp_path) as manager:
        manager.send_alert(Alert(time.time(), AlertSeverity.INFO, "odd", "m", "custom",
                                 metadata={"ok": 2, "huge": 10**400, "nan": float("nan"),
                                           "flag": True, "text": "3", "model": 5}))
        wait_until(lambda: logged_alerts(tmp_path), "the log line")
    (alert,) = logged_alerts(tmp_path)[0]["alerts"]
    assert alert["values"] == {"ok": 2.0, "model": 5.0}
    assert "model" not in alert["labels"]
