"""Specification of `decode_lines`: JSONL chunk in, columnar batch and counted skips out."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import msgspec
import numpy as np
import pytest

from neural_tui.decode import MAX_MESSAGES, decode_lines, decode_objects


def record(index: int = 0, **fields: Any) -> dict[str, Any]:
    """A prediction as the old module wrote it."""
    line: dict[str, Any] = {
        "timestamp": 1_700_000_000.0 + index,
        "prediction_id": f"p{index}",
        "input_features": {"age": 30 + index, "city": "Paris", "member": True, "score": None},
        "prediction": 1,
        "prediction_proba": {"0": 0.25, "1": 0.75},
        "ground_truth": None,
        "latency_ms": 12.5,
        "metadata": {"host": "a"},
    }
    line.update(fields)
    return line


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    """Lines written with `json.dumps` (so NaN tokens appear), raw strings as given."""
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def decode(chunk: bytes, first_line: int = 1, **options: Any):
    return decode_lines(chunk, source="predictions/a.jsonl", first_line=first_line, **options)


def test_every_column_round_trips_from_a_full_record() -> None:
    full = record(
        3,
        ground_truth=0,
        model_name="churn",
        model_version="v2",
        error="timeout",
        prediction=[0.1, 0.9],
    )
    batch = decode(jsonl(full))
    rows = batch.records

    assert len(rows) == 1 and not batch.skipped and batch.messages == ()
    assert rows.timestamp.dtype == np.float64 and rows.timestamp[0] == 1_700_000_003.0
    assert rows.model[0] == "churn" and rows.version[0] == "v2"
    assert rows.prediction_id[0] == "p3"
    assert rows.latency_ms.dtype == np.float64 and rows.latency_ms[0] == 12.5
    assert rows.error[0] == "timeout"
    assert rows.is_label.dtype == bool and not rows.is_label[0]
    assert rows.prediction[0] == [0.1, 0.9]
    assert rows.ground_truth[0] == 0
    assert isinstance(rows.input_features[0], bytes)
    assert msgspec.json.decode(rows.input_features[0]) == full["input_features"]
    assert msgspec.json.decode(rows.prediction_proba[0]) == {"0": 0.25, "1": 0.75}


def test_optional_fields_absent_or_null_become_none_and_nan() -> None:
    minimal = {"timestamp": 5, "prediction_id": "x"}
    nulls = {**minimal, "input_features": None, "prediction_proba": None, "latency_ms": None}
    rows = decode(jsonl(minimal, nulls)).records

    assert rows.timestamp.tolist() == [5.0, 5.0]
    assert np.isnan(rows.latency_ms).all()
    assert rows.model.tolist() == [None, None] and rows.version.tolist() == [None, None]
    assert rows.error.tolist() == [None, None]
    assert rows.input_features.tolist() == [None, None]
    assert rows.prediction_proba.tolist() == [None, None]
    assert rows.prediction.tolist() == [None, None]
    assert not rows.is_label.any()


def test_integer_prediction_ids_become_strings() -> None:
    rows = decode(jsonl(record(prediction_id=42), record(prediction_id=-7))).records

    assert rows.prediction_id.tolist() == ["42", "-7"]


def test_integer_timestamp_and_latency_are_read_as_floats() -> None:
    rows = decode(jsonl(record(timestamp=1_700_000_000, latency_ms=3))).records

    assert rows.timestamp.tolist() == [1_700_000_000.0]
    assert rows.latency_ms.tolist() == [3.0]


def test_python_nan_and_infinity_tokens_are_valid_and_kept_in_features() -> None:
    features = {"a": float("nan"), "b": float("inf"), "c": float("-inf"), "d": 1.5}
    chunk = jsonl(record(0), record(1, input_features=features, latency_ms=float("nan")))
    assert b"NaN" in chunk and b"-Infinity" in chunk
    batch = decode(chunk)

    assert len(batch.records) == 2 and not batch.skipped
    decoded = decode_objects(list(batch.records.input_features))[1]
    assert math.isnan(decoded["a"])
    assert (decoded["b"], decoded["c"], decoded["d"]) == (math.inf, -math.inf, 1.5)
    assert math.isnan(batch.records.latency_ms[1])
    assert batch.records.prediction_id.tolist() == ["p0", "p1"]


def test_a_non_finite_timestamp_is_not_a_record() -> None:
    batch = decode(jsonl(record(timestamp=float("inf")), record(1)))

    assert batch.skipped == {"not_a_record": 1}
    assert batch.records.prediction_id.tolist() == ["p1"]
    assert batch.messages[0].startswith("predictions/a.jsonl:1: not_a_record: ")


def test_a_corrupt_line_between_good_lines_loses_only_itself() -> None:
    chunk = jsonl(record(0), '{"timestamp": 1, "prediction_id": "bad"', record(2))
    batch = decode(chunk, first_line=10)

    assert batch.records.prediction_id.tolist() == ["p0", "p2"]
    assert batch.skipped == {"not_json": 1}
    assert len(batch.messages) == 1
    assert batch.messages[0].startswith("predictions/a.jsonl:11: not_json: ")


def test_a_bad_line_changes_nothing_in_the_good_rows() -> None:
    good = [record(i, ground_truth=i % 2, model_name="m") for i in range(50)]
    clean = decode(jsonl(*good)).records
    spoiled = decode(jsonl(*good[:25], "{oops", *good[25:])).records

    for name in clean.__slots__:
        assert getattr(spoiled, name).tolist() == getattr(clean, name).tolist(), name


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ("[1, 2]", "object"),
        ('"just a string"', "object"),
        ('{"prediction_id": "p"}', "timestamp"),
        ('{"timestamp": "2024-01-01", "prediction_id": "p"}', "timestamp"),
        ('{"timestamp": true, "prediction_id": "p"}', "timestamp"),
        ('{"timestamp": 1}', "prediction_id"),
        ('{"timestamp": 1, "prediction_id": true}', "prediction_id"),
        ('{"timestamp": 1, "prediction_id": "p", "latency_ms": "12"}', "latency_ms"),
        ('{"timestamp": 1, "prediction_id": "p", "error": 500}', "error"),
        ('{"timestamp": 1, "prediction_id": "p", "model_name": 3}', "model_name"),
        ('{"timestamp": 1, "prediction_id": "p", "input_features": [1, 2]}', "input_features"),
        ('{"timestamp": 1, "prediction_id": "p", "prediction_proba": 0.5}', "prediction_proba"),
    ],
)
def test_json_that_is_not_a_record_is_counted_with_what_is_wrong(line: str, detail: str) -> None:
    batch = decode(jsonl(record(0), line, record(2)))

    assert batch.skipped == {"not_a_record": 1}
    assert batch.records.prediction_id.tolist() == ["p0", "p2"]
    assert batch.messages[0].startswith("predictions/a.jsonl:2: not_a_record: ")
    assert detail in batch.messages[0]


def test_two_objects_on_one_line_are_not_json() -> None:
    two = json.dumps(record(1)) + " " + json.dumps(record(2))
    batch = decode(jsonl(record(0), two, record(3)))

    assert batch.skipped == {"not_json": 1}
    assert batch.records.prediction_id.tolist() == ["p0", "p3"]


def test_invalid_utf8_is_not_json() -> None:
    chunk = jsonl(record(0)) + b'{"timestamp": 1, "prediction_id": "\xff"}\n'
    batch = decode(chunk)

    assert batch.skipped == {"not_json": 1}
    assert len(batch.records) == 1


def test_blank_lines_are_ignored_silently_and_keep_line_numbers() -> None:
    chunk = b"\n" + jsonl(record(0)) + b"   \n\r\n" + jsonl("{broken")
    batch = decode(chunk)

    assert len(batch.records) == 1
    assert batch.skipped == {"not_json": 1}
    assert batch.messages[0].startswith("predictions/a.jsonl:5: not_json")


def test_windows_line_endings_are_accepted() -> None:
    chunk = jsonl(record(0), record(1)).replace(b"\n", b"\r\n")

    assert decode(chunk).records.prediction_id.tolist() == ["p0", "p1"]


def test_a_line_over_the_limit_is_too_long_and_the_next_line_is_kept() -> None:
    long_line = record(1, input_features={"blob": "x" * 600})
    batch = decode(jsonl(record(0), long_line, record(2)), max_line_bytes=400)

    assert batch.skipped == {"too_long": 1}
    assert batch.records.prediction_id.tolist() == ["p0", "p2"]
    assert batch.messages[0].startswith("predictions/a.jsonl:2: too_long: ")


def test_a_late_label_line_is_marked_as_label() -> None:
    label = {"timestamp": 9.0, "prediction_id": "p0", "ground_truth": 1}
    null_features_label = {**label, "input_features": None}
    with_features = record(1, ground_truth=1)
    rows = decode(jsonl(record(0), label, null_features_label, with_features)).records

    assert rows.is_label.tolist() == [False, True, True, False]
    assert rows.ground_truth.tolist() == [None, 1, 1, 1]


def test_a_null_ground_truth_without_features_is_not_a_label() -> None:
    rows = decode(jsonl({"timestamp": 1, "prediction_id": "p", "ground_truth": None})).records

    assert rows.is_label.tolist() == [False]


def test_messages_are_capped_but_every_skip_is_counted() -> None:
    bad_lines = ["{bad"] * (MAX_MESSAGES + 15)
    batch = decode(jsonl(record(0), *bad_lines))

    assert batch.skipped == {"not_json": MAX_MESSAGES + 15}
    assert len(batch.messages) == MAX_MESSAGES
    assert len(batch.records) == 1


def test_a_last_line_without_newline_is_decoded() -> None:
    chunk = jsonl(record(0)) + json.dumps(record(1)).encode()

    assert decode(chunk).records.prediction_id.tolist() == ["p0", "p1"]


def test_an_empty_chunk_gives_an_empty_batch() -> None:
    batch = decode(b"")

    assert len(batch.records) == 0 and not batch.skipped


def test_non_finite_words_inside_strings_are_left_alone() -> None:
    features = {"note": "NaN, Infinity: -Infinity", "NaN": "Infinity", "x": float("nan")}
    batch = decode(jsonl(record(0, input_features=features)))

    assert not batch.skipped
    decoded = decode_objects(list(batch.records.input_features))[0]
    assert decoded["note"] == "NaN, Infinity: -Infinity"
    assert decoded["NaN"] == "Infinity"
    assert math.isnan(decoded["x"])


def test_decode_objects_reads_strict_json_in_one_call_and_nulls() -> None:
    assert decode_objects([b'{"a": 1}', None, b'{"b": "x"}']) == [{"a": 1}, None, {"b": "x"}]


def test_tokens_python_rejects_are_not_json() -> None:
    lines = ['{"timestamp": 1, "prediction_id": "p", "x": -NaN}', '{"timestamp": NaNa}']
    for line in lines:
        with pytest.raises(ValueError):
            json.loads(line)
    batch = decode(jsonl(record(0), *lines))

    assert batch.skipped == {"not_json": 2}
    assert batch.records.prediction_id.tolist() == ["p0"]


def test_non_finite_prediction_and_ground_truth_read_as_missing() -> None:
    line = record(0, prediction=float("nan"), ground_truth=float("inf"), input_features=None)
    rows = decode(jsonl(line)).records

    assert rows.prediction.tolist() == [None]
    assert rows.ground_truth.tolist() == [None]
    assert not rows.is_label[0]


def test_many_bad_lines_scattered_lose_no_good_line_and_keep_order() -> None:
    lines: list[dict[str, Any] | str] = []
    expected_ids, expected_skips = [], Counter()
    for index in range(400):
        kind = index % 7
        if kind == 1:
            lines.append('{"timestamp": 1, "prediction_id": "broken"')
            expected_skips["not_json"] += 1
        elif kind == 3:
            lines.append(record(index, timestamp="NOW"))
            expected_skips["not_a_record"] += 1
        elif kind == 5:
            lines.append(record(index, input_features={"INFO": "NICE", "x": float("-inf")}))
            expected_ids.append(f"p{index}")
        else:
            lines.append(record(index, input_features={"city": "NEW YORK"}))
            expected_ids.append(f"p{index}")
    batch = decode(jsonl(*lines))

    assert batch.records.prediction_id.tolist() == expected_ids
    assert batch.skipped == expected_skips
    assert batch.messages[0].startswith("predictions/a.jsonl:2: not_json")
    assert batch.messages[1].startswith("predictions/a.jsonl:4: not_a_record")


def test_a_bad_line_after_a_blank_line_is_reported_at_its_own_line() -> None:
    chunk = jsonl(record(0)) + b"\n" + jsonl(record(2), record(3, timestamp="x"), record(4))
    batch = decode(chunk)

    assert batch.records.prediction_id.tolist() == ["p0", "p2", "p4"]
    assert batch.messages == (
        "predictions/a.jsonl:4: not_a_record: Expected `float`, got `str` - at `$.timestamp`",
    )


def test_two_objects_on_one_line_after_a_corrupt_line_are_not_json() -> None:
    two = json.dumps(record(2)) + json.dumps(record(3))
    batch = decode(jsonl(record(0), "{corrupt", two, record(4)))

    assert batch.records.prediction_id.tolist() == ["p0", "p4"]
    assert batch.skipped == {"not_json": 2}


@pytest.mark.parametrize("newline_at_end", [True, False])
def test_the_limit_counts_the_bytes_of_a_line_without_its_newline(newline_at_end: bool) -> None:
    exact = json.dumps(record(1)).encode()
    longer = json.dumps(record(22)).encode()
    assert len(longer) == len(exact) + 1
    chunk = jsonl(record(0)) + exact + b"\n" + longer + (b"\n" if newline_at_end else b"")
    batch = decode(chunk, max_line_bytes=len(exact))

    assert batch.records.prediction_id.tolist() == ["p0", "p1"]
    assert batch.skipped == {"too_long": 1}
    assert batch.messages[0].startswith("predictions/a.jsonl:3: too_long")


NOW = 1_700_000_500.0
"""The wall clock the timestamp tests run at (records are timed around 1_700_000_000)."""
DAY = 86_400.0


def at_now() -> float:
    return NOW


@pytest.mark.parametrize("timestamp", [0.0, -0.0, 1.5, NOW, NOW + DAY])
def test_timestamps_from_1970_to_a_day_after_the_clock_are_records(timestamp: float) -> None:
    batch = decode(jsonl(record(0, timestamp=timestamp)), clock=at_now)

    assert not batch.skipped
    assert batch.records.timestamp.tolist() == [timestamp]


@pytest.mark.parametrize(
    ("timestamp", "detail"),
    [
        (-0.001, "`timestamp` -0.001 is negative"),
        (-1_700_000_000, "`timestamp` -1.7e+09 is negative"),
        (NOW + DAY + 1.0, "`timestamp` 1.70009e+09 is more than a day in the future"),
        (NOW * 1000, "`timestamp` 1.7e+12 is more than a day in the future: milliseconds?"),
        (1e300, "`timestamp` 1e+300 is more than a day in the future"),
    ],
)
def test_a_timestamp_before_1970_or_over_a_day_ahead_is_not_a_record(
    timestamp: float, detail: str
) -> None:
    batch = decode(jsonl(record(0), record(1, timestamp=timestamp), record(2)), clock=at_now)

    assert batch.records.prediction_id.tolist() == ["p0", "p2"]
    assert batch.skipped == {"not_a_record": 1}
    assert batch.messages == (f"predictions/a.jsonl:2: not_a_record: {detail}",)


def test_the_future_limit_follows_the_clock() -> None:
    chunk = jsonl(record(0, timestamp=NOW + 2 * DAY))

    assert decode(chunk, clock=at_now).skipped == {"not_a_record": 1}
    assert not decode(chunk, clock=lambda: NOW + DAY).skipped


def test_good_records_after_bad_timestamps_keep_their_rows_and_line_numbers() -> None:
    lines: list[dict[str, Any] | str] = []
    for index in range(300):
        if index % 50 == 7:
            lines.append(record(index, timestamp=(1_700_000_000.0 + index) * 1000))
        elif index % 50 == 9:
            lines.append(record(index, input_features=[1, 2]))
        else:
            lines.append(record(index, latency_ms=float(index)))
    batch = decode(jsonl(*lines), first_line=101, clock=at_now)

    kept = [i for i in range(300) if i % 50 not in (7, 9)]
    assert batch.records.prediction_id.tolist() == [f"p{i}" for i in kept]
    assert batch.records.timestamp.tolist() == [1_700_000_000.0 + i for i in kept]
    assert batch.records.latency_ms.tolist() == [float(i) for i in kept]
    assert batch.skipped == {"not_a_record": 12}
    assert [message.split(": ")[0] for message in batch.messages[:4]] == [
        "predictions/a.jsonl:108",
        "predictions/a.jsonl:110",
        "predictions/a.jsonl:158",
        "predictions/a.jsonl:160",
    ]
    assert "milliseconds?" in batch.messages[0] and "input_features" in batch.messages[1]


def test_a_line_with_a_bad_timestamp_and_a_bad_shape_is_skipped_once() -> None:
    line = record(1, timestamp=-5.0, prediction_proba=[0.5])
    batch = decode(jsonl(record(0), line, record(2)), clock=at_now)

    assert batch.records.prediction_id.tolist() == ["p0", "p2"]
    assert batch.skipped == {"not_a_record": 1}
    assert batch.messages == ("predictions/a.jsonl:2: not_a_record: `timestamp` -5 is negative",)


DEPTH = 1_000
DEEP_ARRAY = "[" * DEPTH + "]" * DEPTH
DEEP_OBJECT = '{"a": ' * DEPTH + "1" + "}" * DEPTH
BIG_INTEGER = "9" * 400


def with_field(name: str, raw_value: str, index: int = 1) -> str:
    """A record line whose field `name` holds `raw_value` verbatim."""
    line = record(index)
    line.pop(name, None)
    return json.dumps(line)[:-1] + f', "{name}": {raw_value}}}'


HOSTILE_LINES = {
    **{
        f"{field} nested {DEPTH} deep in an {kind}": with_field(field, f'{{"k": {value}}}')
        for field in ("metadata", "input_features", "prediction_proba")
        for kind, value in (("array", DEEP_ARRAY), ("object", DEEP_OBJECT))
    },
    **{
        f"{field} nested {DEPTH} deep in an {kind}": with_field(field, value)
        for field in ("prediction", "ground_truth")
        for kind, value in (("array", DEEP_ARRAY), ("object", DEEP_OBJECT))
    },
    "deep nesting around a NaN token": with_field("metadata", "[" * DEPTH + "NaN" + "]" * DEPTH),
    "a 400-digit timestamp": with_field("timestamp", BIG_INTEGER),
    "a timestamp of 1e308": with_field("timestamp", "1e308"),
}


@pytest.mark.parametrize("line", HOSTILE_LINES.values(), ids=HOSTILE_LINES.keys())
def test_a_hostile_line_costs_only_itself_and_is_counted(line: str) -> None:
    batch = decode(jsonl(record(0), line, record(2)))

    assert batch.records.prediction_id.tolist() == ["p0", "p2"]
    assert batch.skipped == {"not_a_record": 1}
    assert len(batch.messages) == 1 and batch.messages[0].startswith("predictions/a.jsonl:2: ")


def test_a_line_nested_too_deep_says_so() -> None:
    batch = decode(jsonl(with_field("metadata", DEEP_ARRAY)))

    assert batch.messages == (
        "predictions/a.jsonl:1: not_a_record: nested deeper than the decoder can follow",
    )


def test_deep_lines_scattered_in_a_chunk_lose_no_good_line_and_keep_order() -> None:
    lines: list[dict[str, Any] | str] = [record(i) for i in range(2_000)]
    for i in range(7, 2_000, 250):
        lines[i] = with_field("metadata", DEEP_OBJECT, i)
    batch = decode(jsonl(*lines))

    deep = set(range(7, 2_000, 250))
    assert batch.records.prediction_id.tolist() == [f"p{i}" for i in range(2_000) if i not in deep]
    assert batch.skipped == {"not_a_record": len(deep)}
    assert [m.split(":")[1] for m in batch.messages] == [str(i + 1) for i in sorted(deep)]


def test_any_exception_while_decoding_one_line_costs_only_that_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever the decoder raises (here a stand-in for a bug), the other lines are kept."""
    from neural_tui import decode as decode_module

    real = decode_module._decoder

    class Exploding:
        def decode_lines(self, data: Any) -> Any:
            if b'"p1"' in bytes(data):
                raise KeyError("a bug")
            return real.decode_lines(data)

        def decode(self, data: Any) -> Any:
            if b'"p1"' in bytes(data):
                raise KeyError("a bug")
            return real.decode(data)

    monkeypatch.setattr(decode_module, "_decoder", Exploding())
    batch = decode(jsonl(record(0), record(1), record(2)))

    assert batch.records.prediction_id.tolist() == ["p0", "p2"]
    assert batch.skipped == {"not_json": 1}
    assert batch.messages == ("predictions/a.jsonl:2: not_json: cannot be read: KeyError('a bug')",)


def test_a_line_full_of_nan_tokens_is_read_in_one_more_pass() -> None:
    """One `NaN` replaced per decode would take minutes on a line of 60,000 (quadratic)."""
    features = {f"f{i}": math.nan for i in range(60_000)}
    batch = decode(jsonl(record(0, input_features=features)))

    assert len(batch.records) == 1 and not batch.skipped
    kept = json.loads(batch.records.input_features[0])
    assert len(kept) == 60_000 and all(math.isnan(v) for v in kept.values())


def test_decode_objects_gives_none_for_an_object_it_cannot_read_and_keeps_the_others() -> None:
    deep = ('{"a": ' + DEEP_ARRAY + "}").encode()
    deep_with_nan = ('{"a": ' + "[" * DEPTH + "NaN" + "]" * DEPTH + "}").encode()
    decoded = decode_objects([b'{"x": 1}', deep, None, b'{"y": NaN}', deep_with_nan, b"{}"])

    assert decoded[:3] == [{"x": 1}, None, None]
    assert math.isnan(decoded[3]["y"])
    assert decoded[4:] == [None, {}]


@pytest.mark.parametrize(
    ("raw_latency", "shown", "why"),
    [
        ("-5", "-5", "is negative"),
        ("-0.001", "-0.001", "is negative"),
        ("1.7e308", "1.7e+308", "is above 86400000 ms (a day)"),
        ("-1.7e308", "-1.7e+308", "is negative"),
        ("86400000.5", "86400000.5", "is above 86400000 ms (a day)"),
        ("1e309", "inf", "is out of range"),
        (BIG_INTEGER, "inf", "is out of range"),
        ("-" + BIG_INTEGER, "-inf", "is negative"),
    ],
)
def test_an_impossible_latency_is_dropped_its_record_kept_and_counted(
    raw_latency: str, shown: str, why: str
) -> None:
    batch = decode(jsonl(record(0), with_field("latency_ms", raw_latency), record(2)))

    assert batch.records.prediction_id.tolist() == ["p0", "p1", "p2"]
    latency = batch.records.latency_ms
    assert latency[0] == 12.5 and math.isnan(latency[1]) and latency[2] == 12.5
    assert batch.skipped == {"invalid_latency": 1}
    assert batch.messages == (
        f"predictions/a.jsonl:2: invalid_latency: latency_ms {shown} {why}"
        " (record kept without its latency)",
    )


@pytest.mark.parametrize("latency", [0, 0.0, 86_400_000, 86_400_000.0])
def test_latencies_from_zero_to_one_day_are_kept(latency: float) -> None:
    batch = decode(jsonl(record(0, latency_ms=latency)))

    assert batch.records.latency_ms.tolist() == [float(latency)] and not batch.skipped


def test_a_non_finite_latency_token_reads_as_absent_not_invalid() -> None:
    batch = decode(jsonl(record(0, latency_ms=math.inf), record(1, latency_ms=math.nan)))

    assert np.isnan(batch.records.latency_ms).all() and not batch.skipped


def test_an_invalid_latency_on_a_rejected_line_counts_once_as_not_a_record() -> None:
    batch = decode(jsonl(record(0, latency_ms=-5, timestamp=-1.0), record(1, latency_ms=-7)))

    assert batch.records.prediction_id.tolist() == ["p1"]
    assert batch.skipped == {"not_a_record": 1, "invalid_latency": 1}
    assert [m.split(": ")[1] for m in batch.messages] == ["not_a_record", "invalid_latency"]


def test_a_row_that_fails_to_become_columns_costs_only_its_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever building the columns raises (here a stand-in for a bug), other lines are kept."""
    from neural_tui import decode as decode_module

    real = decode_module._columns

    def explode_on_p1(rows: list[Any], latest: float) -> Any:
        if any(row.prediction_id == "p1" for row in rows):
            raise OverflowError("a bug")
        return real(rows, latest)

    monkeypatch.setattr(decode_module, "_columns", explode_on_p1)
    batch = decode(jsonl(record(0), record(1), "not json", record(3)))

    assert batch.records.prediction_id.tolist() == ["p0", "p3"]
    assert batch.records.timestamp.tolist() == [1_700_000_000.0, 1_700_000_003.0]
    assert batch.skipped == {"not_a_record": 1, "not_json": 1}
    assert batch.messages[0] == (
        "predictions/a.jsonl:2: not_a_record: cannot be read: OverflowError('a bug')"
    )
    assert batch.messages[1].startswith("predictions/a.jsonl:3: not_json: ")
