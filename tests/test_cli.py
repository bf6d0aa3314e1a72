"""The command line: init, status and health, their exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neural_tui import ModelLogger
from neural_tui.cli import main
from neural_tui.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def write_storage(storage: Path, *, model: str = "fraud", n: int = 50, errors: int = 0,
                  latency_ms: float = 12.0) -> None:
    with ModelLogger(model, "2.0", storage_path=storage) as monitor:
        for i in range(n):
            monitor.log_prediction(f"{model}-{i}", {"amount": float(i)}, i % 2,
                                   latency_ms=latency_ms)
        for _ in range(errors):
            monitor.record_error("timeout")


def test_init_writes_a_config_that_loads_and_the_storage(tmp_path, capsys):
    output = tmp_path / "neural-tui.toml"
    code = main(["init", "--model-name", "fraud", "--model-version", "3.1",
                 "--storage", "data", "--output", str(output)])
    assert code == 0
    settings = load_settings(output)
    assert [(m.name, m.version) for m in settings.models] == [("fraud", "3.1")]
    assert settings.storage.path == tmp_path / "data"
    assert (tmp_path / "data" / "predictions").is_dir()
    written = json.loads((tmp_path / "data" / "monitor_config.json").read_text())
    assert (written["model_name"], written["model_version"]) == ("fraud", "3.1")
    assert "wrote" in capsys.readouterr().out


def test_init_writes_models_as_tables_so_the_examples_model_block_can_be_appended(tmp_path):
    output = tmp_path / "neural-tui.toml"
    assert main(["init", "--model-name", "fraud", "--storage", "data",
                 "--output", str(output)]) == 0
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    with output.open("a", encoding="utf-8") as config:
        config.write(example[example.index("\n[[models]]\n"):])
    settings = load_settings(output)
    assert [(m.name, m.version) for m in settings.models] == [("fraud", "1.0"),
                                                             ("fraud-detector", "1.0")]


def test_init_leaves_the_optional_model_keys_commented_and_valid(tmp_path):
    output = tmp_path / "neural-tui.toml"
    assert main(["init", "--model-name", "fraud", "--storage", "data",
                 "--output", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert load_settings(output).models[0].reference is None
    output.write_text(text.replace("# reference = ", "reference = "), encoding="utf-8")
    assert load_settings(output).models[0].reference == tmp_path / "reference.jsonl"


def test_init_writes_starter_slos_commented_so_the_config_has_none(tmp_path):
    output = tmp_path / "neural-tui.toml"
    assert main(["init", "--model-name", "fraud", "--storage", "data",
                 "--output", str(output)]) == 0
    assert load_settings(output).slo == ()
    text = output.read_text(encoding="utf-8")
    start = text.index("# [[slo]]")
    output.write_text(text[:start] + text[start:].replace("# ", ""), encoding="utf-8")
    slos = load_settings(output).slo
    assert [(s.name, s.type) for s in slos] == [
        ("availability", "availability"), ("latency-250ms", "latency"),
        ("accuracy", "accuracy"), ("traffic", "throughput")]


def test_init_refuses_to_overwrite_without_force(tmp_path, capsys):
    output = tmp_path / "neural-tui.toml"
    output.write_text("# mine\n")
    assert main(["init", "--output", str(output), "--storage", str(tmp_path / "d")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert output.read_text() == "# mine\n"
    assert main(["init", "--output", str(output), "--storage", str(tmp_path / "d"),
                 "--force"]) == 0


def test_status_json_reports_exact_totals_per_model(tmp_path, capsys):
    write_storage(tmp_path, model="fraud", n=40, errors=3)
    write_storage(tmp_path, model="churn", n=7)
    assert main(["status", "--storage", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    totals = {m["name"]: (m["predictions_total"], sum(m["errors_total"].values()))
              for m in report["models"]}
    assert totals == {"fraud": (43, 3), "churn": (7, 0)}
    assert report["records_total"] == 50


def test_status_table_shows_model_names_literally(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    write_storage(tmp_path, model="[bold red]x")
    assert main(["status", "--storage", str(tmp_path)]) == 0
    assert "[bold red]x" in capsys.readouterr().out


def test_health_is_0_when_every_model_is_within_limits(tmp_path, capsys):
    write_storage(tmp_path, n=100, errors=1)
    assert main(["health", "--storage", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["healthy"] is True


def test_health_is_1_when_the_error_rate_is_too_high(tmp_path, capsys):
    write_storage(tmp_path, n=20, errors=10)
    assert main(["health", "--storage", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] is False
    assert "error rate" in report["models"][0]["problems"][0]


def test_health_checks_the_configured_latency_limit(tmp_path, capsys):
    write_storage(tmp_path / "s", n=30, latency_ms=400.0)
    config = tmp_path / "c.toml"
    config.write_text("[storage]\npath = 's'\n[health]\nmax_latency_p95_ms = 250.0\n")
    assert main(["health", "--config", str(config)]) == 1
    assert "p95 latency 400.0 ms above 250 ms" in capsys.readouterr().out


def test_health_with_no_records_is_unhealthy(tmp_path):
    (tmp_path / "predictions").mkdir()
    assert main(["health", "--storage", str(tmp_path)]) == 1


def test_missing_storage_is_bad_input_with_one_line(tmp_path, capsys):
    assert main(["status", "--storage", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nope: storage directory does not exist" in err


def test_a_storage_that_is_a_file_is_bad_input_with_one_line(tmp_path, capsys):
    storage = tmp_path / "storage"
    storage.write_text("a file\n")
    assert main(["health", "--storage", str(storage)]) == 2
    assert capsys.readouterr().err == f"neural-tui: {storage}: storage is not a directory\n"


def test_unknown_model_is_bad_usage_naming_the_known_ones(tmp_path, capsys):
    write_storage(tmp_path, model="fraud")
    assert main(["status", "--storage", str(tmp_path), "--model", "frod"]) == 2
    assert "known: fraud" in capsys.readouterr().err


def test_bad_config_exits_2_naming_file_and_key(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 'x'\n")
    assert main(["status", "--config", str(config)]) == 2
    assert f"{config}: key 'server.port'" in capsys.readouterr().err


def test_a_bad_config_under_json_is_an_error_object_on_stdout_and_one_line_on_stderr(
        tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 'x'\n")
    assert main(["health", "--config", str(config), "--json"]) == 2
    captured = capsys.readouterr()
    message = f"{config}: key 'server.port': must be an integer, got a string"
    assert json.loads(captured.out) == {"error": message, "exit_code": 2}
    assert captured.err == f"neural-tui: {message}\n"


def test_an_unknown_model_under_json_is_an_error_object_on_stdout_and_one_line_on_stderr(
        tmp_path, capsys):
    write_storage(tmp_path, model="fraud")
    assert main(["status", "--storage", str(tmp_path), "--model", "frod", "--json"]) == 2
    captured = capsys.readouterr()
    error = json.loads(captured.out)
    assert error == {"error": "--model 'frod': no such model in storage (known: fraud)",
                     "exit_code": 2}
    assert captured.err == f"neural-tui: {error['error']}\n"


def test_fail_on_drift_without_a_verdict_under_json_prints_only_the_error_object(
        tmp_path, capsys):
    write_storage(tmp_path, n=50)
    assert main(["drift", "--storage", str(tmp_path), "--json", "--fail-on-drift"]) == 2
    captured = capsys.readouterr()
    error = json.loads(captured.out)
    assert error["exit_code"] == 2
    assert error["error"].startswith("--fail-on-drift: no drift verdict for fraud 2.0")
    assert captured.err.count("\n") == 1


def test_bad_flag_exits_2():
    with pytest.raises(SystemExit) as caught:
        main(["status", "--no-such-flag"])
    assert caught.value.code == 2


def test_the_console_script_is_installed_and_answers(tmp_path):
    write_storage(tmp_path, n=5)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("neural-tui")), "status", "--json",
         "--storage", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["models"][0]["predictions_total"] == 5


def test_config_and_storage_count_before_the_subcommand_too(tmp_path, capsys):
    write_storage(tmp_path / "s1", n=4)
    assert main(["--storage", str(tmp_path / "s1"), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["predictions_total"] == 4
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 'x'\n")
    assert main(["--config", str(config), "status"]) == 2
    assert f"{config}: key 'server.port'" in capsys.readouterr().err


def test_errors_on_stderr_never_carry_escape_sequences_from_logs(tmp_path, capsys):
    write_storage(tmp_path, model="m\x1b]0;pwned\x07")
    (tmp_path / "predictions" / "bad\x1b[31m.jsonl").write_text("not json\n")
    assert main(["status", "--storage", str(tmp_path), "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert "known: m␛]0;pwned␇" in err
    assert "bad␛[31m.jsonl:1: not_json" in err


def test_log_lines_escape_log_content_but_keep_traceback_lines():
    import io
    import logging

    from neural_tui.safe_text import PlainFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PlainFormatter("%(message)s"))
    log = logging.getLogger("test.plain")
    log.addHandler(handler)
    try:
        raise OSError("cannot read bad\x1b]0;x\x07.jsonl")
    except OSError as exc:
        log.error("source %s failed", "m\x1b[31m", exc_info=exc)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "source m␛[31m failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "OSError: cannot read bad␛]0;x␇.jsonl"


@pytest.mark.parametrize(("argv", "words"), [
    (["drift", "--window", "100001"], "--window 100001: must be greater than 0 and at most 100000"),
    (["quality", "--window", "0"], "--window 0: must be greater than 0 and at most 100000"),
    (["--serve-metrics", "--port", "65536"], "--port 65536: must be between 0 and 65535"),
])
def test_a_numeric_option_out_of_its_bound_is_exit_2_with_one_line(tmp_path, capsys, argv,
                                                                    words):
    write_storage(tmp_path, n=5)
    assert main([*argv, "--storage", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"neural-tui: {words}\n"


def test_the_largest_window_is_accepted(tmp_path, capsys):
    write_storage(tmp_path, n=5)
    assert main(["drift", "--window", "100000", "--storage", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["name"] == "fraud"


def test_one_record_hours_ahead_does_not_become_now_for_health_and_status(tmp_path, capsys):
    """Two minutes at 33 rps, every other request failing, and one record stamped two hours
    ahead: the reports still see the traffic."""
    start = time.time() - 120
    lines = [{"timestamp": start + i / 33, "prediction_id": f"p{i}", "input_features": {"x": 1},
              "prediction": 0, "latency_ms": 10.0, "error": "timeout" if i % 2 else None}
             for i in range(120 * 33)]
    lines.insert(2000, {"timestamp": time.time() + 7200, "prediction_id": "ahead",
                        "input_features": {"x": 1}, "prediction": 0, "latency_ms": 10.0})
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "p.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines))

    assert main(["status", "--storage", str(tmp_path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)["models"][0]
    assert status["throughput_rps"] == pytest.approx(33, rel=0.05)
    assert status["error_rate"] == pytest.approx(0.5, abs=0.02)
    assert main(["health", "--storage", str(tmp_path), "--json"]) == 1
    health = json.loads(capsys.readouterr().out)
    assert health["healthy"] is False
    assert "error rate" in health["models"][0]["problems"][0]


@pytest.mark.parametrize("command", [["status", "--json"], ["health", "--json"], ["rules"]])
def test_a_reader_that_stopped_reading_ends_the_command_quietly(tmp_path, command):
    """`neural-tui rules | promtool check rules` (promtool reads no stdin): no traceback."""
    storage = tmp_path / "monitoring_data"
    write_storage(storage)
    config = tmp_path / "neural-tui.toml"
    config.write_text("".join(f'[[slo]]\nname = "s{i}"\ntype = "availability"\ntarget = 0.99\n'
                              for i in range(3)), encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "neural_tui.cli", *command, "--config", str(config),
             "--storage", str(storage)],
            stdout=write_end, stderr=subprocess.PIPE, timeout=60, check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == b""
