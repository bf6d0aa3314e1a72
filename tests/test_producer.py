"""The producer API writes contract records that a plain JSON reader gets back whole."""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neural_tui import ModelLogger, PredictionLogger

NOW = 1_700_000_000.25
NEVER = 3600.0  # a flush interval that never fires during a test


def frozen_clock() -> float:
    return NOW


def read_lines(storage: Path) -> list[bytes]:
    return [
        line
        for path in sorted((storage / "predictions").glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


def read_records(storage: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_lines(storage)]


def monitor(storage: Path, **options: Any) -> ModelLogger:
    options.setdefault("flush_interval", NEVER)
    options.setdefault("clock", frozen_clock)
    return ModelLogger("fraud", "1.2.0", storage, **options)


def test_a_prediction_round_trips_with_every_contract_field(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.log_prediction(
            prediction_id="p-1",
            input_features={"amount": 12.5, "country": "DE", "new": True, "missing": None},
            prediction=1,
            prediction_proba={"0": 0.25, "1": 0.75},
            ground_truth=0,
            latency_ms=3.5,
            metadata={"host": "a"},
        )

    assert read_records(tmp_path) == [
        {
            "timestamp": NOW,
            "prediction_id": "p-1",
            "input_features": {"amount": 12.5, "country": "DE", "new": True, "missing": None},
            "prediction": 1,
            "prediction_proba": {"0": 0.25, "1": 0.75},
            "ground_truth": 0,
            "latency_ms": 3.5,
            "metadata": {"host": "a"},
            "model_name": "fraud",
            "model_version": "1.2.0",
        }
    ]


def test_defaults_write_nulls_and_zero_latency_as_the_old_module_did(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.log_prediction(7, {"x": 1}, "yes")

    (record,) = read_records(tmp_path)
    assert record["prediction_id"] == "7"
    assert record["prediction_proba"] is None
    assert record["ground_truth"] is None
    assert record["metadata"] is None
    assert record["latency_ms"] == 0.0


def test_prediction_logger_alone_writes_no_model_fields(tmp_path: Path) -> None:
    with PredictionLogger(tmp_path, flush_interval=NEVER) as writer:
        writer.log_prediction("p", {"x": 1}, 0)

    (record,) = read_records(tmp_path)
    assert "model_name" not in record
    assert "model_version" not in record
    assert not (tmp_path / "monitor_config.json").exists()


def test_late_label_line_has_id_label_and_time_but_no_features(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.log_ground_truth("p-1", 1)

    assert read_records(tmp_path) == [
        {
            "timestamp": NOW,
            "prediction_id": "p-1",
            "ground_truth": 1,
            "model_name": "fraud",
            "model_version": "1.2.0",
        }
    ]


def test_record_error_writes_the_error_type_under_a_fresh_id(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.record_error("timeout")
        writer.record_error("timeout", latency_ms=5000)

    first, second = read_records(tmp_path)
    assert set(first) == {"timestamp", "prediction_id", "error", "model_name", "model_version"}
    assert first["error"] == "timeout"
    assert first["timestamp"] == NOW
    assert second["latency_ms"] == 5000.0
    assert first["prediction_id"] != second["prediction_id"]
    assert "input_features" not in first
    assert "ground_truth" not in first


def test_nan_and_infinity_are_written_as_python_json_tokens_not_null(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.log_prediction(
            "p",
            {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "none": None},
            math.nan,
            latency_ms=1.0,
        )

    (line,) = read_lines(tmp_path)
    assert b'"nan":NaN' in line
    assert b'"inf":Infinity' in line
    assert b'"ninf":-Infinity' in line
    assert b'"none":null' in line
    assert b'"prediction":NaN' in line
    record = json.loads(line)
    assert math.isnan(record["input_features"]["nan"])
    assert record["input_features"]["none"] is None


def test_numpy_scalars_and_arrays_are_written_as_json_numbers(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.log_prediction(
            "p",
            {
                "count": np.int64(3),
                "score": np.float32(0.5),
                "missing": np.float32("nan"),
                "vector": np.array([1.0, np.inf]),
            },
            np.int64(1),
            prediction_proba={"1": np.float64(0.75)},
            latency_ms=np.float32(2.5),
        )

    (line,) = read_lines(tmp_path)
    assert b'"missing":NaN' in line
    assert b'"vector":[1.0,Infinity]' in line
    record = json.loads(line)
    assert record["input_features"]["count"] == 3
    assert record["input_features"]["score"] == 0.5
    assert record["prediction"] == 1
    assert record["prediction_proba"] == {"1": 0.75}
    assert record["latency_ms"] == 2.5


def test_two_flushes_in_the_same_second_both_survive(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.log_prediction("first", {"x": 1}, 0)
        writer.flush()
        writer.log_prediction("second", {"x": 2}, 0)
        writer.flush()

    assert [record["prediction_id"] for record in read_records(tmp_path)] == ["first", "second"]


def test_two_writers_sharing_one_storage_never_overwrite_each_other(tmp_path: Path) -> None:
    existing = tmp_path / "predictions" / "predictions_old.jsonl"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b'{"timestamp": 1, "prediction_id": "old"}\n')
    with monitor(tmp_path) as one, monitor(tmp_path) as other:
        one.log_prediction("from-one", {"x": 1}, 0)
        other.log_prediction("from-other", {"x": 1}, 0)
        one.flush()
        other.flush()

    ids = sorted(record["prediction_id"] for record in read_records(tmp_path))
    assert ids == ["from-one", "from-other", "old"]
    assert len(list((tmp_path / "predictions").glob("*.jsonl"))) == 3


def test_size_rotation_spreads_records_over_files_and_loses_none(tmp_path: Path) -> None:
    with monitor(tmp_path, max_file_bytes=2_000, batch_size=64) as writer:
        for index in range(500):
            writer.log_prediction(f"p-{index}", {"x": index}, 0)

    files = sorted((tmp_path / "predictions").glob("*.jsonl"))
    assert len(files) > 10
    assert all(path.stat().st_size <= 2_000 for path in files)
    ids = [record["prediction_id"] for record in read_records(tmp_path)]
    assert sorted(ids) == sorted(f"p-{index}" for index in range(500))


def test_a_record_longer_than_the_file_size_limit_still_gets_its_own_file(tmp_path: Path) -> None:
    with monitor(tmp_path, max_file_bytes=50) as writer:
        writer.log_prediction("long", {"text": "x" * 200}, 0)
        writer.log_prediction("next", {"x": 1}, 0)

    assert len(list((tmp_path / "predictions").glob("*.jsonl"))) == 2
    assert [record["prediction_id"] for record in read_records(tmp_path)] == ["long", "next"]


def test_concurrent_threads_lose_nothing_and_never_interleave_lines(tmp_path: Path) -> None:
    threads_count, per_thread = 8, 5_000
    writer = monitor(tmp_path, batch_size=500, max_file_bytes=256_000)
    start = threading.Barrier(threads_count)

    def produce(thread: int) -> None:
        start.wait()
        for index in range(per_thread):
            writer.log_prediction(f"t{thread}-{index}", {"thread": thread, "i": index}, index)

    workers = [threading.Thread(target=produce, args=(n,)) for n in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    writer.close()

    records = read_records(tmp_path)  # json.loads fails on any interleaved partial line
    ids = Counter(record["prediction_id"] for record in records)
    assert len(records) == threads_count * per_thread
    assert set(ids.values()) == {1}
    for record in records:
        thread, index = record["input_features"]["thread"], record["input_features"]["i"]
        assert record["prediction_id"] == f"t{thread}-{index}"


def test_sampling_keeps_about_the_rate_and_labels_follow_their_predictions(
    tmp_path: Path,
) -> None:
    with monitor(tmp_path, sample_rate=0.3) as writer:
        for index in range(20_000):
            writer.log_prediction(f"req-{index}", {"x": index}, 0)
        for index in range(20_000):
            writer.log_ground_truth(f"req-{index}", 1)

    records = read_records(tmp_path)
    predicted = {r["prediction_id"] for r in records if "input_features" in r}
    labelled = {r["prediction_id"] for r in records if "input_features" not in r}
    assert 0.28 < len(predicted) / 20_000 < 0.32
    assert labelled == predicted


def test_sample_rate_zero_writes_nothing_and_one_writes_everything(tmp_path: Path) -> None:
    with monitor(tmp_path / "none", sample_rate=0.0) as writer:
        for index in range(100):
            writer.log_prediction(f"req-{index}", {"x": index}, 0)
    with monitor(tmp_path / "all", sample_rate=1.0) as writer:
        for index in range(100):
            writer.log_prediction(f"req-{index}", {"x": index}, 0)

    assert read_records(tmp_path / "none") == []
    assert len(read_records(tmp_path / "all")) == 100


def test_records_wait_in_the_buffer_until_a_batch_fills(tmp_path: Path) -> None:
    with monitor(tmp_path, batch_size=10) as writer:
        for index in range(9):
            writer.log_prediction(f"p-{index}", {"x": index}, 0)
        assert read_records(tmp_path) == []
        writer.log_prediction("p-9", {"x": 9}, 0)
        assert len(read_records(tmp_path)) == 10


def test_close_flushes_what_is_buffered_and_then_refuses_records(tmp_path: Path) -> None:
    writer = monitor(tmp_path)
    writer.log_prediction("p", {"x": 1}, 0)
    writer.close()
    writer.close()

    assert [record["prediction_id"] for record in read_records(tmp_path)] == ["p"]
    with pytest.raises(RuntimeError, match="closed"):
        writer.log_prediction("q", {"x": 1}, 0)


def test_context_manager_closes_and_flushes_on_exit(tmp_path: Path) -> None:
    with monitor(tmp_path) as writer:
        writer.log_prediction("p", {"x": 1}, 0)
        assert read_records(tmp_path) == []

    assert len(read_records(tmp_path)) == 1
    with pytest.raises(RuntimeError):
        writer.log_ground_truth("p", 1)


def test_the_flush_thread_writes_without_an_explicit_flush(tmp_path: Path) -> None:
    with monitor(tmp_path, flush_interval=0.02) as writer:
        writer.log_prediction("p", {"x": 1}, 0)
        deadline = time.monotonic() + 10.0
        while not read_lines(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [record["prediction_id"] for record in read_records(tmp_path)] == ["p"]


def test_monitor_config_names_the_model_as_the_old_module_wrote_it(tmp_path: Path) -> None:
    with monitor(tmp_path):
        pass

    config = json.loads((tmp_path / "monitor_config.json").read_text())
    assert config["model_name"] == "fraud"
    assert config["model_version"] == "1.2.0"
    assert isinstance(config["created_at"], str)


def test_monitor_config_of_another_model_is_left_alone(tmp_path: Path) -> None:
    config = tmp_path / "monitor_config.json"
    config.write_text('{"model_name": "churn", "model_version": "3", "created_at": "x"}')
    with monitor(tmp_path):
        pass

    assert json.loads(config.read_text())["model_name"] == "churn"


def test_monitor_config_follows_a_new_version_of_the_same_model(tmp_path: Path) -> None:
    with ModelLogger("fraud", "1.0", tmp_path, flush_interval=NEVER):
        pass
    with ModelLogger("fraud", "2.0", tmp_path, flush_interval=NEVER):
        pass

    assert json.loads((tmp_path / "monitor_config.json").read_text())["model_version"] == "2.0"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda w: w.log_prediction("p", [1, 2], 0), TypeError, "input_features must be a dict"),
        (lambda w: w.log_prediction("p", {"x": 1}, 0, [0.5]), TypeError, "prediction_proba"),
        (lambda w: w.log_prediction("p", {"x": 1}, 0, metadata="m"), TypeError, "metadata"),
        (lambda w: w.log_prediction("p", {"x": 1}, 0, latency_ms="5"), TypeError, "latency_ms"),
        (lambda w: w.log_prediction("p", {"x": 1}, 0, latency_ms=-1), ValueError, "latency_ms"),
        (lambda w: w.log_prediction(True, {"x": 1}, 0), TypeError, "prediction_id"),
        (lambda w: w.log_prediction("", {"x": 1}, 0), ValueError, "prediction_id"),
        (lambda w: w.log_prediction("p", {(1, 2): 1}, 0), TypeError, "'p'"),
        (lambda w: w.log_prediction("p", {"x": {1, 2}}, 0), TypeError, "'p'"),
        (lambda w: w.log_ground_truth("p", None), ValueError, "ground_truth"),
        (lambda w: w.record_error(""), TypeError, "error_type"),
    ],
)
def test_invalid_arguments_raise_a_clear_error_and_write_nothing(
    tmp_path: Path, call: Any, error: type[Exception], message: str
) -> None:
    with monitor(tmp_path) as writer:
        with pytest.raises(error, match=message):
            call(writer)
        writer.log_prediction("good", {"x": 1}, 0)

    assert [record["prediction_id"] for record in read_records(tmp_path)] == ["good"]


@pytest.mark.parametrize(
    "options",
    [
        {"sample_rate": 1.5},
        {"flush_interval": 0},
        {"batch_size": 0},
        {"max_file_bytes": 0},
        {"batch_size": 10, "max_buffered_records": 5},
    ],
)
def test_invalid_settings_are_refused_at_construction(tmp_path: Path, options: Any) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        monitor(tmp_path, **options)


def test_an_empty_model_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="model_name"):
        ModelLogger("", "1", tmp_path)


def break_storage(storage: Path) -> Path:
    """Make every write fail, as a full or vanished disk would: predictions/ becomes a file."""
    predictions = storage / "predictions"
    predictions.rmdir()
    predictions.write_bytes(b"")
    return predictions


def repair_storage(predictions: Path) -> None:
    predictions.unlink()
    predictions.mkdir()


def test_a_failing_disk_never_raises_keeps_records_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = monitor(tmp_path, batch_size=5)
    predictions = break_storage(tmp_path)
    with caplog.at_level(logging.WARNING, logger="neural_tui.producer"):
        for index in range(12):
            writer.log_prediction(f"p-{index}", {"x": index}, 0)
        writer.flush()
        writer.flush()

    assert writer.buffered_records == 12
    assert sum("cannot write" in message for message in caplog.messages) == 1
    repair_storage(predictions)
    writer.close()
    ids = [record["prediction_id"] for record in read_records(tmp_path)]
    assert ids == [f"p-{index}" for index in range(12)]
    assert writer.dropped_records == 0


def test_while_the_disk_fails_the_buffer_is_bounded_and_drops_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = monitor(tmp_path, batch_size=5, max_buffered_records=10)
    predictions = break_storage(tmp_path)
    with caplog.at_level(logging.WARNING, logger="neural_tui.producer"):
        for index in range(15):
            writer.log_prediction(f"p-{index}", {"x": index}, 0)
        writer.flush()

    assert writer.buffered_records == 10
    assert writer.dropped_records == 5
    assert sum("dropping" in message for message in caplog.messages) == 1
    repair_storage(predictions)
    writer.close()
    ids = [record["prediction_id"] for record in read_records(tmp_path)]
    assert ids == [f"p-{index}" for index in range(10)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_writes_its_own_records_and_never_the_parents(tmp_path: Path) -> None:
    writer = monitor(tmp_path)
    writer.log_prediction("before-fork", {"x": 1}, 0)
    child = os.fork()
    if child == 0:
        code = 1
        try:
            writer.log_prediction("child", {"x": 2}, 0)
            writer.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    writer.log_prediction("parent", {"x": 3}, 0)
    writer.close()

    assert os.waitstatus_to_exitcode(status) == 0
    ids = Counter(record["prediction_id"] for record in read_records(tmp_path))
    assert ids == Counter({"before-fork": 1, "child": 1, "parent": 1})


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE and SIGXFSZ")
def test_a_write_cut_short_leaves_no_partial_line_and_loses_nothing(tmp_path: Path) -> None:
    """A file-size limit makes writes fail half-way, as a disk that fills up would."""
    writer = monitor(tmp_path, batch_size=1_000)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000, hard))
    try:
        for index in range(40):
            writer.log_prediction(f"p-{index}", {"x": index}, 0)
        writer.flush()
        assert writer.buffered_records > 0
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)
    writer.close()

    lines = read_lines(tmp_path)
    assert all(line.endswith(b"}") for line in lines)
    ids = Counter(json.loads(line)["prediction_id"] for line in lines)
    assert ids == Counter(f"p-{index}" for index in range(40))


def test_records_still_buffered_at_interpreter_exit_are_written(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from neural_tui import ModelLogger\n"
        "writer = ModelLogger('fraud', '1', sys.argv[1], flush_interval=3600)\n"
        "writer.log_prediction('at-exit', {'x': 1}, 0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)

    assert [record["prediction_id"] for record in read_records(tmp_path)] == ["at-exit"]


def test_probabilities_keyed_by_class_numbers_are_written_as_the_old_module_did(tmp_path):
    classes = np.array([0, 1])
    with ModelLogger("m", "1", storage_path=tmp_path) as monitor:
        monitor.log_prediction("a", {"x": 1.0}, 1, prediction_proba={0: 0.2, 1: 0.8})
        monitor.log_prediction("b", {"x": float("nan")}, 1,
                               prediction_proba=dict(zip(classes, [0.3, 0.7], strict=True)))
    lines = [json.loads(line) for path in sorted((tmp_path / "predictions").glob("*.jsonl"))
             for line in path.read_text().splitlines()]
    assert [line["prediction_proba"] for line in lines] == [{"0": 0.2, "1": 0.8},
                                                           {"0": 0.3, "1": 0.7}]
