"""`neural-tui drift` and `neural-tui quality`: tables, JSON, exit codes and bad references."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from neural_tui import ModelLogger
from neural_tui.cli import main
from neural_tui.runtime.reference_file import MAX_REFERENCE_BYTES

ISSUE_KEYS = {"name", "kind", "test", "statistic", "p_value", "drifted"}
NUMERIC_KEYS = {"ks_statistic", "ks_p_value", "psi", "wasserstein", "wasserstein_normed",
                "jensen_shannon"}
CATEGORICAL_KEYS = {"chi2_statistic", "chi2_p_value", "psi", "jensen_shannon"}


def write_storage(storage: Path, *, shift: float, rows: int = 300, model: str = "fraud",
                  seed: int = 11) -> dict[str, np.ndarray]:
    """`rows` reference-like predictions, then `rows` whose `amount` is shifted by `shift`."""
    rng = np.random.default_rng(seed)
    amount = np.concatenate([rng.normal(100, 10, rows), rng.normal(100 + shift, 10, rows)])
    channel = rng.choice(["web", "app", "store"], 2 * rows)
    with ModelLogger(model, "2.0", storage_path=storage) as monitor:
        for i in range(2 * rows):
            monitor.log_prediction(f"{model}-{i}", {"amount": float(amount[i]),
                                                    "channel": str(channel[i])},
                                   int(i % 3 == 0), latency_ms=5.0)
    return {"amount": amount}


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text("[drift]\nwindow = 300\nreference_rows = 300\n" + text, encoding="utf-8")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_no_drift_exits_0_even_with_fail_on_drift(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=0.0)
    code = main(["drift", "--storage", str(tmp_path / "data"),
                 "--config", str(write_config(tmp_path)), "--fail-on-drift"])
    out = capsys.readouterr().out
    assert code == 0
    assert "0 of 2 features drifted" in out


def test_a_drifted_feature_exits_1_with_fail_on_drift_and_0_without(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "200")
    write_storage(tmp_path / "data", shift=15.0)
    args = ["drift", "--storage", str(tmp_path / "data"), "--config", str(write_config(tmp_path))]
    assert main([*args, "--fail-on-drift"]) == 1
    table = capsys.readouterr().out
    assert main(args) == 0
    assert "DRIFT" in table
    assert table.index("amount") < table.index("channel"), "worst feature first"


def test_json_lists_every_feature_with_the_keys_of_issue_3(tmp_path, capsys):
    amount = write_storage(tmp_path / "data", shift=15.0)["amount"]
    code, report = run_json(capsys, "drift", "--json", "--storage", str(tmp_path / "data"),
                            "--config", str(write_config(tmp_path)))
    assert code == 0
    assert report["drift"] is True
    (model,) = report["models"]
    assert (model["name"], model["version"]) == ("fraud", "2.0")
    assert model["reference"] == "first 300 records"
    features = {f["name"]: f for f in model["features"]}
    assert set(features) == {"amount", "channel"}
    assert set(features["amount"]) >= ISSUE_KEYS | NUMERIC_KEYS
    assert set(features["channel"]) >= ISSUE_KEYS | CATEGORICAL_KEYS
    assert features["amount"]["kind"] == "numeric"
    assert features["channel"]["kind"] == "categorical"
    assert features["amount"]["drifted"] is True
    expected = stats.ks_2samp(amount[:300], amount[300:])
    assert features["amount"]["ks_statistic"] == pytest.approx(expected.statistic, abs=1e-12)
    assert features["amount"]["ks_p_value"] == pytest.approx(expected.pvalue, rel=1e-6)
    assert model["drifted_features"] == ["amount"]


def test_window_takes_the_newest_n_records(tmp_path, capsys):
    amount = write_storage(tmp_path / "data", shift=15.0)["amount"]
    _, report = run_json(capsys, "drift", "--json", "--window", "120", "--storage",
                         str(tmp_path / "data"), "--config", str(write_config(tmp_path)))
    (amount_drift,) = [f for f in report["models"][0]["features"] if f["name"] == "amount"]
    assert report["models"][0]["n_current"] == 120
    expected = stats.ks_2samp(amount[:300], amount[-120:]).statistic
    assert amount_drift["ks_statistic"] == pytest.approx(expected, abs=1e-12)


def test_a_reference_file_is_what_the_window_is_compared_with(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=15.0)
    write_storage(tmp_path / "shifted", shift=15.0, seed=12)
    lines = sorted((tmp_path / "shifted" / "predictions").glob("*.jsonl"))[0].read_text()
    reference = tmp_path / "reference.jsonl"
    reference.write_text("".join(lines.splitlines(keepends=True)[300:]), encoding="utf-8")
    code, report = run_json(capsys, "drift", "--json", "--fail-on-drift",
                            "--reference", str(reference), "--storage", str(tmp_path / "data"),
                            "--config", str(write_config(tmp_path)))
    assert code == 0
    model = report["models"][0]
    assert model["reference"] == str(reference)
    assert model["n_reference"] == 300
    assert model["drifted_features"] == []


@pytest.mark.parametrize("content", [None, "directory", "not json at all\n{\"timestamp\": 1}\n"])
def test_a_bad_reference_file_exits_2_naming_it(tmp_path, capsys, content):
    write_storage(tmp_path / "data", shift=0.0)
    reference = tmp_path / "reference.jsonl"
    if content == "directory":
        reference.mkdir()
    elif content is not None:
        reference.write_text(content, encoding="utf-8")
    code = main(["drift", "--reference", str(reference), "--storage", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"neural-tui: {reference}: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_a_device_as_reference_is_refused_at_once(tmp_path, kind):
    write_storage(tmp_path / "data", shift=0.0, rows=20)
    reference = Path("/dev/zero")
    if kind == "fifo":
        reference = tmp_path / "reference.jsonl"
        os.mkfifo(reference)
    result = subprocess.run(
        [str(Path(sys.executable).with_name("neural-tui")), "quality", "--reference",
         str(reference), "--storage", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"neural-tui: {reference}: reference is not a regular file\n"


def test_a_reference_file_over_the_size_limit_is_refused_unread(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=0.0, rows=20)
    reference = tmp_path / "huge.jsonl"
    with reference.open("wb") as sparse:
        sparse.truncate(MAX_REFERENCE_BYTES + 1)
    code = main(["drift", "--reference", str(reference), "--storage", str(tmp_path / "data")])
    assert code == 2
    assert capsys.readouterr().err == (f"neural-tui: {reference}: reference file is larger "
                                       "than 64 MiB\n")


def test_a_configured_bad_reference_exits_2_too(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=0.0)
    config = write_config(tmp_path, "[[models]]\nname = 'fraud'\nreference = 'absent.jsonl'\n")
    code = main(["quality", "--config", str(config), "--storage", str(tmp_path / "data")])
    assert code == 2
    assert f"{tmp_path / 'absent.jsonl'}: reference file not found" in capsys.readouterr().err


def test_a_model_with_too_few_records_waits_for_its_reference(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=15.0, rows=100)
    code, report = run_json(capsys, "drift", "--json", "--storage", str(tmp_path / "data"))
    model = report["models"][0]
    assert code == 0
    assert model["features"] == []
    assert model["waiting"] == "reference 200/1000 records"


def test_fail_on_drift_without_a_verdict_is_bad_input_not_a_pass(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=15.0, rows=100)
    code = main(["drift", "--fail-on-drift", "--storage", str(tmp_path / "data")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--fail-on-drift: no drift verdict for" in err
    assert err.count("\n") == 1


def test_unknown_model_is_bad_usage(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=0.0)
    assert main(["drift", "--model", "nope", "--storage", str(tmp_path / "data")]) == 2
    assert "no such model" in capsys.readouterr().err


def test_a_non_positive_window_is_bad_usage(tmp_path, capsys):
    write_storage(tmp_path / "data", shift=0.0)
    assert main(["drift", "--window", "0", "--storage", str(tmp_path / "data")]) == 2
    assert "--window 0" in capsys.readouterr().err


def test_feature_names_from_the_log_are_printed_literally(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    hostile = "[red]amount[/] \x1b[31m"
    with ModelLogger("fraud", "2.0", storage_path=tmp_path / "data") as monitor:
        for i in range(600):
            monitor.log_prediction(str(i), {hostile: float(i)}, 0)
    config = write_config(tmp_path)
    assert main(["drift", "--storage", str(tmp_path / "data"), "--config", str(config)]) == 0
    drift_out = capsys.readouterr().out
    assert main(["quality", "--storage", str(tmp_path / "data"), "--config", str(config)]) == 0
    quality_out = capsys.readouterr().out
    for out in (drift_out, quality_out):
        assert "[red]amount[/]" in out
        assert "\x1b" not in out


def test_quality_json_counts_missing_values_and_new_categories(tmp_path, capsys):
    with ModelLogger("fraud", "2.0", storage_path=tmp_path / "data") as monitor:
        for i in range(300):
            monitor.log_prediction(str(i), {"amount": float(i % 50), "channel": "web"}, 0)
        for i in range(300, 600):
            amount = None if i % 4 == 0 else float(i % 50)
            monitor.log_prediction(str(i), {"amount": amount,
                                            "channel": "kiosk" if i % 5 == 0 else "web"}, 0)
    code, report = run_json(capsys, "quality", "--json", "--storage", str(tmp_path / "data"),
                            "--config", str(write_config(tmp_path)))
    assert code == 0
    model = report["models"][0]
    features = {f["name"]: f for f in model["features"]}
    assert features["amount"]["null_count"] == 75
    assert features["channel"]["new_category_count"] == 60
    assert model["missing_values_rate"] == pytest.approx(75 / 600)
    assert model["reference"] == "first 300 records"


def test_the_installed_command_exits_1_on_drift_and_prints_json(tmp_path):
    write_storage(tmp_path / "data", shift=15.0)
    done = subprocess.run(
        [sys.executable, "-m", "neural_tui.cli", "drift", "--json", "--fail-on-drift",
         "--storage", str(tmp_path / "data"), "--config", str(write_config(tmp_path))],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["models"][0]["drifted_features"] == ["amount"]


def test_concept_drift_alone_sets_the_top_level_flag_and_fails_the_gate(tmp_path, capsys):
    storage = tmp_path / "data"
    with ModelLogger("fraud", "2.0", storage_path=storage) as monitor:
        for i in range(400):
            label = None if i >= 150 else (i % 2 if i < 50 else 1 - i % 2)
            monitor.log_prediction(f"p{i}", {"x": float(i % 10)}, i % 2, ground_truth=label,
                                   latency_ms=5.0)
    config = tmp_path / "neural-tui.toml"
    config.write_text("[drift]\nwindow = 200\nreference_rows = 200\nconcept_threshold = 10\n",
                      encoding="utf-8")
    args = ["drift", "--storage", str(storage), "--config", str(config)]

    code, report = run_json(capsys, *args, "--json")
    model = report["models"][0]
    assert code == 0
    assert not any(feature["drifted"] for feature in model["features"])
    assert model["scores"]["concept"] >= 1.0
    assert model["drift_kinds"] == ["concept"]
    assert model["drifted"] is True
    assert report["drift"] is True
    assert main([*args, "--fail-on-drift"]) == 1


def test_prediction_drift_is_a_table_of_its_own_after_the_features(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    write_storage(tmp_path / "data", shift=0.0)
    assert main(["drift", "--storage", str(tmp_path / "data"),
                 "--config", str(write_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    heading = out.index("model output (prediction drift, not counted among the features)")
    assert "0 of 2 features drifted" in out
    assert out.index("amount") < heading < out.rindex("prediction")


@pytest.mark.parametrize("columns", ["80", "120"])
def test_the_drift_table_cuts_no_figure_on_a_narrow_terminal(tmp_path, capsys, monkeypatch,
                                                             columns):
    """`0.0001…` would read as another number: a figure is whole, or its column left out."""
    write_storage(tmp_path / "data", shift=0.0)
    args = ["drift", "--storage", str(tmp_path / "data"), "--config", str(write_config(tmp_path))]
    _, report = run_json(capsys, *args, "--json")
    monkeypatch.setenv("COLUMNS", columns)
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "…" not in table
    for feature in report["models"][0]["features"]:
        for key in ("statistic", "p_value", "threshold"):
            assert f"{feature[key]:.4g}" in table, (feature["name"], key)
    left_out = "PSI, W normed, JS left out at this width (--json has them)"
    assert (left_out in table) == (columns == "80")
