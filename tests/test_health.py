"""`neural-tui health` against every `[health]` limit, each crossed by data built to cross it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neural_tui import ModelLogger
from neural_tui.cli import main

ROWS = 300


def health(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str) -> tuple[int, Any]:
    path = tmp_path / "neural-tui.toml"
    path.write_text(f"[storage]\npath = 'data'\n[drift]\nwindow = {ROWS}\n"
                    f"reference_rows = {ROWS}\n{config}", encoding="utf-8")
    code = main(["health", "--config", str(path), "--json"])
    return code, json.loads(capsys.readouterr().out)


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    (model,) = report["models"]
    (found,) = (c for c in model["checks"] if c["check"] == name)
    return found


def write_shifted(storage: Path, shift: float) -> None:
    """ROWS reference rows of three features, then ROWS with `a` and `b` moved by `shift`
    standard deviations (`c` unchanged)."""
    rng = np.random.default_rng(5)
    with ModelLogger("fraud", "1.0", storage_path=storage) as monitor:
        for i in range(2 * ROWS):
            moved = shift if i >= ROWS else 0.0
            features = {"a": rng.normal(moved, 1.0), "b": rng.normal(moved, 1.0),
                        "c": rng.normal(0.0, 1.0)}
            monitor.log_prediction(f"p{i}", features, 0, latency_ms=5.0)


def test_a_drifted_share_above_the_limit_fails_naming_the_check(tmp_path, capsys):
    write_shifted(tmp_path / "data", shift=3.0)
    code, report = health(capsys, tmp_path, "[health]\nmax_drifted_share = 0.5\n")
    assert code == 1
    assert check(report, "fail_on_drift") == {
        "check": "fail_on_drift", "status": "failed", "detail": "drifted: distribution"}
    found = check(report, "max_drifted_share")
    assert found["status"] == "failed"
    assert found["detail"] == "drifted share 67% (2 of 3 features) above 50%"
    assert found["detail"] in report["models"][0]["problems"]


def test_a_drifted_share_within_the_limit_passes(tmp_path, capsys):
    write_shifted(tmp_path / "data", shift=0.0)
    code, report = health(capsys, tmp_path, "[health]\nmax_drifted_share = 0.5\n")
    assert check(report, "max_drifted_share")["status"] == "ok"
    assert code == 0


def test_a_quality_score_below_the_limit_fails_naming_the_check(tmp_path, capsys):
    with ModelLogger("fraud", "1.0", storage_path=tmp_path / "data") as monitor:
        for i in range(2 * ROWS):
            missing = i >= ROWS and i % 2 == 0
            monitor.log_prediction(f"p{i}", {"a": None if missing else float(i % 7)}, 0,
                                   latency_ms=5.0)
    # Only missing values weigh, so the score is 1 - the missing share: 1 - 150/300.
    code, report = health(capsys, tmp_path, "[health]\nmin_quality_score = 0.7\n"
                          "[quality.weights]\nmissing = 1\ntype_violations = 0\n"
                          "out_of_range = 0\noutliers = 0\nnew_categories = 0\nschema = 0\n")
    assert code == 1
    assert check(report, "min_quality_score") == {
        "check": "min_quality_score", "status": "failed",
        "detail": "quality score 0.500 below 0.7"}


def write_labelled(storage: Path, labels: int, correct: int) -> None:
    with ModelLogger("fraud", "1.0", storage_path=storage) as monitor:
        for i in range(labels):
            monitor.log_prediction(f"p{i}", {"a": float(i)}, 1,
                                   ground_truth=1 if i < correct else 0, latency_ms=5.0)


def test_an_accuracy_below_the_limit_fails_naming_the_check(tmp_path, capsys):
    write_labelled(tmp_path / "data", labels=100, correct=40)
    code, report = health(capsys, tmp_path, "[health]\nmin_accuracy = 0.9\n")
    assert code == 1
    assert check(report, "min_accuracy") == {
        "check": "min_accuracy", "status": "failed",
        "detail": "accuracy 40.00% over 100 labels below 90.00%"}


def test_too_few_labels_wait_for_an_accuracy_verdict_without_failing(tmp_path, capsys):
    write_labelled(tmp_path / "data", labels=10, correct=0)
    code, report = health(capsys, tmp_path, "[health]\nmin_accuracy = 0.9\n")
    assert code == 0
    assert check(report, "min_accuracy") == {
        "check": "min_accuracy", "status": "waiting",
        "detail": "accuracy: 10 of 30 labelled predictions needed"}
    assert report["models"][0]["waiting"][-1] == "accuracy: 10 of 30 labelled predictions needed"


def test_no_reference_yet_waits_for_drift_and_quality_verdicts_without_failing(tmp_path, capsys):
    write_labelled(tmp_path / "data", labels=100, correct=100)
    code, report = health(capsys, tmp_path, "")
    assert code == 0
    assert check(report, "max_drifted_share") == {
        "check": "max_drifted_share", "status": "waiting",
        "detail": f"drifted share: reference 100/{ROWS} records"}
    assert check(report, "min_quality_score")["status"] == "waiting"
    assert check(report, "fail_on_drift") == {
        "check": "fail_on_drift", "status": "waiting",
        "detail": f"drift: reference 100/{ROWS} records"}
    assert [c["check"] for c in report["models"][0]["checks"]] == [
        "max_error_rate", "fail_on_drift", "max_drifted_share", "min_quality_score"]


def test_the_text_report_names_each_failed_check(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    write_labelled(tmp_path / "data", labels=100, correct=40)
    config = tmp_path / "neural-tui.toml"
    config.write_text("[storage]\npath = 'data'\n[health]\nmin_accuracy = 0.9\n")
    assert main(["health", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "UNHEALTHY  fraud 1.0: min_accuracy: accuracy 40.00% over 100 labels below 90.00%" in out
    assert "(waiting: drift: reference 100/1000 records; drifted share: " in out


def test_concept_drift_alone_fails_health_as_it_fails_the_drift_gate(tmp_path, capsys):
    """The one drift verdict: concept drift with no feature drifted is drift for health too."""
    with ModelLogger("fraud", "1.0", storage_path=tmp_path / "data") as monitor:
        for i in range(400):
            label = None if i >= 150 else (i % 2 if i < 50 else 1 - i % 2)
            monitor.log_prediction(f"p{i}", {"x": float(i % 10)}, i % 2, ground_truth=label,
                                   latency_ms=5.0)
    config = ("[drift]\nconcept_threshold = 10\n[health]\nmax_drifted_share = 0.5\n"
              "min_quality_score = 0\n")
    path = tmp_path / "neural-tui.toml"
    path.write_text(f"[storage]\npath = 'data'\n{config}", encoding="utf-8")
    path.write_text(path.read_text().replace("[drift]", "[drift]\nwindow = 200\n"
                                             "reference_rows = 200"), encoding="utf-8")
    assert main(["health", "--config", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert check(report, "fail_on_drift") == {
        "check": "fail_on_drift", "status": "failed", "detail": "drifted: concept"}
    assert check(report, "max_drifted_share")["status"] == "ok"


def test_without_fail_on_drift_feature_drift_fails_only_beyond_the_share(tmp_path, capsys):
    write_shifted(tmp_path / "data", shift=3.0)
    code, report = health(capsys, tmp_path,
                          "[health]\nfail_on_drift = false\nmax_drifted_share = 0.7\n")
    assert [c["check"] for c in report["models"][0]["checks"]][:2] == [
        "max_error_rate", "max_drifted_share"]
    assert check(report, "max_drifted_share")["status"] == "ok"
    assert code == 0
