"""`neural_alerts_firing`: firing alerts by rule, severity and model, from the latest view."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from neural_tui.alerts.metrics import AlertsCollector
from neural_tui.alerts.notification import Alert
from neural_tui.alerts.view import AlertEntry, AlertsView


def entry(rule: str, severity: str, model: str, state: str = "firing", **extra: object
          ) -> AlertEntry:
    labels = {"alertname": rule, "severity": severity, "model": model, "version": "1"}
    return AlertEntry(alert=Alert(labels, {}, "firing", 0.0), state=state,  # type: ignore[arg-type]
                      since=0.0, **extra)  # type: ignore[arg-type]


def scrape(view: AlertsView) -> str:
    registry = CollectorRegistry()
    registry.register(AlertsCollector(lambda: view))
    return generate_latest(registry).decode()


def test_firing_alerts_are_counted_by_rule_severity_and_model_silenced_ones_included():
    view = AlertsView(generated_at=0.0, current=(
        entry("latency", "warning", "fraud"),
        entry("latency", "warning", "fraud", silenced_by="s1"),
        entry("latency", "critical", "fraud", acknowledged_by="ana"),
        entry("errors", "warning", "churn", state="pending"),
    ))
    lines = [line for line in scrape(view).splitlines() if not line.startswith("#")]
    assert sorted(lines) == [
        'neural_alerts_firing{model="fraud",rule="latency",severity="critical"} 1.0',
        'neural_alerts_firing{model="fraud",rule="latency",severity="warning"} 2.0',
    ]


def test_no_alert_gives_the_family_without_samples():
    text = scrape(AlertsView.empty())
    assert "# TYPE neural_alerts_firing gauge" in text
    assert "neural_alerts_firing{" not in text
