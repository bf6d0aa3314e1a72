"""What the console looks like over a fleet, compared with checked-in SVG screenshots.

Regenerate after an intended change with
`pytest tests/test_console_fleet_snapshots.py --snapshot-update` and review the SVGs. Every
snapshot and every target's last answer carry a fixed time, so nothing depends on the clock.
"""

from __future__ import annotations

from typing import Any

from factories import model_snapshot
from fake_feed import FakeFeed
from fake_fleet import fleet_snapshot, prometheus_view, remote_model, rich_figures, target_view
from textual.pilot import Pilot

from neural_tui.app.app import NeuralTuiApp
from neural_tui.app.fleet_groups import Fleet
from neural_tui.runtime.snapshot import Snapshot, SourceHealth


def fleet() -> Snapshot:
    """fraud-detector locally; churn on host-1 (up, with drift, quality, SLOs and two firing
    alerts exported); host-2 down without models; ranker through Prometheus."""
    return fleet_snapshot(
        [model_snapshot("fraud-detector")],
        [
            target_view("host-1", remote_model("churn", "2.3.1", figures=rich_figures())),
            target_view("host-2", up=False, detail="timed out after 2 s"),
            prometheus_view(remote_model("ranker", "0.9", instance="10.0.0.5:9108",
                                         throughput_rps=3.2, error_rate=0.0)),
        ],
        source_health=(SourceHealth("prometheus", "ok", ""),),
    )


def console() -> NeuralTuiApp:
    return NeuralTuiApp(FakeFeed(fleet()), source_label="monitoring_data",
                        fleet=Fleet(targets=("host-1", "host-2"),
                                    prometheus_url="http://127.0.0.1:9090"))


async def settle(pilot: Pilot[Any]) -> None:
    """Let the groups and panels mount and the first panel take focus."""
    await pilot.pause()
    await pilot.pause()
    await pilot.pause()


def test_fleet_overview_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(80, 24), run_before=settle)


def test_fleet_overview_at_160x48(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(160, 48), run_before=settle)


def test_remote_drift_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(80, 24), press=["j", "d"], run_before=settle)


def test_remote_drift_screen_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(120, 40), press=["j", "d"], run_before=settle)


def test_remote_slo_screen_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(console(), terminal_size=(120, 40), press=["j", "s"], run_before=settle)
