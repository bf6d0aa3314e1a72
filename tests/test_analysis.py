"""The engines on the runtime's schedule: off the event loop, one run per model at a time, a
reference built once (from a file or the first records), and failures that cost nothing else."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from neural_tui.config import (
    AnalysisSection,
    DriftSection,
    ModelSection,
    QualitySection,
    QualityWeightsSection,
    RuntimeSection,
    Settings,
    StorageSection,
)
from neural_tui.engines.concept import PageHinkley
from neural_tui.engines.drift import DriftSettings
from neural_tui.engines.quality import QualitySettings, QualityWeights
from neural_tui.records import IngestBatch, RecordBatch
from neural_tui.runtime import analysis as analysis_module
from neural_tui.runtime.analysis import Analysis
from neural_tui.runtime.engine_settings import drift_settings, quality_settings
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.runtime.state import ModelState, StateLimits
from neural_tui.runtime.verdict import performance_drop
from tests.batches import ListSource, make_batch

T0 = 1_700_000_000.0
KEY = ("m", "1")


def feature_batch(
    x: Sequence[float],
    *,
    start: int = 0,
    predictions: Sequence[Any] | None = None,
    ground_truth: Sequence[Any] | None = None,
    features: Sequence[dict[str, Any]] | None = None,
) -> RecordBatch:
    """Predictions with one numeric feature `x` (or the given feature objects)."""
    rows = features if features is not None else [{"x": float(v)} for v in x]
    n = len(rows)
    return make_batch(
        [T0 + start + i for i in range(n)],
        ids=[f"p{start + i}" for i in range(n)],
        features=[json.dumps(row).encode() for row in rows],
        predictions=predictions,
        ground_truth=ground_truth,
    )


def settings_for(tmp_path: Path, **drift: Any) -> Settings:
    return Settings(
        storage=StorageSection(tmp_path),
        runtime=RuntimeSection(cadence_seconds=0.01),
        analysis=AnalysisSection(interval_seconds=0.01, every_records=1),
        drift=DriftSection(**{"window": 200, "reference_rows": 200, **drift}),
    )


def state_for(settings: Settings) -> ModelState:
    return ModelState("m", "1", analysis_module.state_limits(settings))


def write_reference(path: Path, lines: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path



async def run_until(runtime: Runtime, done: Any) -> Snapshot:
    """Run the runtime until `done(snapshot)` holds for a published snapshot."""
    seen: list[Snapshot] = []
    runtime.subscribe(seen.append)
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(20):
            while not (seen and done(seen[-1])):
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return seen[-1]


async def test_scheduled_runs_happen_off_the_event_loop_and_reach_the_snapshot(
    tmp_path, monkeypatch
):
    threads: list[int] = []
    real_detect = analysis_module.detect

    def detect_recording_thread(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real_detect(*args, **kwargs)

    monkeypatch.setattr(analysis_module, "detect", detect_recording_thread)
    rng = np.random.default_rng(3)
    source = ListSource([IngestBatch(feature_batch(rng.normal(0, 1, 200))),
                         IngestBatch(feature_batch(rng.normal(3, 1, 200), start=200))])
    runtime = Runtime(settings_for(tmp_path), [source])

    snapshot = await run_until(runtime, lambda s: bool(
        s.models and s.models[0].drift is not None and s.models[0].drift.n_current == 200
        and s.models[0].drift.drifted_features))

    model = snapshot.models[0]
    assert threads
    assert threading.get_ident() not in threads
    assert model.drift is not None and model.drift.drifted_features == ("x",)
    assert model.quality is not None and model.quality.rows == 200
    assert model.drift_scores["distribution"] == 1.0
    assert model.feature_drift_history["x"][-1] == model.drift.features[0].statistic


async def test_a_model_is_never_analysed_twice_at_once(tmp_path, monkeypatch):
    release = threading.Event()
    started = threading.Semaphore(0)
    calls = 0
    real_check = analysis_module.check

    def blocking_check(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        started.release()
        release.wait(10)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(analysis_module, "check", blocking_check)
    rng = np.random.default_rng(4)
    source = ListSource([IngestBatch(feature_batch(rng.normal(0, 1, 200)))])
    runtime = Runtime(settings_for(tmp_path), [source])
    task = asyncio.create_task(runtime.run())
    try:
        await asyncio.to_thread(started.acquire, timeout=10)
        runtime.ingest(IngestBatch(feature_batch(rng.normal(0, 1, 50), start=200)))
        assert runtime.analysis.due(KEY, runtime.states[KEY]) is False
        await asyncio.sleep(0.2)  # many scheduler ticks, with new records waiting all along
        assert calls == 1
        release.set()
        await asyncio.to_thread(started.acquire, timeout=10)
    finally:
        release.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert calls == 2, "the records that came in meanwhile get their run afterwards"


def scheduled(tmp_path: Path) -> tuple[list[float], Analysis, ModelState]:
    """An Analysis due every 10 s or 50 records on a clock the test moves by hand (`now[0]`,
    starting at 100 s), and a model state for it."""
    now = [100.0]
    settings = replace(settings_for(tmp_path),
                       analysis=AnalysisSection(interval_seconds=10.0, every_records=50))
    return now, Analysis(settings, clock=lambda: now[0]), state_for(settings)


def test_a_run_is_due_after_every_records_or_the_interval_whichever_first(tmp_path):
    now, analysis, state = scheduled(tmp_path)
    assert not analysis.due(KEY, state)
    state.ingest(feature_batch(np.zeros(5)))
    assert analysis.due(KEY, state)
    analysis.analyse_now(KEY, state)
    state.ingest(feature_batch(np.zeros(49), start=5))
    assert not analysis.due(KEY, state)
    state.ingest(feature_batch(np.zeros(1), start=54))
    assert analysis.due(KEY, state)
    analysis.analyse_now(KEY, state)
    state.ingest(feature_batch(np.zeros(1), start=55))
    now[0] += 10.0
    assert analysis.due(KEY, state)
    analysis.analyse_now(KEY, state)
    now[0] += 60.0
    assert not analysis.due(KEY, state), "nothing new: no run, however long it has been"


def test_while_a_source_reads_a_backlog_only_the_interval_starts_a_run(tmp_path):
    now, analysis, state = scheduled(tmp_path)
    state.ingest(feature_batch(np.zeros(5)))
    analysis.analyse_now(KEY, state)
    analysis.catching_up = True
    state.ingest(feature_batch(np.zeros(500), start=5))
    assert not analysis.due(KEY, state), "ten times every_records, but a backlog is being read"
    now[0] += 10.0
    assert analysis.due(KEY, state)
    analysis.analyse_now(KEY, state)
    state.ingest(feature_batch(np.zeros(50), start=505))
    assert not analysis.due(KEY, state)
    analysis.catching_up = False
    assert analysis.due(KEY, state), "caught up: the records read last get their run at once"


def test_a_backlog_read_at_start_up_waits_an_interval_from_the_start_for_its_first_run(tmp_path):
    now, analysis, state = scheduled(tmp_path)
    analysis.catching_up = True
    state.ingest(feature_batch(np.zeros(500)))
    now[0] += 9.9
    assert not analysis.due(KEY, state), "never ran, but the backlog is younger than an interval"
    now[0] += 0.1
    assert analysis.due(KEY, state), "an interval since the start: the backlog gets its run"


def test_a_storage_read_within_an_interval_gets_its_first_run_once_read(tmp_path):
    now, analysis, state = scheduled(tmp_path)
    analysis.catching_up = True
    state.ingest(feature_batch(np.zeros(5)))
    now[0] += 1.0
    assert not analysis.due(KEY, state)
    analysis.catching_up = False
    assert analysis.due(KEY, state), "never ran: the first records caught up get a run at once"


def test_without_a_reference_file_the_reference_is_the_first_n_records(tmp_path):
    settings = settings_for(tmp_path, reference_rows=150, window=100)
    state = state_for(settings)
    analysis = Analysis(settings)
    rng = np.random.default_rng(5)
    first = rng.normal(0, 1, 150)
    state.ingest(feature_batch(first[:100]))
    assert analysis.analyse_now(KEY, state).drift is None
    assert analysis.result(KEY).waiting == "reference 100/150 records"

    later = rng.normal(0.5, 1, 300)
    state.ingest(feature_batch(first[100:], start=100))
    state.ingest(feature_batch(later, start=150))
    result = analysis.analyse_now(KEY, state)

    assert result.reference == "first 150 records"
    assert result.drift is not None
    x = result.drift.feature("x")
    expected = stats.ks_2samp(first, later[-100:])
    assert x is not None and x.test == "ks"
    assert (x.n_reference, x.n_current) == (150, 100)
    assert x.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert x.p_value == pytest.approx(expected.pvalue, rel=1e-6)


def test_a_reference_file_replaces_the_first_records(tmp_path):
    rng = np.random.default_rng(6)
    file_x = rng.normal(3, 1, 120)
    lines: list[dict[str, Any]] = [
        {"timestamp": T0, "prediction_id": f"r{i}", "input_features": {"x": float(v)},
         "prediction": 1, "ground_truth": 1 if i < 40 else None}
        for i, v in enumerate(file_x)
    ]
    lines.append({"timestamp": T0, "prediction_id": "r50", "ground_truth": 0})
    reference = write_reference(tmp_path / "reference.jsonl", lines)
    settings = replace(settings_for(tmp_path, reference_rows=50, window=100),
                       models=(ModelSection("m", "1", reference),))
    state = state_for(settings)
    current = rng.normal(3, 1, 100)
    state.ingest(feature_batch(current))

    result = Analysis(settings).analyse_now(KEY, state)

    assert result.reference == str(reference)
    assert result.drift is not None
    x = result.drift.feature("x")
    assert x is not None and not x.drifted
    assert x.n_reference == 120
    assert x.statistic == pytest.approx(stats.ks_2samp(file_x, current).statistic, abs=1e-12)
    assert result.reference_performance is not None
    assert result.reference_performance.n_labelled == 41
    assert result.reference_performance.accuracy == pytest.approx(40 / 41)


def test_reference_statistics_are_computed_once_per_model(tmp_path, monkeypatch):
    built: list[int] = []
    real_build = analysis_module.build_reference

    def counting_build(columns: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return real_build(columns, *args, **kwargs)

    monkeypatch.setattr(analysis_module, "build_reference", counting_build)
    settings = settings_for(tmp_path, reference_rows=50, window=50)
    state = state_for(settings)
    analysis = Analysis(settings)
    rng = np.random.default_rng(7)
    for step in range(4):
        state.ingest(feature_batch(rng.normal(0, 1, 50), start=50 * step))
        assert analysis.analyse_now(KEY, state).drift is not None
    assert len(built) == 1


def test_a_model_without_features_gets_prediction_drift_and_clean_quality(tmp_path):
    settings = settings_for(tmp_path, reference_rows=100, window=100)
    state = state_for(settings)
    state.ingest(feature_batch([], features=[{}] * 100, predictions=[0, 1] * 50))
    state.ingest(feature_batch([], start=100, features=[{}] * 100, predictions=[1] * 100))

    result = Analysis(settings).analyse_now(KEY, state)

    assert result.drift is not None and result.drift.features == ()
    assert result.drift.prediction is not None and result.drift.prediction.drifted
    assert result.quality is not None and result.quality.features == ()
    assert result.quality.score == 1.0


def test_predictions_that_are_json_arrays_are_analysed_whole(tmp_path):
    settings = settings_for(tmp_path, reference_rows=50, window=50)
    state = state_for(settings)
    outputs = [[i % 2, 1 - i % 2] for i in range(100)]
    state.ingest(feature_batch(np.zeros(100), predictions=outputs, ground_truth=outputs))

    result = Analysis(settings).analyse_now(KEY, state)

    assert result.drift is not None and result.drift.prediction is not None
    assert not result.drift.prediction.drifted
    assert result.performance is not None and result.performance.accuracy == 1.0


def test_requests_that_failed_without_features_are_left_out_of_the_windows(tmp_path):
    settings = settings_for(tmp_path, reference_rows=10, window=10)
    state = state_for(settings)
    batch = feature_batch(np.arange(20.0))
    failed = np.array([i % 2 == 1 for i in range(20)])
    batch.input_features[failed] = None
    batch.error[failed] = "timeout"
    state.ingest(batch)

    result = Analysis(settings).analyse_now(KEY, state)

    assert result.quality is not None and result.quality.missing_values_rate == 0.0
    assert result.drift is not None and result.drift.n_reference == 10


def test_an_engine_error_logs_one_line_and_keeps_the_previous_result(
    tmp_path, monkeypatch, caplog
):
    settings = settings_for(tmp_path, reference_rows=100, window=100)
    state = state_for(settings)
    analysis = Analysis(settings)
    rng = np.random.default_rng(8)
    state.ingest(feature_batch(rng.normal(0, 1, 100)))
    first = analysis.analyse_now(KEY, state)

    def broken_check(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("odd data\nsecond line")

    monkeypatch.setattr(analysis_module, "check", broken_check)
    state.ingest(feature_batch(rng.normal(5, 1, 100), start=100))
    with caplog.at_level(logging.WARNING, logger=analysis_module.__name__):
        second = analysis.analyse_now(KEY, state)
        analysis.analyse_now(KEY, state)

    assert second.quality is first.quality
    assert second.drift is not None and second.drift.drifted_features == ("x",)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "the same failure again is not logged again"
    assert "quality failed" in warnings[0]
    assert "odd data second line" in warnings[0]
    assert "\n" not in warnings[0]

    monkeypatch.undo()
    assert analysis.analyse_now(KEY, state).quality is not first.quality


def test_a_bad_reference_file_in_the_runtime_is_logged_and_waits(tmp_path, caplog):
    missing = tmp_path / "absent.jsonl"
    settings = replace(settings_for(tmp_path, reference_rows=10, window=10),
                       models=(ModelSection("m", "1", missing),))
    state = state_for(settings)
    state.ingest(feature_batch(np.arange(20.0)))
    with caplog.at_level(logging.WARNING, logger=analysis_module.__name__):
        result = Analysis(settings).analyse_now(KEY, state)

    assert result.drift is None
    assert result.waiting == f"{missing}: reference file not found"
    assert result.performance is not None
    assert any(str(missing) in r.getMessage() for r in caplog.records)


def test_concept_drift_is_fed_the_labelled_errors_in_stream_order_across_runs(tmp_path):
    settings = settings_for(tmp_path, reference_rows=10, window=10, concept_threshold=5.0)
    state = state_for(settings)
    analysis = Analysis(settings)
    rng = np.random.default_rng(9)
    truth = rng.integers(0, 2, 400).tolist()
    wrong = [i >= 200 and rng.random() < 0.6 for i in range(400)]
    predicted = [1 - t if w else t for t, w in zip(truth, wrong, strict=True)]
    for start in (0, 150, 300):
        rows = range(start, start + (150 if start < 300 else 100))
        batch = feature_batch(np.zeros(len(rows)), start=start,
                              predictions=[predicted[i] for i in rows])
        labels = make_batch([T0 + 999] * len(rows), ids=[f"p{i}" for i in rows],
                            is_label=[True] * len(rows), features=[None] * len(rows),
                            ground_truth=[truth[i] for i in rows])
        state.ingest(labels)
        state.ingest(batch)
        analysis.analyse_now(KEY, state)

    expected = PageHinkley(delta=0.005, threshold=5.0)
    expected.update(np.array(wrong[:150], dtype=float))
    expected.update(np.array(wrong[150:300], dtype=float))
    expected.update(np.array(wrong[300:], dtype=float))
    concept = analysis.result(KEY).concept
    assert concept is not None
    assert concept == expected.state
    assert concept.drifts_total >= 1
    assert analysis.result(KEY).scores()["concept"] == expected.state.normalised


def test_performance_drift_is_the_drop_of_accuracy_against_the_reference_period(tmp_path):
    settings = settings_for(tmp_path, reference_rows=100, window=100)
    state = state_for(settings)
    right = [1, 0] * 50
    half_wrong = [1, 0, 0, 1] * 25
    state.ingest(feature_batch(np.zeros(100), predictions=right, ground_truth=right))
    state.ingest(feature_batch(np.zeros(100), start=100, predictions=right,
                               ground_truth=half_wrong))

    result = Analysis(settings).analyse_now(KEY, state)

    assert result.reference_performance is not None
    assert result.reference_performance.accuracy == 1.0
    assert result.performance is not None and result.performance.accuracy == 0.5
    assert result.performance.n_labelled == 100
    assert result.scores()["performance"] == 0.5


def test_performance_drop_needs_enough_labels_on_both_sides_and_is_never_negative():
    from neural_tui.engines.performance import performance

    reliable_good = performance([1, 0] * 20, [1, 0] * 20)
    reliable_bad = performance([1, 0] * 20, [1, 1] * 20)
    few = performance([1, 0], [1, 1])
    assert performance_drop(reliable_good, reliable_bad) == 0.5
    assert performance_drop(reliable_bad, reliable_good) == 0.0
    assert performance_drop(reliable_good, few) is None
    regression_ref = performance([1.5, 2.5] * 20, [1.0, 2.0] * 20, task="regression")
    regression_now = performance([2.0, 3.0] * 20, [1.0, 2.0] * 20, task="regression")
    assert performance_drop(regression_ref, regression_now) == pytest.approx(1 - 0.5 / 1.0)


def test_config_defaults_are_the_engines_defaults():
    assert drift_settings(DriftSection()) == DriftSettings()
    assert quality_settings(QualitySection(), {}) == QualitySettings()


def test_the_config_accepts_exactly_the_engines_tests_and_kinds():
    from typing import get_args, get_type_hints

    from neural_tui.config import DriftTest, FeatureKindName
    from neural_tui.engines.columns import FeatureKind
    from neural_tui.engines.drift import CORRECTIONS, TESTS

    assert set(get_args(DriftTest)) == set(TESTS)
    assert set(get_args(FeatureKindName)) == set(get_args(FeatureKind))
    assert set(get_args(get_type_hints(DriftSection)["correction"])) == set(CORRECTIONS)


def test_config_values_reach_the_engines():
    config = DriftSection(alpha=0.01, psi_threshold=0.3, correction="bh",
                         tests={"amount": "psi"}, kinds={"zip": "categorical"})
    engine = drift_settings(config)
    assert (engine.alpha, engine.psi_threshold, engine.correction) == (0.01, 0.3, "bh")
    assert dict(engine.feature_tests) == {"amount": "psi"}
    assert dict(engine.feature_kinds) == {"zip": "categorical"}
    quality = quality_settings(
        QualitySection(weights=QualityWeightsSection(missing=1.0), outlier_method="iqr",
                      range_tolerance=0.0),
        config.kinds,
    )
    assert quality.weights == QualityWeights(missing=1.0)
    assert (quality.outlier_method, quality.range_tolerance) == ("iqr", 0.0)
    assert dict(quality.kinds) == {"zip": "categorical"}


def test_state_limits_hold_a_window_larger_than_the_default(tmp_path):
    settings = settings_for(tmp_path, window=12_000, reference_rows=300)
    limits = analysis_module.state_limits(settings)
    assert limits.feature_rows >= 12_000
    assert limits.labelled_pairs >= 12_000
    assert limits.reference_rows == 300
    assert StateLimits().feature_rows < 12_000


def test_with_fewer_labels_than_the_reference_needs_performance_waits_instead_of_scoring_0(
    tmp_path,
):
    settings = settings_for(tmp_path, reference_rows=100, window=100)
    state = state_for(settings)
    analysis = Analysis(settings)
    right, wrong = [1, 0] * 30, [0, 1] * 30
    state.ingest(feature_batch(np.zeros(60), predictions=right, ground_truth=right))
    state.ingest(feature_batch(np.zeros(60), start=60, predictions=right, ground_truth=wrong))

    few = analysis.analyse_now(KEY, state)
    assert "performance" not in few.scores()
    assert few.performance_waiting == "performance: labels 20/30 after the reference period"

    state.ingest(feature_batch(np.zeros(100), start=120, predictions=right + right[:40],
                               ground_truth=wrong + wrong[:40]))
    enough = analysis.analyse_now(KEY, state)
    assert enough.performance_waiting is None
    assert enough.reference_performance is not None
    assert enough.reference_performance.accuracy == pytest.approx(0.6)
    assert enough.performance_compared is not None
    assert enough.performance_compared.accuracy == 0.0
    assert enough.scores()["performance"] == pytest.approx(0.6)
    assert "performance" in enough.drift_kinds


def test_performance_waits_for_the_reference_labels_with_progress(tmp_path):
    settings = settings_for(tmp_path, reference_rows=1000, window=1000)
    state = state_for(settings)
    right, wrong = [1, 0] * 30, [0, 1] * 30
    state.ingest(feature_batch(np.zeros(60), predictions=right, ground_truth=right))
    state.ingest(feature_batch(np.zeros(60), start=60, predictions=right, ground_truth=wrong))

    result = Analysis(settings).analyse_now(KEY, state)

    assert result.performance_waiting == "performance: labels 120/1000 for the reference"
    assert "performance" not in result.scores()
    assert result.performance is not None and result.performance.accuracy == 0.5


def test_feature_names_past_max_features_are_left_out_and_counted(tmp_path):
    settings = replace(settings_for(tmp_path, reference_rows=50, window=50),
                       runtime=RuntimeSection(max_features=20))
    state = state_for(settings)
    analysis = Analysis(settings)
    for run in range(4):
        rows = [{"x": float(i), f"unique_{run}_{i}": 1.0} for i in range(100)]
        state.ingest(feature_batch([], start=run * 100, features=rows))
        result = analysis.analyse_now(KEY, state)

    assert result.drift is not None
    names = {feature.name for feature in result.drift.features}
    assert len(names) <= 20 and "x" in names
    assert len(result.feature_drift_history) <= 20
    reference_dropped, per_window = 50 - 19, 50
    assert result.features_dropped == reference_dropped + 4 * per_window


def test_class_names_unique_per_record_do_not_widen_the_probability_matrix(tmp_path):
    settings = settings_for(tmp_path, reference_rows=50, window=3000)
    state = state_for(settings)
    n = 3000
    probabilities = [json.dumps({f"a{i}": 0.5, f"b{i}": 0.5, "common": 0.0}).encode()
                     for i in range(n)]
    state.ingest(make_batch([T0 + i for i in range(n)], ids=[f"p{i}" for i in range(n)],
                            predictions=[f"a{i}" for i in range(n)],
                            ground_truth=[f"a{i}" for i in range(n)], proba=probabilities))

    matrix, classes = analysis_module._probability_matrix(
        [json.loads(row) for row in state.labelled().prediction_proba])

    assert matrix is not None
    widest = min(analysis_module.MAX_PROBABILITY_CLASSES,
                 analysis_module.MAX_PROBABILITY_CELLS // n)
    assert matrix.shape == (n, widest)
    assert "common" in classes
    assert Analysis(settings).analyse_now(KEY, state).performance is not None


def test_a_wide_window_of_varying_classes_keeps_the_matrix_within_its_cells():
    """100,000 rows naming classes out of 5,000: at most MAX_PROBABILITY_CELLS cells, the most
    named classes kept, and each kept value where its row named it."""
    rng = np.random.default_rng(3)
    names = rng.integers(0, 5000, size=(100_000, 10))
    rows = [{f"c{k}": 0.1 for k in row} | {"common": 0.05} for row in names.tolist()]

    matrix, classes = analysis_module._probability_matrix(rows)

    assert matrix is not None
    assert matrix.size <= analysis_module.MAX_PROBABILITY_CELLS
    assert matrix.shape[0] == 100_000
    assert "common" in classes
    assert np.all(matrix[:, classes.index("common")] == 0.05)
