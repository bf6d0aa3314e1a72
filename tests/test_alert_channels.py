"""What each channel sends, as its receiver gets it: Alertmanager's webhook format, Slack's
Block Kit within Slack's limits, and whole JSON lines in a file."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from alert_receivers import (
    HttpReceiver,
    Reply,
    alert,
    eventually,
    make_certificate,
    notification,
)

from neural_tui.alerts.channels.render import rfc3339
from neural_tui.alerts.channels.slack import (
    MAX_BLOCKS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_CHARS,
    MAX_TEXT_CHARS,
    slack_messages,
)
from neural_tui.alerts.delivery import Delivery, DeliveryLimits
from neural_tui.config import ChannelSection, Secret

FAST = DeliveryLimits(backoff_initial=0.02, backoff_max=0.1)


def test_the_webhook_body_is_alertmanager_s_version_4_format(tmp_path):
    firing = alert(model="fraud", starts_at=1_700_000_000.0)
    resolved = alert(model="churn", status="resolved", starts_at=1_700_000_000.0,
                     ends_at=1_700_000_600.5)
    with HttpReceiver() as receiver:
        section = ChannelSection(type="webhook", url=Secret(f"{receiver.url}/alerts"),
                                 headers={"X-Team": Secret("ml")})
        delivery = Delivery.from_settings({"hook": section}, tmp_path)
        record = delivery.send_now(notification("hook", 1, firing, resolved))

    assert record.outcome == "sent"
    request, = receiver.received
    assert request.path == "/alerts"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Team"] == "ml"
    assert request.json() == {
        "version": "4",
        "groupKey": '{}:{alertname="drift"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "hook",
        "groupLabels": {"alertname": "drift"},
        "commonLabels": {"alertname": "drift", "severity": "warning"},
        "commonAnnotations": {"summary": "drift above 0.2"},
        "externalURL": "",
        "alerts": [
            {"status": "firing", "labels": dict(firing.labels),
             "annotations": {"summary": "drift above 0.2"},
             "startsAt": "2023-11-14T22:13:20.000Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": firing.fingerprint},
            {"status": "resolved", "labels": dict(resolved.labels),
             "annotations": {"summary": "drift above 0.2"},
             "startsAt": "2023-11-14T22:13:20.000Z", "endsAt": "2023-11-14T22:23:20.500Z",
             "generatorURL": "", "fingerprint": resolved.fingerprint},
        ],
    }


def test_a_group_whose_alerts_all_resolved_is_sent_as_resolved():
    resolved = alert(status="resolved", ends_at=1_700_000_600.0)

    assert notification("hook", 1, resolved).status == "resolved"


def test_times_from_a_log_out_of_range_are_clamped_not_raised():
    assert rfc3339(float("nan")) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(-5.0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(1e300) == "9999-12-31T23:59:59.000Z"


def test_a_slack_message_has_a_header_a_section_per_alert_and_a_plain_fallback():
    message, = slack_messages(notification("chat", 1, alert(), alert(model="churn")))

    assert message["blocks"][0] == {
        "type": "header", "text": {"type": "plain_text", "text": "[FIRING:2] drift"}}
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "section"]
    first = message["blocks"][1]["text"]
    assert first["type"] == "mrkdwn"
    assert first["text"].splitlines() == [
        ":large_orange_circle: *drift* firing",
        "model: `fraud` · severity: `warning`",
        "drift above 0.2",
        "drift_score=0.31",
        "since 2023-11-14T22:13:20.000Z",
    ]
    assert message["text"] == ("[FIRING:2] drift\nfiring: drift above 0.2 (fraud)\n"
                               "firing: drift above 0.2 (churn)")


def test_a_slack_message_escapes_what_slack_would_read_as_a_mention_or_a_link():
    hostile = alert(model="<!channel>", summary="a & b <https://evil.example|click>")

    message, = slack_messages(notification("chat", 1, hostile))

    section = message["blocks"][1]["text"]["text"]
    assert "<" not in section and ">" not in section
    assert "model: `&lt;!channel&gt;`" in section
    assert "a &amp; b &lt;https://evil.example|click&gt;" in section


def test_a_notification_too_long_for_one_slack_message_is_split_within_slack_s_limits():
    many = [alert(model=f"model-{i}", summary="s" * 500) for i in range(120)]
    huge = alert(model="huge", summary="x" * 10_000)

    messages = slack_messages(notification("chat", 1, *many, huge))

    assert len(messages) > 1
    for number, message in enumerate(messages, start=1):
        header = message["blocks"][0]["text"]["text"]
        sections = [b["text"]["text"] for b in message["blocks"][1:]]
        assert header.endswith(f"(part {number}/{len(messages)})")
        assert len(header) <= MAX_HEADER_CHARS
        assert len(message["blocks"]) <= MAX_BLOCKS
        assert all(len(s) <= MAX_SECTION_CHARS for s in sections)
        assert sum(map(len, sections)) <= MAX_MESSAGE_CHARS
        assert len(message["text"]) <= MAX_TEXT_CHARS
    shown = [b["text"]["text"] for m in messages for b in m["blocks"][1:]]
    assert len(shown) == 121
    assert shown[-1].endswith("…")


async def test_a_slack_retry_after_a_partial_failure_sends_only_the_parts_not_yet_acknowledged(
        tmp_path):
    many = [alert(model=f"model-{i}") for i in range(60)]
    with HttpReceiver(Reply(200), Reply(500)) as receiver:
        section = ChannelSection(type="slack", webhook_url=Secret(f"{receiver.url}/services/T/B/X"))
        delivery = Delivery.from_settings({"chat": section}, tmp_path, limits=FAST)
        await delivery.start()
        delivery.submit(notification("chat", 1, *many))
        await eventually(lambda: delivery.counts()[("chat", "sent")] == 1, what="sent")
        await delivery.close()

    headers = [r.json()["blocks"][0]["text"]["text"] for r in receiver.received]
    assert headers == ["[FIRING:60] drift (part 1/2)", "[FIRING:60] drift (part 2/2)",
                       "[FIRING:60] drift (part 2/2)"]


async def test_the_file_channel_writes_one_json_line_per_notification(tmp_path):
    path = tmp_path / "out" / "alerts.jsonl"
    delivery = Delivery.from_settings({"log": ChannelSection(type="file", path=path)}, tmp_path)
    await delivery.start()
    delivery.submit(notification("log", 1))
    delivery.submit(notification("log", 2, alert(status="resolved", ends_at=1_700_000_060.0)))
    await eventually(lambda: delivery.counts()[("log", "sent")] == 2, what="two sent")
    await delivery.close()

    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert first["id"] == "n-1"
    assert first["createdAt"] == "2023-11-14T22:15:01.000Z"
    assert first["status"] == "firing"
    assert first["alerts"][0]["values"] == {"drift_score": 0.31}
    assert second["status"] == "resolved"
    assert second["alerts"][0]["endsAt"] == "2023-11-14T22:14:20.000Z"


async def test_two_channels_appending_to_one_file_never_interleave_lines(tmp_path):
    path = tmp_path / "alerts.jsonl"
    long_alert = alert(summary="y" * 100_000)
    delivery = Delivery.from_settings(
        {"a": ChannelSection(type="file", path=path), "b": ChannelSection(type="file", path=path)},
        tmp_path)
    await delivery.start()
    for number in range(30):
        delivery.submit(notification("a", number, long_alert))
        delivery.submit(replace(notification("b", number, long_alert), id=f"b-{number}"))
    await eventually(lambda: sum(delivery.counts()[(c, "sent")] for c in "ab") == 60,
                     what="sixty lines")
    await delivery.close()

    lines = path.read_text().splitlines()
    assert len(lines) == 60
    assert all(json.loads(line)["alerts"][0]["annotations"]["summary"] == "y" * 100_000
               for line in lines)


async def test_a_file_that_cannot_be_written_is_retried(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    section = ChannelSection(type="file", path=blocker / "alerts.jsonl")
    delivery = Delivery.from_settings({"log": section}, tmp_path)

    record = await asyncio.to_thread(delivery.send_now, notification("log", 1))

    assert record.outcome == "retrying"
    assert record.detail.startswith("cannot append to the file")


def test_an_https_receiver_signed_by_a_private_ca_is_trusted_through_ca_file(tmp_path):
    cert, key = make_certificate(tmp_path)
    with HttpReceiver(tls=(cert, key)) as receiver:
        trusting = ChannelSection(type="webhook", url=Secret(receiver.url), ca_file=cert)
        default = ChannelSection(type="webhook", url=Secret(receiver.url))
        delivery = Delivery.from_settings({"trusting": trusting, "default": default}, tmp_path)
        sent = delivery.send_now(notification("trusting", 1))
        refused = delivery.send_now(notification("default", 2))

    assert sent.outcome == "sent"
    assert (refused.outcome, refused.detail) == ("retrying", "cannot connect: ConnectError")
    assert receiver.count() == 1
