"""`--target` and `--prometheus` on the command line, and `status` over local and remote models.

The remote sources are fakes (`fake_remote`), so each case is exactly what a test says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_remote import FakeSource, prometheus_view, remote_model, target_view, use_sources

from neural_tui import ModelMonitor
from neural_tui.cli import main
from neural_tui.config import target_name
from neural_tui.remote_models import FeatureDriftFigure, RemoteFigures, SLOFigure


def write_storage(storage: Path, n: int = 20) -> None:
    with ModelMonitor("local-model", "1.0", storage_path=storage) as monitor:
        for i in range(n):
            monitor.log_prediction(f"p{i}", {"x": float(i)}, 0, latency_ms=5.0)


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text(f"[storage]\npath = 'data'\n{text}", encoding="utf-8")
    (tmp_path / "data").mkdir(exist_ok=True)
    return path


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, Any]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The one stderr line of a command that must exit 2."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_each_target_flag_is_polled_named_by_its_host_and_port(tmp_path, capsys, monkeypatch):
    seen = use_sources(monkeypatch)
    config = write_config(tmp_path)
    code, _ = run_json(capsys, ["status", "--config", str(config), "--json",
                                "--target", "http://10.0.0.1:9108/metrics",
                                "--target", "http://10.0.0.2:9108/metrics"])
    assert code == 0
    assert [(t.url, target_name(t)) for t in seen[0].targets] == [
        ("http://10.0.0.1:9108/metrics", "10.0.0.1:9108"),
        ("http://10.0.0.2:9108/metrics", "10.0.0.2:9108")]


def test_targets_given_before_and_after_the_command_are_all_polled(tmp_path, capsys,
                                                                  monkeypatch):
    seen = use_sources(monkeypatch)
    config = write_config(tmp_path)
    run_json(capsys, ["--target", "http://a:1/metrics", "health", "--config", str(config),
                      "--json", "--target", "http://b:2/metrics"])
    assert [target_name(t) for t in seen[0].targets] == ["a:1", "b:2"]


def test_command_line_targets_are_polled_beside_the_configured_ones(tmp_path, capsys,
                                                                    monkeypatch):
    seen = use_sources(monkeypatch)
    config = write_config(tmp_path, "[[targets]]\nurl = 'http://a:9108/metrics'\n"
                          "name = 'host-a'\ntimeout = '2s'\n")
    run_json(capsys, ["status", "--config", str(config), "--json",
                      "--target", "http://b:9108/metrics"])
    (configured, added) = seen[0].targets
    assert (configured.name, configured.timeout) == ("host-a", 2)
    assert (added.url, added.name) == ("http://b:9108/metrics", "")


def test_a_target_flag_with_the_name_of_a_configured_target_is_exit_2(tmp_path, capsys,
                                                                    monkeypatch):
    use_sources(monkeypatch)
    config = write_config(tmp_path, "[[targets]]\nurl = 'http://a:9108/metrics'\n")
    line = refused(capsys, ["status", "--config", str(config),
                            "--target", "http://a:9108/other"])
    assert line.startswith("neural-tui: --target: duplicate target name 'a:9108'")
    assert f"a [[targets]] entry of {config} has it; give that entry a name" in line


def test_two_target_flags_with_one_name_are_exit_2_naming_the_second(tmp_path, capsys,
                                                                     monkeypatch):
    use_sources(monkeypatch)
    config = write_config(tmp_path)
    line = refused(capsys, ["status", "--config", str(config), "--target", "http://a:1/",
                            "--target", "http://a:1/metrics"])
    assert line.startswith("neural-tui: --target #2: duplicate target name 'a:1'")
    assert "--target #1 has it" in line
    assert "[[targets]] entries with a name each" in line   # a --target cannot be named


@pytest.mark.parametrize("url", ["ftp://a:9108/metrics", "a:9108", "http://a:99999/metrics",
                                 "http:///metrics", ""])
def test_a_target_that_is_not_an_http_url_is_one_line_naming_the_flag(tmp_path, capsys, url):
    config = write_config(tmp_path)
    line = refused(capsys, ["status", "--config", str(config), "--target", url])
    assert line == ("neural-tui: --target: must be an http:// or https:// URL with a port, "
                    "if any, between 1 and 65535")


def test_a_target_whose_host_makes_no_valid_name_says_so(tmp_path, capsys):
    config = write_config(tmp_path)
    line = refused(capsys, ["status", "--config", str(config), "--target", "http://a b:1/"])
    assert line == ("neural-tui: --target: the name taken from its host and port must be 1 to "
                    "100 letters, digits or _.:@/[]-, starting with a letter, a digit or [")


def test_an_ipv6_target_is_named_by_its_bracketed_host_and_port():
    from neural_tui.config import Settings, TargetSection, check_fleet, target_name

    target = TargetSection(url="http://[::1]:9108/metrics")
    check_fleet(Settings(targets=(target,)), Path("cli"))
    assert target_name(target) == "[::1]:9108"


def test_credentials_in_a_target_url_are_refused_and_never_echoed(tmp_path, capsys):
    config = write_config(tmp_path)
    line = refused(capsys, ["status", "--config", str(config), "--target", "http://a:1/",
                            "--target", "http://scraper:hunter2@b:9108/metrics"])
    assert line == ("neural-tui: --target #2: must not hold credentials: use bearer_token, "
                    "or username and password")
    assert "hunter2" not in line


def test_credentials_in_the_prometheus_url_are_refused_and_never_echoed(tmp_path, capsys):
    config = write_config(tmp_path)
    line = refused(capsys, ["health", "--config", str(config),
                            "--prometheus", "https://me:hunter2@prom:9090"])
    assert line.startswith("neural-tui: --prometheus: must not hold credentials")
    assert "hunter2" not in line


def test_under_json_a_bad_flag_is_also_an_error_object_on_stdout(tmp_path, capsys):
    config = write_config(tmp_path)
    code, out = run_json(capsys, ["health", "--config", str(config), "--json",
                                  "--prometheus", "prom:9090"])
    assert code == 2
    assert out == {"error": "--prometheus: must be an http:// or https:// URL with a port, "
                            "if any, between 1 and 65535", "exit_code": 2}


def test_the_prometheus_flag_replaces_the_url_and_keeps_the_rest_of_its_section(
        tmp_path, capsys, monkeypatch):
    seen = use_sources(monkeypatch)
    config = write_config(tmp_path, "[prometheus]\nurl = 'http://old:9090'\ntimeout = '3s'\n"
                          "rate_window = '10m'\n")
    run_json(capsys, ["status", "--config", str(config), "--json",
                      "--prometheus", "http://new:9090"])
    section = seen[0].prometheus
    assert (section.url, section.timeout, section.rate_window) == ("http://new:9090", 3, 600)


def test_a_bad_target_among_several_is_named_by_its_place(tmp_path, capsys):
    config = write_config(tmp_path)
    line = refused(capsys, ["status", "--config", str(config), "--target",
                            "http://a:1/", "--target", "http://b:2/", "--target", "nope"])
    assert line.startswith("neural-tui: --target #3: must be an http://")


def test_fleet_flags_on_a_command_that_reads_no_remote_source_are_exit_2(tmp_path, capsys):
    config = write_config(tmp_path)
    line = refused(capsys, ["--target", "http://a:1/", "slo", "--config", str(config)])
    assert line == ("neural-tui: --target: only for the console, dashboard, --serve-metrics, "
                    "status and health")
    line = refused(capsys, ["--prometheus", "http://p:9090", "rules", "--config", str(config)])
    assert line.startswith("neural-tui: --prometheus: only for")


def test_the_headless_exporter_refuses_a_prometheus_source(tmp_path, capsys):
    config = write_config(tmp_path)
    line = refused(capsys, ["--serve-metrics", "--config", str(config),
                            "--prometheus", "http://p:9090"])
    assert line.startswith("neural-tui: --prometheus: not with --serve-metrics")


def test_status_json_lists_local_and_remote_models_each_with_its_source(tmp_path, capsys,
                                                                      monkeypatch):
    write_storage(tmp_path / "data")
    figures = RemoteFigures(
        feature_drift=(FeatureDriftFigure("amount", "ks", 0.31, drifted=True, threshold=0.05,
                                          p_value=0.001),),
        quality_score=0.92, accuracy=0.81,
        slos=(SLOFigure("availability", compliance=0.999, budget_remaining=0.4,
                        burn_rates={"1h": 0.5}),),
        alerts_firing={("HighErrorRate", "warning"): 1.0})
    use_sources(monkeypatch, FakeSource("targets", [
        target_view("a:9108", remote_model("fraud", "2.0", rps=None, error_rate=None, p95=None,
                                           figures=figures, instance="a:9108")),
        target_view("b:9108", up=False, detail="connection refused"),
    ]), FakeSource("prometheus", [prometheus_view(remote_model("fraud", "2.0"))]))
    config = write_config(tmp_path)
    code, out = run_json(capsys, ["status", "--config", str(config), "--json"])
    assert code == 0
    assert [(m["name"], m["source"]) for m in out["models"]] == [
        ("local-model", ""), ("fraud", "target a:9108"), ("fraud", "prometheus")]
    from_target = out["models"][1]
    assert from_target["predictions_total"] == 120
    assert from_target["errors_total"] == {"timeout": 6}
    assert from_target["instance"] == "a:9108"
    assert (from_target["throughput_rps"], from_target["error_rate"],
            from_target["latency_p95_ms"]) == (None, None, None)
    assert from_target["feature_drift"] == [{"feature": "amount", "test": "ks",
                                             "statistic": 0.31, "drifted": True,
                                             "threshold": 0.05, "p_value": 0.001}]
    assert (from_target["quality_score"], from_target["accuracy"]) == (0.92, 0.81)
    assert from_target["slos"] == [{"slo": "availability", "compliance": 0.999,
                                    "budget_remaining": 0.4, "burn_rates": {"1h": 0.5}}]
    assert from_target["alerts_firing"] == [{"rule": "HighErrorRate", "severity": "warning",
                                             "count": 1}]
    from_prometheus = out["models"][2]
    assert (from_prometheus["throughput_rps"], from_prometheus["error_rate"],
            from_prometheus["latency_p95_ms"]) == (2.0, 0.05, 40.0)
    assert [(t["target"], t["up"], t["detail"]) for t in out["targets"]] == [
        ("a:9108", True, ""), ("b:9108", False, "connection refused")]
    assert out["sources"] == [{"source": "targets", "status": "ok", "detail": ""},
                              {"source": "prometheus", "status": "ok", "detail": ""}]


def test_status_json_never_carries_nan_or_infinity_from_an_endpoint(tmp_path, capsys,
                                                                    monkeypatch):
    nan, inf = float("nan"), float("inf")
    model = remote_model(predictions=inf, errors=nan, rps=nan, error_rate=-inf, p95=inf,
                         figures=RemoteFigures(quality_score=nan,
                                               slos=(SLOFigure("s", budget_remaining=-inf),)))
    use_sources(monkeypatch, FakeSource("prometheus", [prometheus_view(model)]))
    config = write_config(tmp_path)
    code = main(["status", "--config", str(config), "--json"])
    text = capsys.readouterr().out
    (entry,) = json.loads(text, parse_constant=pytest.fail)["models"]
    assert code == 0
    assert (entry["predictions_total"], entry["errors_total"], entry["throughput_rps"],
            entry["error_rate"], entry["latency_p95_ms"], entry["quality_score"]) == (
        None, {"timeout": None}, None, None, None, None)
    assert entry["slos"][0]["budget_remaining"] is None


def test_status_table_groups_remote_models_by_source_and_lists_the_targets(
        tmp_path, capsys, monkeypatch):
    write_storage(tmp_path / "data")
    use_sources(monkeypatch, FakeSource("targets", [
        target_view("a:9108", remote_model("fraud", "2.0", rps=None, error_rate=None, p95=None,
                                           figures=RemoteFigures(quality_score=0.9))),
        target_view("b:9108", up=False, detail="timed out after 2 s"),
    ]))
    config = write_config(tmp_path)
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "local-model" in out
    section = out[out.index("source target a:9108"):]
    (row,) = [line for line in section.splitlines() if "fraud" in line]
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "fraud", "2.0", "120", "6", "n/a", "n/a", "n/a", "n/a", "n/a", "—", "0.9", "n/a", "—",
        "—"]
    assert "rates and quantiles need two scrapes" in out
    (down,) = [line for line in out.splitlines() if "b:9108" in line]
    assert "DOWN" in down and "timed out after 2 s" in down


def test_model_filter_finds_a_remote_model_and_names_remote_ones_when_unknown(
        tmp_path, capsys, monkeypatch):
    write_storage(tmp_path / "data")
    use_sources(monkeypatch, FakeSource("prometheus", [prometheus_view(
        remote_model("fraud"), remote_model("churn"))]))
    config = write_config(tmp_path)
    code, out = run_json(capsys, ["status", "--config", str(config), "--json",
                                  "--model", "churn"])
    assert code == 0
    assert [(m["name"], m["source"]) for m in out["models"]] == [("churn", "prometheus")]
    line = refused(capsys, ["status", "--config", str(config), "--model", "nope"])
    assert line == ("neural-tui: --model 'nope': no such model in storage or the remote "
                    "sources (known: churn, fraud, local-model)")


def test_with_only_remote_sources_a_missing_default_storage_is_no_error(
        tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    use_sources(monkeypatch, FakeSource("prometheus", [prometheus_view(remote_model())]))
    code, out = run_json(capsys, ["status", "--json", "--prometheus", "http://p:9090"])
    assert code == 0
    assert out["storage"] is None
    assert [m["source"] for m in out["models"]] == ["prometheus"]


def test_a_storage_asked_for_must_exist_even_with_remote_sources_and_is_checked_first(
        tmp_path, capsys, monkeypatch):
    source = FakeSource("prometheus", hang=True)
    use_sources(monkeypatch, source)
    line = refused(capsys, ["status", "--storage", str(tmp_path / "missing"),
                            "--prometheus", "http://p:9090"])
    assert line.endswith("storage directory does not exist")
    assert source.fetches == 0


def test_a_target_url_of_a_megabyte_is_one_short_line(tmp_path, capsys):
    config = write_config(tmp_path)
    line = refused(capsys, ["status", "--config", str(config),
                            "--target", "http://" + "a" * 1_000_000 + ":1/metrics"])
    assert line.startswith("neural-tui: --target: ")
    assert len(line) < 300


def test_more_targets_than_the_config_allows_is_exit_2(tmp_path, capsys):
    config = write_config(tmp_path)
    flags = [arg for i in range(1001) for arg in ("--target", f"http://h{i}:1/metrics")]
    line = refused(capsys, ["status", "--config", str(config), *flags])
    assert line == "neural-tui: --target: at most 1000 targets, got 1001"


def test_control_characters_from_an_endpoint_never_reach_the_terminal(tmp_path, capsys,
                                                                      monkeypatch):
    hostile = "\x1b[2J\x1b]0;owned\x07"
    use_sources(monkeypatch, FakeSource("targets", [
        target_view("a:9108", remote_model(name=f"fraud{hostile}")),
        target_view("b:9108", up=False, detail=f"refused{hostile}")]))
    config = write_config(tmp_path)
    assert main(["status", "--config", str(config)]) == 0
    assert main(["health", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "fraud" in out and "refused" in out
    assert "\x1b" not in out and "\x07" not in out
