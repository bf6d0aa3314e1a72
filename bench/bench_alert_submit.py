"""What `Delivery.submit` costs the event loop, against serialising the same notifications.

    .venv/bin/python bench/bench_alert_submit.py [--notifications N] [--alerts A]

Times, in one process, on N notifications of A alerts each:

- baseline: `orjson.dumps(notification_to_json(n))`, the serialisation every submit does;
- submit: `Delivery.submit(n)` on a started delivery whose one webhook channel points at a
  closed port (so nothing drains: every notification stays queued and goes to the outbox).

and prints notifications/s for each, their ratio, and the longest the event loop was held
after the submits, while the outbox is written (a 1 ms ticker's worst lateness): the writes
run in a thread, so it stays near the ticker's own noise.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from pathlib import Path

import orjson

from neural_tui.alerts.delivery import Delivery, DeliveryLimits, notification_to_json
from neural_tui.alerts.notification import Alert, Notification
from neural_tui.config import ChannelSection, Secret


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def notifications(count: int, alerts: int) -> list[Notification]:
    return [
        Notification(
            id=f"n-{i}", channel="hook", group_key=f"g-{i % 10}",
            group_labels={"alertname": "drift"}, created_at=1_700_000_000.0 + i,
            alerts=tuple(Alert(labels={"alertname": "drift", "model": f"model-{j}",
                                       "severity": "warning"},
                               annotations={"summary": "drift above 0.2"}, status="firing",
                               starts_at=1_700_000_000.0, values={"drift_score": 0.31})
                         for j in range(alerts)))
        for i in range(count)
    ]


async def ticker(lateness: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        lateness.append(time.perf_counter() - before - 0.001)


async def run(count: int, alerts: int) -> None:
    batch = notifications(count, alerts)
    start = time.perf_counter()
    for notification in batch:
        orjson.dumps(notification_to_json(notification))
    baseline = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as storage:
        section = ChannelSection(type="webhook", url=Secret(f"http://127.0.0.1:{closed_port()}"))
        delivery = Delivery.from_settings(
            {"hook": section}, Path(storage),
            limits=DeliveryLimits(max_pending=count + 1, max_pending_bytes=2**31,
                                  backoff_initial=60))
        await delivery.start()
        lateness: list[float] = []
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(lateness, stop))
        await asyncio.sleep(0.01)
        start = time.perf_counter()
        for notification in batch:
            delivery.submit(notification)
        submitted = time.perf_counter() - start
        lateness.clear()
        outbox = Path(storage) / "alerts" / "outbox" / "hook"
        while await asyncio.to_thread(lambda: len(list(outbox.glob("*.json")))) < count:
            await asyncio.sleep(0.05)
        stop.set()
        await tick
        await delivery.close()

    print(f"notifications: {count} of {alerts} alert(s)")
    print(f"baseline (serialise): {count / baseline:12,.0f} /s")
    print(f"submit:               {count / submitted:12,.0f} /s")
    print(f"ratio submit/baseline time: {submitted / baseline:.2f}")
    print(f"longest event-loop hold while the outbox was written: {max(lateness) * 1000:.1f} ms "
          f"({len(lateness)} ticks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.notifications, args.alerts))


if __name__ == "__main__":
    main()
