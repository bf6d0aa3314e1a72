"""The Alertmanager channel against a real Alertmanager: it lists the alert while it fires,
keeps it alive by re-sending, and resolves it when told; its own webhook notifications then
have the shape our webhook channel writes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime

import pytest
from alert_receivers import HttpReceiver, alert, eventually, notification

from neural_tui.alerts.channels import build_channel
from neural_tui.alerts.channels.alertmanager import ENDS_AFTER_SECONDS
from neural_tui.alerts.channels.render import webhook_body
from neural_tui.alerts.delivery import OUTBOX_FOLDER, Delivery, DeliveryLimits
from neural_tui.config import ChannelSection, Secret

pytestmark = pytest.mark.real_server

FAST = DeliveryLimits(backoff_initial=0.05, backoff_max=0.2)


def seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def delivery_to(url: str, storage, refresh: float | None = None) -> Delivery:
    channel = build_channel("am", ChannelSection(type="alertmanager", url=Secret(url)),
                            storage / OUTBOX_FOLDER / "am")
    if refresh is not None:
        channel.refresh_interval = refresh
    return Delivery([channel], storage, limits=FAST)


async def listed(alertmanager) -> list[dict]:
    return await asyncio.to_thread(alertmanager.alerts)


async def test_alertmanager_lists_the_firing_alert_then_sends_its_resolution(
        tmp_path, start_alertmanager):
    with HttpReceiver() as hook:
        alertmanager = start_alertmanager(hook.url)
        delivery = delivery_to(alertmanager.url, tmp_path)
        await delivery.start()
        firing = alert(starts_at=time.time() - 60)
        posted_at = time.time()
        delivery.submit(notification("am", 1, firing))
        await eventually(lambda: delivery.counts()[("am", "sent")] == 1, what="posted")
        active = await listed(alertmanager)

        delivery.submit(notification("am", 2, replace(firing, status="resolved",
                                                      ends_at=time.time())))
        await eventually(lambda: delivery.counts()[("am", "sent")] == 2, what="resolution")
        after = await listed(alertmanager)
        await eventually(lambda: any(r.json()["status"] == "resolved" for r in hook.received),
                         timeout=20, what="Alertmanager's resolved notification")
        await delivery.close()

    assert [a["labels"] for a in active] == [dict(firing.labels)]
    assert active[0]["status"]["state"] == "active"
    assert active[0]["annotations"] == {"summary": "drift above 0.2"}
    assert seconds(active[0]["endsAt"]) >= posted_at + ENDS_AFTER_SECONDS - 1
    assert after == []
    resolved = next(r.json() for r in hook.received if r.json()["status"] == "resolved")
    assert resolved["alerts"][0]["labels"] == dict(firing.labels)


async def test_a_firing_alert_is_re_sent_with_a_later_end_also_after_a_restart(
        tmp_path, start_alertmanager):
    with HttpReceiver() as hook:
        alertmanager = start_alertmanager(hook.url)
        first = delivery_to(alertmanager.url, tmp_path)
        await first.start()
        first.submit(notification("am", 1, alert(starts_at=time.time() - 60)))
        await eventually(lambda: first.counts()[("am", "sent")] == 1, what="posted")
        await first.close()
        initial_end = seconds((await listed(alertmanager))[0]["endsAt"])
        await asyncio.sleep(1.1)

        second = delivery_to(alertmanager.url, tmp_path, refresh=0.2)
        await second.start()
        ends: list[float] = []

        async def refreshed() -> bool:
            ends[:] = [seconds(a["endsAt"]) for a in await listed(alertmanager)]
            return bool(ends) and ends[0] >= initial_end + 1

        deadline = time.monotonic() + 10
        while not await refreshed() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await second.close()

    assert len(ends) == 1
    assert ends[0] >= initial_end + 1


async def test_alertmanager_s_own_webhook_has_the_shape_our_webhook_channel_writes(
        tmp_path, start_alertmanager):
    with HttpReceiver() as hook:
        alertmanager = start_alertmanager(hook.url)
        delivery = delivery_to(alertmanager.url, tmp_path)
        await delivery.start()
        sent = notification("am", 1, alert(starts_at=time.time() - 60))
        delivery.submit(sent)
        await eventually(lambda: hook.count() >= 1, timeout=20, what="Alertmanager's webhook")
        await delivery.close()

    theirs = hook.received[0].json()
    ours = webhook_body(sent, "hook")
    assert set(ours) == set(theirs)
    assert set(ours["alerts"][0]) == set(theirs["alerts"][0])
    assert ours["version"] == theirs["version"] == "4"
    assert ours["commonLabels"] == theirs["commonLabels"]
