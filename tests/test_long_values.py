"""Values from a log are bounded in size: a long one is replaced by a stand-in, its record kept."""

from __future__ import annotations

import gc
import hashlib
import json
import tracemalloc
from typing import Any

import pytest
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed

from neural_tui.app.app import NeuralTuiApp
from neural_tui.cli import main
from neural_tui.decode import (
    KEPT_LINE_REASONS,
    MAX_VALUE_LENGTH,
    decode_lines,
    skipped_lines,
)
from neural_tui.runtime.analysis import FeatureNames
from neural_tui.runtime.reference_file import read_reference_file
from neural_tui.runtime.snapshot import IngestStats
from neural_tui.runtime.state import ModelState
from neural_tui.widgets.status_line import StatusLine

T0 = 1_700_000_000.0
LONG = 200_000


def line(index: int, **fields: Any) -> dict[str, Any]:
    return {"timestamp": T0 + index, "prediction_id": f"p{index}",
            "input_features": {"x": 1.0}, "prediction": 1, "latency_ms": 10.0, **fields}


def jsonl(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def decode(chunk: bytes):
    return decode_lines(chunk, source="predictions/a.jsonl", first_line=1, clock=lambda: T0)


def long_text(index: int, size: int = LONG) -> str:
    """A distinct long string: its first bytes differ from any other's."""
    return f"{index:08d}" + "v" * (size - 8)


def stand_in_of_text(value: str) -> str:
    data = value.encode()
    return f"<text of {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}>"


def test_a_state_fed_thousands_of_long_values_keeps_a_bounded_number_of_bytes() -> None:
    """2,000 lines of 200 KB ids, predictions, error types and early labels: 400 MB read, and
    the state keeps what it would for short values (under 2 KB a record, rings included)."""
    state = ModelState("m", "1")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for start in range(0, 2_000, 20):
            records = []
            for i in range(start, start + 20):
                kind = i % 4
                if kind == 0:
                    records.append(line(i, prediction_id=long_text(i)))
                elif kind == 1:
                    records.append(line(i, prediction=long_text(i)))
                elif kind == 2:
                    records.append(line(i, error=long_text(i)))
                else:
                    records.append({"timestamp": T0 + i, "prediction_id": long_text(i),
                                    "ground_truth": long_text(-i)})
            batch = decode(jsonl(*records))
            assert len(batch.records) == 20
            state.ingest(batch.records)
            del batch, records
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert state.predictions_total == 1_500
    assert kept < 2_000 * 2_048


def test_a_late_label_with_a_long_id_joins_its_prediction() -> None:
    state = ModelState("m", "1")
    long_id = long_text(1)
    prediction = decode(jsonl(line(0, prediction_id=long_id))).records
    assert prediction.prediction_id.tolist() == [stand_in_of_text(long_id)]
    state.ingest(prediction)
    state.ingest(decode(jsonl({"timestamp": T0 + 5, "prediction_id": long_id,
                               "ground_truth": 1})).records)

    assert state.labels_joined == 1
    assert state.labelled().ground_truth.tolist() == [1]


def test_accuracy_is_right_when_prediction_and_label_are_the_same_long_value() -> None:
    """Two long labels alike up to their last byte stay different; equal ones stay equal."""
    same, other = long_text(7), long_text(7)[:-1] + "w"
    state = ModelState("m", "1")
    state.ingest(decode(jsonl(
        line(0, prediction=same, ground_truth=same),
        line(1, prediction=same, ground_truth=other),
        line(2, prediction=[same], ground_truth=[same]),
        line(3, prediction={"a": same, "b": 1}, ground_truth={"b": 1, "a": same}),
    )).records)

    pairs = state.labelled()
    right = [p == g for p, g in zip(pairs.prediction, pairs.ground_truth, strict=True)]
    assert right == [True, False, True, True]
    assert max(len(str(value)) for value in [*pairs.prediction, *pairs.ground_truth]) < 100


def test_a_long_value_is_replaced_by_its_digest_counted_once_per_line_with_one_message() -> None:
    batch = decode(jsonl(
        line(0),
        line(1, prediction_id="i" * 524_288),
        line(2, error="E" * 300, model_name="m" * 400),
        line(3, prediction=list(range(100))),
    ))

    assert batch.records.prediction_id.tolist() == [
        "p0", stand_in_of_text("i" * 524_288), "p2", "p3"
    ]
    assert batch.records.error.tolist()[2] == stand_in_of_text("E" * 300)
    assert batch.records.model.tolist()[2] == stand_in_of_text("m" * 400)
    list_json = json.dumps(list(range(100)), separators=(",", ":")).encode()
    assert batch.records.prediction.tolist()[3] == (
        f"<list of {len(list_json)} bytes, sha256 {hashlib.sha256(list_json).hexdigest()[:16]}>"
    )
    assert batch.skipped == {"long_value": 3}
    assert batch.messages == (
        "predictions/a.jsonl:2: long_value: prediction_id of 524288 bytes replaced by its digest"
        " (record kept)",
        "predictions/a.jsonl:3: long_value: error of 300 bytes, model_name of 400 bytes replaced"
        " by their digests (record kept)",
        f"predictions/a.jsonl:4: long_value: prediction of {len(list_json)} bytes replaced by its"
        " digest (record kept)",
    )


@pytest.mark.parametrize("field", ["prediction_id", "prediction", "ground_truth", "error",
                                   "model_name", "model_version"])
def test_a_value_of_exactly_the_limit_is_kept_and_one_byte_longer_is_replaced(field: str) -> None:
    at_limit, over = "a" * MAX_VALUE_LENGTH, "b" * (MAX_VALUE_LENGTH + 1)
    batch = decode(jsonl(line(0, **{field: at_limit}), line(1, **{field: over})))

    column = {"prediction_id": "prediction_id", "prediction": "prediction",
              "ground_truth": "ground_truth", "error": "error", "model_name": "model",
              "model_version": "version"}[field]
    assert getattr(batch.records, column).tolist() == [at_limit, stand_in_of_text(over)]
    assert batch.skipped == {"long_value": 1}


def test_a_container_of_exactly_the_limit_is_kept_and_one_byte_longer_is_replaced() -> None:
    at_limit = ["a" * (MAX_VALUE_LENGTH - 4)]  # ["aaa…"]: 4 bytes of brackets and quotes
    over = ["a" * (MAX_VALUE_LENGTH - 3)]
    batch = decode(jsonl(line(0, prediction=at_limit), line(1, prediction=over)))

    assert batch.records.prediction.tolist()[0] == at_limit
    assert batch.records.prediction.tolist()[1].startswith(f"<list of {MAX_VALUE_LENGTH + 1} bytes")
    assert batch.skipped == {"long_value": 1}


def test_a_long_value_on_a_line_read_alone_is_replaced_too() -> None:
    """Lines with `NaN` are read one by one, outside msgspec's length check."""
    batch = decode(b'{"timestamp": %d, "prediction_id": "%s", "latency_ms": NaN}\n'
                   % (int(T0), b"z" * 1000) + jsonl(line(1, error="x" * 1000)))

    assert batch.records.prediction_id.tolist() == [stand_in_of_text("z" * 1000), "p1"]
    assert batch.records.error.tolist()[1] == stand_in_of_text("x" * 1000)
    assert batch.skipped == {"long_value": 2}


def test_a_long_value_on_a_line_that_is_no_record_counts_only_as_not_a_record() -> None:
    batch = decode(jsonl(line(0, timestamp=-1.0, prediction_id="q" * 1000), line(1)))

    assert batch.records.prediction_id.tolist() == ["p1"]
    assert batch.skipped == {"not_a_record": 1}


def test_kept_line_reasons_are_not_lines_skipped() -> None:
    counts = {"not_json": 2, "invalid_latency": 3, "long_value": 4}

    assert {"invalid_latency", "long_value"} == KEPT_LINE_REASONS
    assert skipped_lines(counts) == {"not_json": 2}
    ingest = IngestStats(9, counts, kept_reasons=KEPT_LINE_REASONS)
    assert ingest.skipped_lines == {"not_json": 2}
    assert ingest.kept_lines == {"invalid_latency": 3, "long_value": 4}


def test_a_reference_file_with_kept_lines_only_warns_of_none_skipped(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "reference.jsonl"
    path.write_bytes(jsonl(line(0, latency_ms=-1.0), line(1, prediction_id="r" * 1000)))

    rows = read_reference_file(path)

    assert len(rows.features.timestamp) == 2
    assert "skipped" not in caplog.text


def test_status_json_and_table_do_not_count_kept_lines_as_skipped(tmp_path, capsys) -> None:
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "a.jsonl").write_bytes(
        jsonl(line(0, latency_ms=-1.0), line(1, prediction_id="r" * 1000), line(2)) + b"{\n"
    )

    assert main(["status", "--storage", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["records_total"] == 3
    assert report["skipped_lines"] == {"not_json": 1}
    assert report["kept_lines_altered"] == {"invalid_latency": 1, "long_value": 1}
    assert main(["status", "--storage", str(tmp_path)]) == 0
    assert "3 records read, 1 lines skipped" in capsys.readouterr().out


async def test_the_status_line_counts_kept_lines_apart_from_skipped_ones() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn"), records_total=100,
                             line_problems={"not_json": 2, "long_value": 5, "invalid_latency": 1}))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        status = pilot.app.screen.query_one(StatusLine).query_one("#ingest-counts")
        text = str(status.render())
        assert "100 records · 2 skipped (not_json 2) · 6 kept altered (long_value 5," in text


def test_a_long_feature_name_is_kept_once_by_its_stand_in() -> None:
    """A name of 10 KB in every record: the engines see its short stand-in, always the same."""
    names = FeatureNames(limit=10)
    long_name = "f" * 10_000

    first = names.admit([{long_name: 1.0, "x": 2.0}, {long_name: 3.0}])
    again = names.admit([{long_name: 4.0, "x": 5.0}])

    key = stand_in_of_text(long_name)
    assert first == [{key: 1.0, "x": 2.0}, {key: 3.0}] and again == [{key: 4.0, "x": 5.0}]
    assert list(names.names) == [key, "x"] and names.dropped == 0


def test_long_values_around_a_bad_line_are_each_counted_once() -> None:
    nan_line = b'{"timestamp": %d, "prediction_id": "%s", "latency_ms": NaN}\n' % (
        int(T0), b"z" * 300)
    chunk = nan_line + b"{\n" + jsonl(line(2, error="e" * 300), line(3))
    batch = decode(chunk)

    assert batch.records.prediction_id.tolist() == [stand_in_of_text("z" * 300), "p2", "p3"]
    assert batch.skipped == {"long_value": 2, "not_json": 1}
    assert [m.split(": ")[0:2] for m in batch.messages] == [
        ["predictions/a.jsonl:1", "long_value"], ["predictions/a.jsonl:2", "not_json"],
        ["predictions/a.jsonl:3", "long_value"],
    ]
