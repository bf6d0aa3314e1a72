"""Delivery: submit never waits, each channel retries on its own, and the outbox on disk
makes every notification arrive once, across failures and restarts (against a real local
HTTP receiver and the file channel)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from alert_receivers import HANG, HttpReceiver, Reply, alert, eventually, notification
from prometheus_client import CollectorRegistry, generate_latest

from neural_tui.alerts.channels.http import parse_retry_after
from neural_tui.alerts.delivery import Delivery, DeliveryLimits, DeliveryListener
from neural_tui.alerts.delivery_metrics import register_delivery_metrics
from neural_tui.alerts.notification import Notification
from neural_tui.alerts.view import DeliveryRecord
from neural_tui.config import ChannelSection, Secret

FAST = DeliveryLimits(backoff_initial=0.02, backoff_max=0.1)


def webhook(url: str, timeout: float = 5.0, **headers: str) -> ChannelSection:
    return ChannelSection(type="webhook", url=Secret(url), timeout_seconds=timeout,
                          headers={k: Secret(v) for k, v in headers.items()})


def file_channel(path: Path) -> ChannelSection:
    return ChannelSection(type="file", path=path)


class Records:
    """The listener: every (notification id, record) in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, DeliveryRecord]] = []

    def __call__(self, notification: Notification, record: DeliveryRecord) -> None:
        self.seen.append((notification.id, record))

    def outcomes(self) -> list[tuple[str, str]]:
        return [(nid, record.outcome) for nid, record in self.seen]


def outbox_files(storage: Path, channel: str) -> list[str]:
    folder = storage / "alerts" / "outbox" / channel
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


@asynccontextmanager
async def running(channels: dict[str, ChannelSection], storage: Path, *,
                  listener: DeliveryListener | None = None,
                  limits: DeliveryLimits | None = None) -> AsyncIterator[Delivery]:
    """A started Delivery for the block, closed on leaving it (even when the block fails, so a
    failing test leaves no worker behind)."""
    delivery = Delivery.from_settings(channels, storage, listener=listener, limits=limits)
    await delivery.start()
    try:
        yield delivery
    finally:
        await delivery.close()


async def test_a_500_then_a_200_is_delivered_once_and_both_attempts_are_counted(tmp_path):
    records = Records()
    with HttpReceiver(Reply(500, b"busy")) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=FAST) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: records.outcomes()[-1:] == [("n-1", "sent")], what="sent")
            delivery.submit(notification("hook", 2))  # sent after any further attempt of n-1
            await eventually(lambda: records.outcomes()[-1:] == [("n-2", "sent")], what="n-2 sent")

    assert receiver.count() == 3
    assert receiver.received[0].body == receiver.received[1].body
    assert records.outcomes() == [("n-1", "retrying"), ("n-1", "sent"), ("n-2", "sent")]
    assert records.seen[0][1].detail.startswith("HTTP 500: busy; next attempt in")
    assert records.seen[1][1].attempts == 2
    assert delivery.counts()[("hook", "retrying")] == 1
    assert delivery.counts()[("hook", "sent")] == 2
    assert outbox_files(tmp_path, "hook") == []


async def test_every_attempt_is_exported_as_neural_alert_notifications_total(tmp_path):
    records = Records()
    with HttpReceiver(Reply(503), Reply(503)) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=FAST) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: ("n-1", "sent") in records.outcomes(), what="sent")
    registry = CollectorRegistry()
    register_delivery_metrics(registry, delivery.counts)

    text = generate_latest(registry).decode()

    assert 'neural_alert_notifications_total{channel="hook",outcome="retrying"} 2.0' in text
    assert 'neural_alert_notifications_total{channel="hook",outcome="sent"} 1.0' in text
    assert 'neural_alert_notifications_total{channel="hook",outcome="failed"} 0.0' in text
    assert 'neural_alert_notifications_total{channel="hook",outcome="dropped"} 0.0' in text


async def test_a_429_with_retry_after_is_waited_out_before_the_next_attempt(tmp_path):
    records = Records()
    with HttpReceiver(Reply(429, b"slow down", {"Retry-After": "1"})) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=FAST) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: ("n-1", "sent") in records.outcomes(), what="sent")

    first, second = receiver.received
    assert second.at - first.at >= 1.0
    assert records.seen[0][1].detail == "HTTP 429: slow down; next attempt in 1 s"


async def test_a_retry_after_far_in_the_future_is_bounded(tmp_path):
    limits = DeliveryLimits(backoff_initial=0.02, max_retry_after=0.2)
    records = Records()
    with HttpReceiver(Reply(429, headers={"Retry-After": "9" * 40})) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=limits) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: ("n-1", "sent") in records.outcomes(), what="sent")

    assert receiver.count() == 2


def test_retry_after_is_read_in_seconds_and_as_an_http_date():
    now = datetime(2026, 12, 2, 5, 0, 0, tzinfo=UTC).timestamp()
    in_30_s = format_datetime(datetime(2026, 12, 2, 5, 0, 30, tzinfo=UTC), usegmt=True)
    a_minute_ago = format_datetime(datetime(2026, 12, 2, 4, 59, 0, tzinfo=UTC), usegmt=True)

    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 7 ", now) == 7.0
    assert parse_retry_after(in_30_s, now) == 30.0
    assert parse_retry_after(a_minute_ago, now) == 0.0
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("Wed, 02 Dec 2026 05:00:30", now) is None
    assert parse_retry_after(None, now) is None


async def test_a_4xx_rejection_is_not_retried(tmp_path):
    records = Records()
    with HttpReceiver(Reply(400, b"invalid_payload")) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=FAST) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: records.seen, what="an outcome")
            delivery.submit(notification("hook", 2))  # sent after any further attempt of n-1
            await eventually(lambda: ("n-2", "sent") in records.outcomes(), what="n-2 sent")

    assert receiver.count() == 2
    assert records.outcomes() == [("n-1", "failed"), ("n-2", "sent")]
    assert records.seen[0][1].detail == "HTTP 400: invalid_payload"
    assert outbox_files(tmp_path, "hook") == []


async def test_retries_back_off_exponentially_with_jitter(tmp_path):
    limits = DeliveryLimits(backoff_initial=0.1, backoff_max=10)
    records = Records()
    with HttpReceiver(Reply(500), Reply(500), Reply(500)) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=limits) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: ("n-1", "sent") in records.outcomes(), what="sent")

    times = [r.at for r in receiver.received]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Each wait is at least half of 0.1 s * 2^(attempt - 1).
    assert [gap >= low for gap, low in zip(gaps, [0.05, 0.1, 0.2], strict=True)] == [True] * 3


async def test_a_notification_still_failing_after_give_up_after_fails(tmp_path):
    limits = DeliveryLimits(backoff_initial=0.02, backoff_max=0.05, give_up_after=0.3)
    records = Records()
    with HttpReceiver(default=Reply(500)) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=limits) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: ("n-1", "failed") in records.outcomes(), what="given up")

    assert "gave up after" in records.seen[-1][1].detail
    assert outbox_files(tmp_path, "hook") == []


async def test_a_receiver_that_never_answers_delays_neither_submit_nor_another_channel(tmp_path):
    records = Records()
    lines = tmp_path / "alerts.jsonl"
    with HttpReceiver(default=HANG) as receiver:
        async with running(
                {"stuck": webhook(receiver.url, timeout=30), "log": file_channel(lines)},
                tmp_path, listener=records, limits=FAST) as delivery:
            delivery.submit(notification("stuck", 1))
            await eventually(lambda: receiver.count() == 1, what="the stuck receiver's request")
            for number in range(2, 12):
                delivery.submit(notification("stuck", number))
                delivery.submit(notification("log", number))
            await eventually(lambda: lines.exists() and len(lines.read_text().splitlines()) == 10,
                             what="ten lines in the file")
            await eventually(lambda: len(records.seen) == 10,
                             what="ten outcomes reported (each after its line is written)")
            stuck_pending = delivery.pending("stuck")
            await eventually(lambda: len(outbox_files(tmp_path, "stuck")) == 11,
                             what="the stuck channel's notifications on disk")

    assert receiver.count() == 1
    assert stuck_pending == 11
    assert [nid for nid, _ in records.seen] == [f"n-{n}" for n in range(2, 12)]


async def test_a_hung_file_channel_holds_one_thread_and_never_asyncios_default_executor(
        tmp_path, monkeypatch):
    release = threading.Event()
    appends: list[bytes] = []

    def hung_append(path: Path, line: bytes) -> None:
        appends.append(line)
        release.wait(60)

    monkeypatch.setattr("neural_tui.alerts.channels.file.append_line", hung_append)
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4))
    records = Records()
    section = ChannelSection(type="file", path=tmp_path / "alerts.jsonl", timeout_seconds=0.5)
    delivery = Delivery.from_settings({"log": section}, tmp_path, listener=records, limits=FAST)
    try:
        await delivery.start()
        delivery.submit(notification("log", 1))
        await eventually(lambda: len(records.seen) >= 6, what="six attempts", timeout=30)
        await asyncio.wait_for(asyncio.to_thread(lambda: None), timeout=10)
        await delivery.close()
    finally:
        release.set()

    assert len(appends) == 1
    assert {record.outcome for _, record in records.seen} == {"retrying"}
    assert records.seen[0][1].detail.startswith("no answer within 0.5 s")
    assert records.seen[-1][1].detail.startswith("the previous attempt has not ended yet")


async def test_submit_from_another_thread_is_queued_on_the_loop(tmp_path):
    lines = tmp_path / "alerts.jsonl"
    async with running({"log": file_channel(lines)}, tmp_path, limits=FAST) as delivery:
        threads = [threading.Thread(target=delivery.submit, args=(notification("log", n),))
                   for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        await eventually(lambda: lines.exists() and len(lines.read_text().splitlines()) == 20,
                         what="twenty lines")

    ids = sorted(json.loads(line)["id"] for line in lines.read_text().splitlines())
    assert ids == sorted(f"n-{n}" for n in range(20))


async def test_two_deliveries_on_one_storage_keep_each_others_outbox_entries(tmp_path):
    with HttpReceiver(default=Reply(503)) as down:
        first = Delivery.from_settings({"hook": webhook(down.url)}, tmp_path,
                                       limits=DeliveryLimits(backoff_initial=10))
        second = Delivery.from_settings({"hook": webhook(down.url)}, tmp_path,
                                        limits=DeliveryLimits(backoff_initial=10))
        await first.start()
        await second.start()
        for number in range(3):
            first.submit(notification("hook", number))
            second.submit(notification("hook", 10 + number))
        await eventually(lambda: len(outbox_files(tmp_path, "hook")) == 6,
                         what="six entries in the outbox")
        await first.close()
        await second.close()

    records = Records()
    with HttpReceiver() as up:
        async with running({"hook": webhook(up.url)}, tmp_path, listener=records):
            await eventually(lambda: len(records.seen) == 6, what="six notifications sent")

    sent = [nid for nid, _ in records.seen]
    assert sorted(sent) == sorted(f"n-{n}" for n in (0, 1, 2, 10, 11, 12))
    assert [nid for nid in sent if nid in ("n-0", "n-1", "n-2")] == ["n-0", "n-1", "n-2"]
    assert outbox_files(tmp_path, "hook") == []


async def test_the_outbox_survives_a_restart_and_nothing_acknowledged_is_sent_again(tmp_path):
    with HttpReceiver(default=Reply(503)) as down:
        async with running({"hook": webhook(down.url)}, tmp_path,
                           limits=DeliveryLimits(backoff_initial=10)) as first:
            first.submit(notification("hook", 1))
            first.submit(notification("hook", 2))
            await eventually(lambda: down.count() == 1 and len(outbox_files(tmp_path, "hook")) == 2,
                             what="two notifications in the outbox")

    with HttpReceiver() as up:
        records = Records()
        async with running({"hook": webhook(up.url)}, tmp_path, listener=records,
                           limits=FAST) as second:
            second.submit(notification("hook", 3))
            await eventually(lambda: len(records.seen) == 3, what="three sent")
        async with running({"hook": webhook(up.url)}, tmp_path, limits=FAST) as third:
            third.submit(notification("hook", 4))  # queued behind whatever the outbox held
            await eventually(lambda: third.counts()[("hook", "sent")] >= 1, what="n-4 sent")

    assert [r.json()["alerts"][0]["labels"]["alertname"] for r in up.received] == ["drift"] * 4
    assert [nid for nid, _ in records.seen] == ["n-1", "n-2", "n-3"]
    assert third.counts()[("hook", "sent")] == 1
    assert outbox_files(tmp_path, "hook") == []


async def test_notifications_submitted_before_start_are_kept_by_close_for_the_next_run(tmp_path):
    lines = tmp_path / "alerts.jsonl"
    unstarted = Delivery.from_settings({"log": file_channel(lines)}, tmp_path)
    unstarted.submit(notification("log", 1))
    unstarted.submit(notification("log", 2))
    await unstarted.close()

    async with running({"log": file_channel(lines)}, tmp_path):
        await eventually(lambda: lines.exists() and len(lines.read_text().splitlines()) == 2,
                         what="two lines")

    assert [json.loads(line)["id"] for line in lines.read_text().splitlines()] == ["n-1", "n-2"]


async def test_a_full_queue_drops_the_oldest_and_counts_it(tmp_path):
    lines = tmp_path / "alerts.jsonl"
    records = Records()
    delivery = Delivery.from_settings({"log": file_channel(lines)}, tmp_path, listener=records,
                                      limits=DeliveryLimits(max_pending=2))
    for number in (1, 2, 3):
        delivery.submit(notification("log", number))
    await delivery.start()
    await eventually(lambda: len(records.seen) == 3, what="three outcomes")
    await delivery.close()

    assert records.outcomes() == [("n-1", "dropped"), ("n-2", "sent"), ("n-3", "sent")]
    assert delivery.counts()[("log", "dropped")] == 1
    assert [json.loads(line)["id"] for line in lines.read_text().splitlines()] == ["n-2", "n-3"]


async def test_a_notification_larger_than_the_byte_bound_is_dropped(tmp_path):
    records = Records()
    delivery = Delivery.from_settings({"log": file_channel(tmp_path / "a.jsonl")}, tmp_path,
                                      listener=records, limits=DeliveryLimits(
                                          max_pending_bytes=10_000))
    delivery.submit(notification("log", 1, alert(summary="x" * 20_000)))

    assert records.outcomes() == [("n-1", "dropped")]
    assert delivery.pending("log") == 0


async def test_the_same_notification_submitted_twice_is_queued_once(tmp_path):
    lines = tmp_path / "alerts.jsonl"
    delivery = Delivery.from_settings({"log": file_channel(lines)}, tmp_path)
    delivery.submit(notification("log", 1))
    delivery.submit(notification("log", 1))

    assert delivery.pending("log") == 1


async def test_an_unreadable_outbox_entry_is_set_aside_and_the_others_are_sent(tmp_path, caplog):
    lines = tmp_path / "alerts.jsonl"
    first = Delivery.from_settings({"log": file_channel(lines)}, tmp_path)
    first.submit(notification("log", 1))
    first.submit(notification("log", 2))
    await first.close()
    folder = tmp_path / "alerts" / "outbox" / "log"
    oldest = sorted(folder.glob("*.json"))[0]
    oldest.write_text('{"id": "n-1", "alerts": [')

    second = Delivery.from_settings({"log": file_channel(lines)}, tmp_path)
    with caplog.at_level(logging.WARNING):
        await second.start()
        await eventually(lambda: lines.exists(), what="a line")
        await second.close()

    assert [json.loads(line)["id"] for line in lines.read_text().splitlines()] == ["n-2"]
    assert oldest.with_suffix(".bad").exists()
    assert "unreadable outbox entry set aside" in caplog.text


async def test_errors_and_logs_never_show_the_url_or_a_header_value(tmp_path, caplog):
    records = Records()
    with HttpReceiver(Reply(401, b"bad token"), Reply(500)) as receiver:
        section = webhook(f"{receiver.url}/hooks/T0KEN-IN-PATH", Authorization="Bearer S3CRET")
        delivery = Delivery.from_settings({"hook": section}, tmp_path, listener=records,
                                          limits=FAST)
        with caplog.at_level(logging.DEBUG):
            await delivery.start()
            delivery.submit(notification("hook", 1))
            await eventually(lambda: records.seen, what="an outcome")
            await delivery.close()
        record = delivery.send_now(notification("hook", 2))

    assert receiver.received[0].headers["Authorization"] == "Bearer S3CRET"
    assert receiver.received[0].path == "/hooks/T0KEN-IN-PATH"
    shown = caplog.text + repr(records.seen) + repr(record) + repr(section)
    assert "T0KEN-IN-PATH" not in shown
    assert "S3CRET" not in shown


async def test_an_unexpected_error_is_logged_by_its_type_without_the_secret_it_quotes(
        tmp_path, caplog):
    records = Records()
    section = webhook("http://h:99999SEKRET123/")
    delivery = Delivery.from_settings({"hook": section}, tmp_path, listener=records, limits=FAST)
    with caplog.at_level(logging.DEBUG):
        await delivery.start()
        delivery.submit(notification("hook", 1))
        await eventually(lambda: records.seen, what="an outcome")
        await delivery.close()
        record = await asyncio.to_thread(delivery.send_now, notification("hook", 2))

    assert records.outcomes() == [("n-1", "failed")]
    assert record.detail == "internal error: InvalidURL"
    assert "channel hook failed unexpectedly: InvalidURL" in caplog.text
    assert "SEKRET123" not in caplog.text + repr(records.seen) + repr(record)


def test_send_now_reports_the_outcome_of_one_attempt(tmp_path):
    with HttpReceiver(Reply(200), Reply(404, b"no_service")) as receiver:
        delivery = Delivery.from_settings({"hook": webhook(receiver.url)}, tmp_path)
        sent = delivery.send_now(notification("hook", 1))
        refused = delivery.send_now(notification("hook", 2))
    unknown = delivery.send_now(notification("nowhere", 3))

    assert (sent.outcome, sent.attempts, sent.detail) == ("sent", 1, "")
    assert (refused.outcome, refused.detail) == ("failed", "HTTP 404: no_service")
    assert (unknown.outcome, unknown.detail) == ("failed", "no such channel")
    assert delivery.counts()[("hook", "sent")] == 1
    assert delivery.counts()[("hook", "failed")] == 1
    assert outbox_files(tmp_path, "hook") == []


async def test_send_now_works_from_a_thread_running_an_event_loop(tmp_path):
    with HttpReceiver() as receiver:
        delivery = Delivery.from_settings({"hook": webhook(receiver.url)}, tmp_path)
        record = delivery.send_now(notification("hook", 1))

    assert record.outcome == "sent"


def test_a_notification_for_an_unknown_channel_is_logged_and_dropped(tmp_path, caplog):
    delivery = Delivery.from_settings({}, tmp_path)
    with caplog.at_level(logging.ERROR):
        delivery.submit(notification("nowhere\x1b[2J", 1))

    assert "unknown channel nowhere\u241b[2J" in caplog.text


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_statuses_worth_retrying_are_retried(tmp_path, status):
    records = Records()
    with HttpReceiver(Reply(status)) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=FAST) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: ("n-1", "sent") in records.outcomes(), what="sent")

    assert records.outcomes() == [("n-1", "retrying"), ("n-1", "sent")]


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 410, 413])
def test_statuses_that_retrying_cannot_change_fail_at_once(tmp_path, status):
    with HttpReceiver(Reply(status, b"")) as receiver:
        delivery = Delivery.from_settings({"hook": webhook(receiver.url)}, tmp_path)
        record = delivery.send_now(notification("hook", 1))

    assert (record.outcome, record.detail) == ("failed", f"HTTP {status}")


def test_a_closed_port_is_worth_retrying(tmp_path):
    from realservers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    delivery = Delivery.from_settings({"hook": webhook(url)}, tmp_path)
    record = delivery.send_now(notification("hook", 1))

    assert (record.outcome, record.detail) == ("retrying", "cannot connect: ConnectError")


@pytest.mark.parametrize("name", ["..", "a/b", ""])
def test_a_channel_whose_name_could_leave_the_outbox_folder_is_refused(tmp_path, name):
    from neural_tui.alerts.channels.file import FileChannel

    channel = FileChannel(name, file_channel(tmp_path / "a.jsonl"))
    with pytest.raises(ValueError, match="is not valid or not unique"):
        Delivery([channel], tmp_path)


async def test_a_notification_acknowledged_just_before_close_is_not_sent_by_the_next_run(
        tmp_path):
    lines = tmp_path / "alerts.jsonl"
    closing: list[asyncio.Task] = []

    def close_at_once(notification: Notification, record: DeliveryRecord) -> None:
        closing.append(asyncio.get_running_loop().create_task(first.close()))

    first = Delivery.from_settings({"log": file_channel(lines)}, tmp_path,
                                   listener=close_at_once)
    await first.start()
    first.submit(notification("log", 1))
    await eventually(lambda: closing, what="the acknowledgement")
    await closing[0]
    leftover = outbox_files(tmp_path, "log")
    async with running({"log": file_channel(lines)}, tmp_path) as second:
        second.submit(notification("log", 2))  # queued behind whatever the outbox held
        await eventually(lambda: second.counts()[("log", "sent")] >= 1, what="n-2 sent")

    assert leftover == []
    assert [json.loads(line)["id"] for line in lines.read_text().splitlines()] == ["n-1", "n-2"]


async def test_a_notification_both_in_the_outbox_and_submitted_again_before_start_is_sent_once(
        tmp_path):
    lines = tmp_path / "alerts.jsonl"
    first = Delivery.from_settings({"log": file_channel(lines)}, tmp_path)
    first.submit(notification("log", 1))
    await first.close()

    second = Delivery.from_settings({"log": file_channel(lines)}, tmp_path)
    second.submit(notification("log", 1))
    second.submit(notification("log", 2))
    await second.start()
    await eventually(lambda: second.counts()[("log", "sent")] == 2, what="two sent")
    await second.close()

    assert [json.loads(line)["id"] for line in lines.read_text().splitlines()] == ["n-1", "n-2"]
    assert outbox_files(tmp_path, "log") == []


async def test_a_label_from_a_log_that_is_not_valid_utf8_is_sent_with_a_replacement(tmp_path):
    lines = tmp_path / "alerts.jsonl"
    delivery = Delivery.from_settings({"log": file_channel(lines)}, tmp_path)
    broken = alert(model="fraud\ud800", summary="drift \udfff high")

    delivery.submit(notification("log", 1, broken))
    record = delivery.send_now(notification("log", 2, broken))
    await delivery.start()
    await eventually(lambda: delivery.counts()[("log", "sent")] == 2, what="two sent")
    await delivery.close()

    assert record.outcome == "sent"
    for line in lines.read_text().splitlines():
        sent = json.loads(line)["alerts"][0]
        assert (sent["labels"]["model"], sent["annotations"]["summary"]) == (
            "fraud?", "drift ? high")


async def test_a_429_with_an_http_date_retry_after_is_waited_out(tmp_path):
    until = math.ceil(time.time()) + 2
    when = format_datetime(datetime.fromtimestamp(until, UTC), usegmt=True)
    records = Records()
    with HttpReceiver(Reply(429, headers={"Retry-After": when})) as receiver:
        async with running({"hook": webhook(receiver.url)}, tmp_path,
                           listener=records, limits=FAST) as delivery:
            delivery.submit(notification("hook", 1))
            await eventually(lambda: ("n-1", "sent") in records.outcomes(), what="sent")

    first, second = receiver.received
    assert second.at - first.at >= 1.0
    assert time.time() >= until


async def test_a_half_written_outbox_entry_left_by_a_crash_is_removed_not_sent(tmp_path):
    lines = tmp_path / "alerts.jsonl"
    folder = tmp_path / "alerts" / "outbox" / "log"
    folder.mkdir(parents=True)
    crashed = folder / "01700000000000000000-000000007-00112233aabbccdd.tmp"
    crashed.write_text('{"id": "n-7", "chan')
    os.utime(crashed, (time.time() - 7200, time.time() - 7200))
    being_written = folder / f"{time.time_ns():020d}-000000003-8899aabbccddeeff.tmp"
    being_written.write_text('{"id": "n-3", "chan')

    async with running({"log": file_channel(lines)}, tmp_path) as delivery:
        delivery.submit(notification("log", 1))
        await eventually(lambda: delivery.counts()[("log", "sent")] == 1, what="sent")

    assert sorted(p.name for p in folder.iterdir()) == [being_written.name]
    assert [json.loads(line)["id"] for line in lines.read_text().splitlines()] == ["n-1"]
