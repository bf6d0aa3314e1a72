"""`neural-tui health` over remote sources: each remote criterion on its own, and `/healthz`
of a headless exporter whose target is down.

The criteria: a target down, a critical alert firing on a remote model, an SLO budget of a
remote model exhausted (at or below 0, with `fail_on_slo`), a remote source that cannot read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_remote import FakeSource, prometheus_view, remote_model, target_view, use_sources

from neural_tui import ModelMonitor, reports
from neural_tui.cli import main
from neural_tui.metrics_server import MetricsServer
from neural_tui.remote_models import RemoteFigures, SLOFigure, TargetStatus
from neural_tui.runtime.snapshot import IngestStats, Snapshot


def health(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str = "",
           *, local: bool = True) -> tuple[int, Any]:
    """`health --json` on a storage with one healthy local model (unless not `local`)."""
    storage = tmp_path / "data"
    storage.mkdir(exist_ok=True)
    if local:
        with ModelMonitor("local-model", "1.0", storage_path=storage) as monitor:
            for i in range(20):
                monitor.log_prediction(f"p{i}", {"x": float(i)}, 0, latency_ms=5.0)
    path = tmp_path / "neural-tui.toml"
    path.write_text(f"[storage]\npath = 'data'\n[health]\nfail_on_drift = false\n"
                    f"max_drifted_share = 1\nmin_quality_score = 0\n{config}", encoding="utf-8")
    code = main(["health", "--config", str(path), "--json"])
    return code, json.loads(capsys.readouterr().out)


def remote_checks(report: dict[str, Any], source: str) -> list[dict[str, Any]]:
    (model,) = (m for m in report["models"] if m["source"] == source)
    return model["checks"]


def with_figures(figures: RemoteFigures) -> FakeSource:
    return FakeSource("prometheus", [prometheus_view(remote_model(figures=figures))])


def test_a_healthy_fleet_passes_and_every_source_and_target_is_listed(tmp_path, capsys,
                                                                    monkeypatch):
    use_sources(monkeypatch, FakeSource("targets", [target_view("a:9108", remote_model())]),
                with_figures(RemoteFigures()))
    code, report = health(capsys, tmp_path)
    assert code == 0
    assert report["healthy"] is True
    assert report["problems"] == []
    assert [(m["name"], m["source"], m["healthy"]) for m in report["models"]] == [
        ("local-model", "", True), ("fraud", "target a:9108", True),
        ("fraud", "prometheus", True)]
    assert report["sources"] == [
        {"source": "targets", "check": "source_reachable", "status": "ok",
         "detail": "source targets answered"},
        {"source": "prometheus", "check": "source_reachable", "status": "ok",
         "detail": "source prometheus answered"}]
    assert report["targets"] == [{"target": "a:9108", "source": "target a:9108", "up": True,
                                  "check": "target_up", "status": "ok",
                                  "detail": "target a:9108 up"}]


def test_a_target_down_is_unhealthy_naming_the_target_and_why(tmp_path, capsys, monkeypatch):
    use_sources(monkeypatch, FakeSource("targets", [
        target_view("a:9108", remote_model()),
        target_view("b:9108", up=False, detail="connection refused")]))
    code, report = health(capsys, tmp_path)
    assert code == 1
    assert report["healthy"] is False
    (down,) = (t for t in report["targets"] if not t["up"])
    assert down == {"target": "b:9108", "source": "target b:9108", "up": False,
                    "check": "target_up", "status": "failed",
                    "detail": "target b:9108 down: connection refused"}
    assert report["problems"] == ["target b:9108 down: connection refused"]
    assert all(m["healthy"] for m in report["models"])


def test_a_critical_alert_firing_on_a_remote_model_is_unhealthy(tmp_path, capsys, monkeypatch):
    use_sources(monkeypatch, with_figures(RemoteFigures(alerts_firing={
        ("ModelDown", "critical"): 1.0, ("HighLatency", "critical"): 2.0,
        ("SlowButFine", "warning"): 3.0})))
    code, report = health(capsys, tmp_path)
    assert code == 1
    assert remote_checks(report, "prometheus") == [
        {"check": "critical_alert", "status": "failed",
         "detail": "critical alert firing: HighLatency, ModelDown"}]
    (model,) = (m for m in report["models"] if m["source"] == "prometheus")
    assert model["problems"] == ["critical alert firing: HighLatency, ModelDown"]


@pytest.mark.parametrize("firing", [{("SlowButFine", "warning"): 3.0},
                                    {("Gone", "critical"): 0.0},
                                    {("Odd", "critical"): float("nan")}])
def test_no_critical_alert_firing_passes(tmp_path, capsys, monkeypatch, firing):
    use_sources(monkeypatch, with_figures(RemoteFigures(alerts_firing=firing)))
    code, report = health(capsys, tmp_path)
    assert remote_checks(report, "prometheus") == [
        {"check": "critical_alert", "status": "ok", "detail": "no critical alert firing"}]
    assert code == 0


@pytest.mark.parametrize(("left", "status", "detail"), [
    (0.0, "failed", "SLO availability: error budget exhausted (0.0% left)"),
    (-0.25, "failed", "SLO availability: error budget exhausted (-25.0% left)"),
    (float("-inf"), "waiting", "SLO availability: no error budget exported"),
    (None, "waiting", "SLO availability: no error budget exported"),
    (0.004, "ok", "SLO availability: 0.4% of the error budget left"),
])
def test_an_exhausted_remote_slo_budget_is_unhealthy(tmp_path, capsys, monkeypatch, left,
                                                     status, detail):
    use_sources(monkeypatch, with_figures(RemoteFigures(
        slos=(SLOFigure("availability", compliance=0.99, budget_remaining=left),))))
    code, report = health(capsys, tmp_path)
    (slo,) = (c for c in remote_checks(report, "prometheus") if c["check"] == "fail_on_slo")
    assert slo == {"check": "fail_on_slo", "status": status, "detail": detail,
                   "slo": "availability"}
    assert code == (1 if status == "failed" else 0)


def test_without_fail_on_slo_a_remote_budget_is_not_judged(tmp_path, capsys, monkeypatch):
    use_sources(monkeypatch, with_figures(RemoteFigures(
        slos=(SLOFigure("availability", budget_remaining=-1.0),))))
    code, report = health(capsys, tmp_path, "fail_on_slo = false\n")
    assert [c["check"] for c in remote_checks(report, "prometheus")] == ["critical_alert"]
    assert code == 0


def test_prometheus_unreachable_is_unhealthy_naming_the_source(tmp_path, capsys, monkeypatch):
    use_sources(monkeypatch, FakeSource("prometheus", [prometheus_view(
        problem="cannot reach http://prom:9090: connection refused")]))
    code, report = health(capsys, tmp_path)
    assert code == 1
    assert report["sources"] == [{
        "source": "prometheus", "check": "source_reachable", "status": "failed",
        "detail": "source prometheus failing: cannot reach http://prom:9090: connection "
                  "refused"}]
    assert report["problems"] == [report["sources"][0]["detail"]]


def test_a_source_that_raises_is_unhealthy_and_the_others_are_still_read(tmp_path, capsys,
                                                                        monkeypatch):
    use_sources(monkeypatch, FakeSource("prometheus", error=RuntimeError("bad\nanswer")),
                FakeSource("targets", [target_view("a:9108", remote_model())]))
    code, report = health(capsys, tmp_path)
    assert code == 1
    assert report["sources"][0]["detail"] == (
        "source prometheus failing: RuntimeError('bad\\nanswer')")
    assert [m["source"] for m in report["models"]] == ["", "target a:9108"]


def test_a_source_that_never_answers_fails_once_its_deadline_passes(tmp_path, capsys,
                                                                   monkeypatch):
    """The deadline is twice the timeout (0.2 s) plus the grace (here 0.1 s)."""
    monkeypatch.setattr(reports, "FETCH_GRACE_SECONDS", 0.1)
    use_sources(monkeypatch, FakeSource("prometheus", hang=True),
                FakeSource("targets", [target_view("a:9108", remote_model())]))
    code, report = health(capsys, tmp_path, "[prometheus]\nurl = 'http://p:9090'\n"
                          "timeout = 0.2\n")
    assert code == 1
    assert report["sources"][0] == {
        "source": "prometheus", "check": "source_reachable", "status": "failed",
        "detail": "source prometheus failing: no answer within 0.5 s"}
    assert report["targets"][0]["status"] == "ok"


def test_no_model_anywhere_is_unhealthy_even_with_every_target_up(tmp_path, capsys,
                                                                 monkeypatch):
    use_sources(monkeypatch, FakeSource("targets", [target_view("a:9108")]))
    code, report = health(capsys, tmp_path, local=False)
    assert code == 1
    assert report["problems"] == ["no model in storage or from the remote sources"]


def test_the_text_report_names_each_failing_check(tmp_path, capsys, monkeypatch):
    use_sources(monkeypatch, FakeSource("targets", [
        target_view("a:9108", remote_model(figures=RemoteFigures(
            alerts_firing={("ModelDown", "critical"): 1.0}))),
        target_view("b:9108", up=False, detail="timed out after 2 s")]))
    storage = tmp_path / "data"
    storage.mkdir()
    config = tmp_path / "neural-tui.toml"
    config.write_text("[storage]\npath = 'data'\n", encoding="utf-8")
    assert main(["health", "--config", str(config)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "UNHEALTHY  target b:9108 down: timed out after 2 s" in lines
    assert ("UNHEALTHY  fraud 2.0 @ target a:9108: critical_alert: critical alert firing: "
            "ModelDown") in lines


def test_healthz_lists_a_down_target_without_failing_the_probe():
    down = TargetStatus("b:9108", "http://b:9108/metrics", up=False, detail="connection refused")
    snapshot = Snapshot(generated_at=0.0, models=(), ingest=IngestStats(0, {}),
                        targets=(down,))
    with MetricsServer(lambda: snapshot) as server:
        answer = httpx.get(f"{server.url}/healthz", timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["targets"] == [{"name": "b:9108", "up": False, "detail": "connection refused"}]


def test_healthz_counts_the_models_this_exporter_serves_not_the_remote_ones():
    from dataclasses import replace

    from factories import model_snapshot

    local = model_snapshot("fraud")
    remote = replace(model_snapshot("churn"), source="target a:9108")
    snapshot = Snapshot(generated_at=0.0, models=(local, remote), ingest=IngestStats(0, {}))
    with MetricsServer(lambda: snapshot) as server:
        body = httpx.get(f"{server.url}/healthz", timeout=5).json()
    assert body["models"] == 1


def test_a_model_asked_for_while_a_target_is_down_is_unhealthy_not_unknown(tmp_path, capsys,
                                                                          monkeypatch):
    use_sources(monkeypatch, FakeSource("targets", [
        target_view("a:9108", remote_model("churn")),
        target_view("b:9108", up=False, detail="connection refused")]))
    storage = tmp_path / "data"
    storage.mkdir()
    config = tmp_path / "neural-tui.toml"
    config.write_text("[storage]\npath = 'data'\n", encoding="utf-8")
    code = main(["health", "--config", str(config), "--json", "--model", "fraud"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["models"] == []
    assert report["problems"] == [
        "no model 'fraud' in storage or from the remote sources that answered",
        "target b:9108 down: connection refused"]
