"""`neural_alert_notifications_total{channel,outcome}`: every delivery attempt and drop.

A prometheus-client Collector of its own, registered beside the snapshot collector on the
metrics server's registry (`register_delivery_metrics`), so the exporter module needs no
knowledge of alerting. It reads `Delivery.counts()` at each scrape, from the HTTP server's
thread; the counts are copied under a lock. Every configured channel has a sample for each
outcome from the start (0), so `rate()` and `increase()` see the first attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from neural_tui.safe_text import plain

NOTIFICATIONS = "neural_alert_notifications"
"""The counter's name without `_total` (prometheus-client adds it)."""
HELP = ("Notification delivery attempts per channel and outcome: sent (acknowledged), retrying "
        "(failed, will be tried again), failed (given up or rejected), dropped (queue full)")


class DeliveryCollector(Collector):
    def __init__(self, counts: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        self._counts = counts

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(NOTIFICATIONS, HELP, labels=["channel", "outcome"])

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(NOTIFICATIONS, HELP, labels=["channel", "outcome"])
        for (channel, outcome), count in sorted(self._counts().items()):
            family.add_metric([plain(channel), outcome], float(count))
        yield family


def register_delivery_metrics(registry: CollectorRegistry,
                              counts: Callable[[], Mapping[tuple[str, str], int]]) -> None:
    """Add the counter to `registry` (the metrics server's `registry`)."""
    registry.register(DeliveryCollector(counts))
