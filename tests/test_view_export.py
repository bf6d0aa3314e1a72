"""`e` exports the current view: an SVG of the screen and the snapshot data behind it as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factories import FIXED_TIME, drifting_model, model_snapshot, snapshot
from fake_feed import FakeFeed
from textual.pilot import Pilot

from neural_tui.app.app import NeuralTuiApp
from neural_tui.app.view_export import export_view
from neural_tui.screens.drift import DriftScreen


def app_exporting_to(directory: Path, feed: FakeFeed) -> NeuralTuiApp:
    app = NeuralTuiApp(feed)
    app.export_dir = directory
    return app


async def export(pilot: Pilot[Any]) -> None:
    """Press `e` and wait for the writing thread's notification (a finished worker leaves
    `app.workers`, so the notice is what tells it is done)."""
    await pilot.press("e")
    for _ in range(100):
        if pilot.app._notifications:
            return
        await pilot.pause(0.02)
    raise AssertionError("e wrote no notice")


def notices(app: NeuralTuiApp) -> list[tuple[str, str]]:
    return [(str(n.message), n.severity) for n in app._notifications]


def strict_json(path: Path) -> Any:
    """The file's JSON, refusing NaN and infinity as JSON itself does."""
    def refuse(constant: str) -> None:
        raise AssertionError(f"{path.name} holds {constant}")
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


async def test_e_on_the_overview_writes_its_svg_and_every_models_data_and_says_where(
        tmp_path: Path) -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn"), model_snapshot("ranker", version="2.1")))
    async with app_exporting_to(tmp_path, feed).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await export(pilot)
        [svg] = tmp_path.glob("neural-tui-overview-*Z.svg")
        [data] = tmp_path.glob("neural-tui-overview-*Z.json")
        assert svg.stem == data.stem
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")
        exported = strict_json(data)
        assert exported["view"] == "overview"
        assert [(m["name"], m["version"]) for m in exported["models"]] == [
            ("churn", "1.0.0"), ("ranker", "2.1")]
        assert {"predictions_total", "throughput_rps", "latency_p95_ms", "error_rate",
                "drift", "quality", "slos"} <= exported["models"][0].keys()
        [(message, severity)] = notices(pilot.app)
        assert severity == "information"
        assert svg.name in message and data.name in message


async def test_e_on_a_drill_down_exports_that_view_with_that_models_reports_only(
        tmp_path: Path) -> None:
    feed = FakeFeed(snapshot(drifting_model("alpha"), drifting_model("beta")))
    async with app_exporting_to(tmp_path, feed).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("j", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen)
        await export(pilot)
        [data] = tmp_path.glob("neural-tui-drift-*.json")
        [model] = strict_json(data)["models"]
        assert model["name"] == "beta"
        assert [f["name"] for f in model["drift"]["features"]]
        assert list(tmp_path.glob("neural-tui-drift-*.svg"))


async def test_figures_that_are_not_finite_are_exported_as_null(tmp_path: Path) -> None:
    broken = model_snapshot("churn", latency_p95_ms=float("nan"), throughput_rps=float("inf"),
                            throughput_series=(1.0, float("-inf")))
    async with app_exporting_to(tmp_path, FakeFeed(snapshot(broken))).run_test() as pilot:
        await pilot.pause()
        await export(pilot)
        [data] = tmp_path.glob("*.json")
        [model] = strict_json(data)["models"]
        assert model["latency_p95_ms"] is None
        assert model["throughput_rps"] is None
        assert model["throughput_series"] == [1.0, None]


async def test_a_hostile_model_name_is_data_in_the_json_and_never_part_of_a_file_name(
        tmp_path: Path) -> None:
    hostile = "../../etc/x[bold]\x1b[31m"
    async with app_exporting_to(tmp_path / "out", FakeFeed(snapshot(model_snapshot(hostile)))
                                ).run_test() as pilot:
        (tmp_path / "out").mkdir()
        await pilot.pause()
        await export(pilot)
        files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
        assert [p.parent for p in files] == [Path("out"), Path("out")]
        assert all(p.name.startswith("neural-tui-overview-") for p in files)
        [data] = (tmp_path / "out").glob("*.json")
        assert strict_json(data)["models"][0]["name"] == hostile


async def test_a_failed_write_is_an_error_notice_and_the_console_keeps_running(
        tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("", encoding="utf-8")
    app = app_exporting_to(not_a_directory, FakeFeed(snapshot(model_snapshot("churn"))))
    async with app.run_test() as pilot:
        await pilot.pause()
        await export(pilot)
        [(message, severity)] = notices(pilot.app)
        assert severity == "error"
        assert message.startswith("Export failed:")
        assert pilot.app.is_running
        await pilot.press("question_mark")
        await pilot.pause()
        assert pilot.app.screen.__class__.__name__ == "HelpScreen"


def test_two_exports_of_one_view_in_one_second_keep_both(tmp_path: Path) -> None:
    first = export_view(tmp_path, "overview", "<svg/>", {"n": 1}, FIXED_TIME)
    second = export_view(tmp_path, "overview", "<svg/>", {"n": 2}, FIXED_TIME)
    assert first.svg != second.svg
    assert second.svg.name.endswith("Z-2.svg")
    assert [strict_json(p)["n"] for p in (first.json, second.json)] == [1, 2]
