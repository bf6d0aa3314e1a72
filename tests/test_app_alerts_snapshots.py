"""What the console's alerts look like, compared with checked-in SVG screenshots: the overview's
feed and a panel's firing alerts, the alerts screen with its detail, and the silence dialog.

Regenerate after an intended change with
`pytest tests/test_app_alerts_snapshots.py --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from typing import Any

from alert_views import alert_entry, alerts_view, delivery, silence
from factories import FIXED_TIME, model_snapshot, snapshot
from fake_alerting import FakeAlerting
from fake_feed import FakeFeed
from textual.pilot import Pilot

from neural_tui.alerts.view import AlertsView
from neural_tui.app.app import NeuralTuiApp


def incident() -> AlertsView:
    return alerts_view(
        alert_entry("drift_high", summary="drift score 0.31 above 0.2",
                    values={"drift_score": 0.31},
                    deliveries=(delivery("oncall-slack", "sent"),
                                delivery("mail", "retrying", attempts=3,
                                         detail="connection refused"))),
        alert_entry("p95_latency", severity="critical", since=FIXED_TIME - 60,
                    summary="p95 latency 812 ms above 500 ms"),
        alert_entry("error_rate", model="churn", state="pending", since=FIXED_TIME - 30),
        alert_entry("accuracy_low", model="churn", severity="info", silenced_by="s-1",
                    since=FIXED_TIME - 5400),
        resolved=(alert_entry("quality_low", state="resolved", since=FIXED_TIME - 3000,
                              starts_at=FIXED_TIME - 4000, ends_at=FIXED_TIME - 3000),),
        silences=(silence("s-1", matchers={"alertname": "accuracy_low", "model": "churn"}),),
    )


def console() -> NeuralTuiApp:
    alerting = FakeAlerting(incident())
    feed = FakeFeed(snapshot(model_snapshot("fraud-detector"), model_snapshot("churn",
                                                                            version="2.3.1")))
    return NeuralTuiApp(feed, source_label="monitoring_data", alerts=alerting.provide,
                        alert_commands=alerting, user="dana")


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.pause()


def test_overview_with_an_alert_feed_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(80, 24), run_before=settle)


def test_overview_with_an_alert_feed_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(120, 40), run_before=settle)


def test_alerts_screen_with_the_detail_of_a_firing_alert_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(80, 24), press=["a", "down", "down"],
                        run_before=settle)


def test_alerts_screen_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(120, 40), press=["a", "down", "down"],
                        run_before=settle)


def test_silence_dialog_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(80, 24),
                        press=["a", "down", "down", "s", *"retraining"], run_before=settle)
