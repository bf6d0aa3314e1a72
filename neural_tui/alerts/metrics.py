"""`neural_alerts_firing`: a prometheus-client Collector over the latest `AlertsView`.

A collector of its own (not a family of the snapshot exporter) so that the headless process
registers it beside the snapshot metrics only when it runs the alerting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from neural_tui.alerts.view import AlertsView

FIRING_LABELS = ("rule", "severity", "model")


def firing_family(view: AlertsView) -> GaugeMetricFamily:
    """Firing alerts (silenced, inhibited and acknowledged ones included: they still fire) by
    rule, severity and model; pending ones are not counted."""
    family = GaugeMetricFamily(
        "neural_alerts_firing",
        "Alerts firing now, by rule (alertname), severity and model.",
        labels=FIRING_LABELS,
    )
    counts = Counter(
        tuple(entry.alert.labels.get(label, "") for label in ("alertname", "severity", "model"))
        for entry in view.current if entry.state == "firing"
    )
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), float(count))
    return family


class AlertsCollector:
    """Reads `get_view()` once per scrape (an immutable view: no lock needed)."""

    def __init__(self, get_view: Callable[[], AlertsView]) -> None:
        self._get_view = get_view

    def describe(self) -> Iterator[Metric]:
        yield firing_family(AlertsView.empty())

    def collect(self) -> Iterator[Metric]:
        yield firing_family(self._get_view())
