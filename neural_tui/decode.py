"""Turning a chunk of storage lines into a columnar `IngestBatch`, fast, losing no valid line.

Lines holding `NaN`/`Infinity` are found up front by a quick scan and decoded alone; each run
of lines between them goes to msgspec in one call (its lines are counted once, and the count is
handed to the source for numbering). If a run fails, the chunk is decoded around the lines at
fault: any other bad line is located from msgspec's error, and each run of good lines between
them is still decoded in one call. A line alone is read strictly, except that the `NaN`,
`Infinity` and `-Infinity` tokens Python's `json.dumps` wrote (the old module's writer) are
accepted: in the record's own fields they read as `null`, while `input_features` keeps them as
written, so that data quality can count NaN and infinities apart from nulls (`decode_objects`
reads them).

`input_features` and `prediction_proba` are kept as raw JSON `bytes`, copied out of msgspec's
`Raw`, which would otherwise pin the whole chunk in memory for as long as a row lives.
`metadata` is skipped unparsed: the runtime does not use it.

A `timestamp` must be unix seconds between 0 and a day after the wall clock: one record in
milliseconds would otherwise move the runtime's per-second windows thousands of years ahead and
drop every later record from them.

A `latency_ms` that is negative, not finite or above `MAX_LATENCY_MS` keeps its record (the
prediction happened) without its latency, counted as `invalid_latency`: one such value would
otherwise turn the exported latency sum into infinity or NaN for good.

A string longer than `MAX_VALUE_LENGTH` characters (an id, an error type, a model name or
version, a string prediction or label), or a `prediction`/`ground_truth` list or object whose
JSON is longer than that, is replaced by a stand-in naming its size and digest
(`<text of 524288 bytes, sha256 1a2b3c4d5e6f7a8b>`), the record kept and counted as
`long_value`: the runtime keeps such values per pending prediction, error type and labelled
pair, so a few long ones per line would otherwise hold gigabytes, while equal values still have
equal stand-ins (a late label joins its prediction, a prediction equal to its label is right).
The fast path costs nothing for strings (msgspec checks their length as it reads them, and a
run holding a long one is decoded around its line) and one pass over the `prediction` and
`ground_truth` columns for containers.

Whatever goes wrong while decoding one line costs that line only: any exception (a value nested
deeper than the decoder recurses, a number out of range, a bug) is caught at the line and
counted under `not_json` or `not_a_record`; a run that fails for a reason msgspec does not
locate is split in halves until the line at fault is alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import msgspec
import numpy as np

from neural_tui.records import OBJECT, IngestBatch, RecordBatch

MAX_MESSAGES = 20
"""Skip messages kept per batch; every skip is still counted."""

MAX_LINE_BYTES = 1 << 20
"""Longer lines are skipped as `too_long` (and a source never buffers more of one)."""

FUTURE_TOLERANCE_SECONDS = 86_400.0
"""How far past the wall clock a timestamp may be (clock skew between hosts); later is wrong."""

MAX_LATENCY_MS = 86_400_000.0
"""The longest latency taken as measured (one day); a longer one is dropped, its record kept."""

MAX_VALUE_LENGTH = 256
"""Longest string (in characters), or `prediction`/`ground_truth` container (in bytes of JSON),
kept from a record as written; a longer one is replaced by its stand-in (module docstring)."""

INVALID_LATENCY = "invalid_latency"
"""Skip reason of a line kept without its latency (`IngestBatch`)."""

LONG_VALUE = "long_value"
"""Skip reason of a line kept with a value replaced by its stand-in (`IngestBatch`)."""

KEPT_LINE_REASONS = frozenset({INVALID_LATENCY, LONG_VALUE})
"""Skip reasons that count lines kept as records: left out wherever lines skipped are told."""



def skipped_lines(counts: Mapping[str, int]) -> dict[str, int]:
    """Of counts by reason (`IngestBatch.skipped`, `neural_ingest_errors_total`), the lines not
    kept: what a report calls lines skipped."""
    return {reason: n for reason, n in counts.items() if reason not in KEPT_LINE_REASONS}


Buffer = bytes | bytearray
"""What the decoder reads: a source may hand over its read buffer itself, uncopied."""

Clock = Callable[[], float]
"""The wall clock in unix seconds; injectable so that tests fix "now"."""

_NEWLINE = ord("\n")
_COUNT_BLOCK = 256 << 10
_MAX_RESUMES = 16
"""Failures located per chunk, after which the rest of a run is decoded line by line."""

_NULL = msgspec.Raw(b"null")
_EMPTY = b""
_FIRST_OF_OBJECT = ord("{")
_FIRST_OF_NULL = ord("n")  # the only valid JSON starting with "n" is `null`
_BYTE_AT = re.compile(r"\(byte (\d+)\)")
_ITEM_AT = re.compile(r"at `\$\[(\d+)\]")
_SHAPE = "must be an object or null"
_INVALID_CHARACTER_AT = re.compile(r"invalid character \(byte (\d+)\)")
_AFTER_A_VALUE = (b"", b",", b"}", b"]", b" ", b"\t", b"\r", b"\n")
_TOO_DEEP = "nested deeper than the decoder can follow"
_YEAR_2000 = 946_684_800.0
"""A future timestamp that reads as a date since then in milliseconds is likely milliseconds."""


class _Line(msgspec.Struct, gc=False):
    """The fields of one storage line the runtime needs; unknown keys are skipped unparsed."""

    timestamp: float
    prediction_id: str | int
    input_features: msgspec.Raw = _NULL
    prediction: Any = None
    prediction_proba: msgspec.Raw = _NULL
    ground_truth: Any = None
    latency_ms: float | None = None
    error: str | None = None
    model_name: str | None = None
    model_version: str | None = None


_Short = Annotated[str, msgspec.Meta(max_length=MAX_VALUE_LENGTH)]


class _BoundedLine(_Line, gc=False):
    """`_Line` as the fast path reads it: a string longer than `MAX_VALUE_LENGTH` fails its run,
    and its line is read alone (`_decode_one`), its long values replaced."""

    prediction_id: _Short | int
    prediction: _Short | int | float | bool | list[Any] | dict[str, Any] | None = None
    ground_truth: _Short | int | float | bool | list[Any] | dict[str, Any] | None = None
    error: _Short | None = None
    model_name: _Short | None = None
    model_version: _Short | None = None


class _LineWithRawLatency(_Line, gc=False):
    """`_Line` for a line whose `latency_ms` is a number out of float range, which msgspec
    refuses however it is typed, except as raw JSON."""

    latency_ms: msgspec.Raw = _NULL  # type: ignore[assignment]


_decoder = msgspec.json.Decoder(_BoundedLine)
_loose_decoder = msgspec.json.Decoder(_Line)
_raw_latency_decoder = msgspec.json.Decoder(_LineWithRawLatency)
_TOKENS_ONE_BY_ONE = 4
"""`NaN`/`Infinity` tokens of a line nulled one by one before the rest are, all at once."""
_NON_FINITE_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
"""A JSON string (left alone) or a non-finite number token outside strings (read as null)."""
_LATENCY_OUT_OF_RANGE = re.compile(r"out of range - at `\$\.latency_ms`$")
_TOO_LONG = re.compile(r"^Expected `str` of length <= \d+ - at `\$\.\w+`$")
_STRING_FIELDS = ("prediction_id", "prediction", "ground_truth", "error", "model_name",
                  "model_version")
_CONTAINERS = (list, dict)


class _Skip(Exception):
    """A line that is not a valid record, with the reason counted in `IngestBatch.skipped`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def skip_message(source: str, line: int | None, reason: str, detail: str) -> str:
    """The one-line log message for a skipped line (or a whole file when `line` is None)."""
    where = source if line is None else f"{source}:{line}"
    return f"{where}: {reason}: {detail[:160]}"


def count_newlines(buffer: bytes | memoryview) -> int:
    """Newlines in `buffer`, counted by numpy a block at a time.

    A few times faster than `bytes.count`; blocks keep the temporary mask small enough to be
    reused from the heap instead of page-faulted in afresh for every chunk.
    """
    view = np.frombuffer(buffer, np.uint8)
    return sum(
        int(np.count_nonzero(view[start : start + _COUNT_BLOCK] == _NEWLINE))
        for start in range(0, view.shape[0], _COUNT_BLOCK)
    )


def decode_lines(
    chunk: Buffer,
    *,
    source: str,
    first_line: int,
    max_line_bytes: int = MAX_LINE_BYTES,
    clock: Clock = time.time,
) -> IngestBatch:
    """Decode whole JSONL lines; `first_line` is the 1-based number of the chunk's first line."""
    return decode_counting_lines(
        chunk, source=source, first_line=first_line, max_line_bytes=max_line_bytes, clock=clock
    )[0]


def decode_counting_lines(
    chunk: Buffer,
    *,
    source: str,
    first_line: int,
    max_line_bytes: int = MAX_LINE_BYTES,
    clock: Clock = time.time,
) -> tuple[IngestBatch, int]:
    """`decode_lines`, and how many lines the chunk held (a source numbers the next ones).

    The decoder has to count lines anyway (msgspec skips blank ones), so a source need not.
    """
    chunk_decoder = _ChunkDecoder(chunk, max_line_bytes)
    chunk_decoder.run()
    latest = clock() + FUTURE_TOLERANCE_SECONDS
    try:
        batch = chunk_decoder.batch(source, first_line, latest)
    except Exception:  # a row that cannot become columns: found by building each line alone
        batch = _each_line_alone(chunk, source, first_line, max_line_bytes, latest)
    return batch, chunk_decoder.line_count


def _each_line_alone(
    chunk: Buffer, source: str, first_line: int, max_line_bytes: int, latest: float
) -> IngestBatch:
    """The chunk decoded one line per batch, joined: slow, but a line whose row fails to become
    columns costs that line only."""
    records: list[RecordBatch] = []
    skipped: Counter[str] = Counter()
    messages: list[str] = []
    for index, line in enumerate(bytes(chunk).split(b"\n"), start=first_line):
        alone = _ChunkDecoder(line, max_line_bytes)
        try:
            alone.run()
            batch = alone.batch(source, index, latest)
        except Exception as exc:  # that line's failure costs that line only
            message = skip_message(source, index, "not_a_record", f"cannot be read: {exc!r}")
            batch = IngestBatch(RecordBatch.empty(), Counter(not_a_record=1), (message,))
        records.append(batch.records)
        skipped.update(batch.skipped)
        messages.extend(batch.messages)
    return IngestBatch(RecordBatch.concat(records), skipped, tuple(messages[:MAX_MESSAGES]))


class _ChunkDecoder:
    """The rows of one chunk, each with the index of its line, and the skipped lines."""

    def __init__(self, chunk: Buffer, max_line_bytes: int) -> None:
        self._chunk = chunk
        self._max_line_bytes = max_line_bytes
        self._rows: list[_Line] = []
        self._row_lines: list[int] = []
        self._skips: list[tuple[int, str, str]] = []
        self._long_values: dict[int, list[str]] = {}
        """Rows read alone whose long strings were replaced, with what (`_bound_strings`)."""
        self._resumes = 0
        self.line_count = 0

    def run(self) -> None:
        """Clean runs of lines in one msgspec call each; anything unexpected around its lines.

        Lines holding `NaN`/`Infinity` (the old writer may have put one in many lines) are
        found by a quick scan and decoded alone, without a failed call to find each of them.
        """
        if not _has_line_longer_than(self._chunk, self._max_line_bytes):
            if self._decode_runs_between(_non_finite_lines(self._chunk)):
                return
            self._rows, self._row_lines, self._skips = [], [], []
            self._long_values = {}
        self._decode_around_failures()

    def _decode_runs_between(self, suspects: list[tuple[int, int]]) -> bool:
        """Each run between the `suspects` (byte ranges of whole lines) in one call, the
        suspects line by line; False, keeping nothing sure, if a run is not clean."""
        chunk = self._chunk
        view = memoryview(chunk)
        line = cursor = 0
        for start, end in [*suspects, (len(chunk), len(chunk))]:
            if start > cursor:
                run = view[cursor:start]
                lines = count_newlines(run) + (chunk[start - 1] != _NEWLINE)
                try:
                    rows: Sequence[_Line] = _decoder.decode_lines(run)
                except Exception:  # any failure is located line by line
                    return False
                if len(rows) != lines:
                    return False
                self._keep(line, rows)
                line += lines
            if end > start:
                suspect = chunk[start:end]
                self._line_by_line(line, suspect)
                line += suspect.count(b"\n") + (not suspect.endswith(b"\n"))
            cursor = end
        self.line_count = line
        return True

    def _decode_around_failures(self) -> None:
        """Runs of good lines in one call each, the lines at fault alone.

        Over-long lines and lines holding `NaN`/`Infinity` are set apart up front; any other
        bad line is located from msgspec's error.
        """
        view = np.frombuffer(self._chunk, np.uint8)
        starts = [0, *(np.flatnonzero(view == _NEWLINE) + 1).tolist()]
        if starts[-1] < len(self._chunk):
            starts.append(len(self._chunk))
        line_count = len(starts) - 1  # line i is chunk[starts[i]:starts[i + 1]]
        self.line_count = line_count
        cursor = 0
        for first, end in [*self._suspect_runs(starts), (line_count, line_count)]:
            self._decode_span(starts, cursor, first)
            self._line_by_line(first, self._chunk[starts[first] : starts[end]])
            cursor = end

    def _suspect_runs(self, starts: list[int]) -> list[tuple[int, int]]:
        """Runs of consecutive lines (first, end) too long or where `NaN`/`Infinity` may be."""
        chunk = self._chunk
        lengths = np.diff(np.asarray(starts)) - 1  # without their newline
        if not chunk.endswith(b"\n"):
            lengths[-1] += 1
        lines = set(np.flatnonzero(lengths > self._max_line_bytes).tolist())
        for start, end in _non_finite_lines(chunk):
            lines.update(range(bisect_right(starts, start) - 1, bisect_right(starts, end - 1)))
        runs: list[tuple[int, int]] = []
        for line in sorted(lines):
            if runs and runs[-1][1] == line:
                runs[-1] = (runs[-1][0], line + 1)
            else:
                runs.append((line, line + 1))
        return runs

    def _decode_span(self, starts: list[int], first: int, end: int) -> None:
        """Lines `first` to `end`: in one call, or around the line msgspec says failed."""
        while first < end:
            error = self._try_run(starts, first, end)
            if error is None:
                return
            bad = _failed_line(error, starts, first)
            self._resumes += 1
            if bad is None and end - first > 1 and self._resumes <= _MAX_RESUMES:
                middle = (first + end) // 2
                self._decode_span(starts, first, middle)
                first = middle
                continue
            if bad is None or not first <= bad < end or self._resumes > _MAX_RESUMES:
                self._line_by_line(first, self._chunk[starts[first] : starts[end]])
                return
            if bad > first and self._try_run(starts, first, bad) is not None:
                self._line_by_line(first, self._chunk[starts[first] : starts[bad]])
            self._line_by_line(bad, self._chunk[starts[bad] : starts[bad + 1]])
            first = bad + 1

    def _try_run(self, starts: list[int], first: int, end: int) -> Exception | None:
        """Keep lines `first` to `end` from one msgspec call, or return why it failed."""
        segment = memoryview(self._chunk)[starts[first] : starts[end]]
        try:
            rows: Sequence[_Line] = _decoder.decode_lines(segment)
        except Exception as exc:  # any failure is located, then line by line
            return exc
        if len(rows) == end - first:
            self._keep(first, rows)
        else:
            self._line_by_line(first, segment.tobytes())
        return None

    def _line_by_line(self, first: int, lines: Buffer) -> None:
        """The slow path: each line decoded alone, so a bad one costs only itself."""
        parts: Sequence[Buffer] = lines.split(b"\n")
        for index, line in enumerate(parts, start=first):
            try:
                if len(line) > self._max_line_bytes:
                    limit = self._max_line_bytes
                    raise _Skip("too_long", f"{len(line)} bytes, limit {limit}")
                if not line.strip():
                    continue
                row = _decode_one(line)
                replaced = _bound_strings(row)
                if replaced:
                    self._long_values[len(self._rows)] = replaced
                self._rows.append(row)
                self._row_lines.append(index)
            except _Skip as skip:
                self._skips.append((index, skip.reason, skip.detail))
            except RecursionError:
                self._skips.append((index, "not_a_record", _TOO_DEEP))
            except Exception as exc:  # one line's failure costs that line only
                self._skips.append((index, "not_json", f"cannot be read: {exc!r}"))

    def _keep(self, first: int, rows: Sequence[_Line]) -> None:
        self._rows.extend(rows)
        self._row_lines.extend(range(first, first + len(rows)))

    def batch(self, source: str, first_line: int, latest: float) -> IngestBatch:
        """The kept rows as columns, and every skip; rows timed after `latest` are skipped, rows
        with an invalid latency are kept without it, long values are replaced."""
        records, rejected_rows, long_values = _columns(self._rows, latest)
        skips = self._skips
        for row, replaced in self._long_values.items():
            long_values.setdefault(row, []).extend(replaced)
        if long_values:
            not_records = {row for row, _ in rejected_rows}
            skips = skips + [
                (self._row_lines[row], LONG_VALUE, _long_value_detail(replaced))
                for row, replaced in long_values.items() if row not in not_records
            ]
        row_lines: Sequence[int] = self._row_lines
        if rejected_rows:
            keep = np.ones(len(records), dtype=bool)
            keep[[row for row, _ in rejected_rows]] = False
            records = records.take(keep)
            rejected = [(self._row_lines[row], "not_a_record", why) for row, why in rejected_rows]
            skips = skips + rejected
            row_lines = np.asarray(self._row_lines)[keep].tolist()
        invalid = _drop_invalid_latencies(records.latency_ms)
        if invalid:
            skips = skips + [(row_lines[row], INVALID_LATENCY, why) for row, why in invalid]
        if skips is not self._skips:
            skips = sorted(skips)
        messages = tuple(
            skip_message(source, first_line + index, reason, detail)
            for index, reason, detail in skips[:MAX_MESSAGES]
        )
        return IngestBatch(records, Counter(reason for _, reason, _ in skips), messages)


def _failed_line(error: Exception, starts: list[int], first: int) -> int | None:
    """The line msgspec failed on, when decoding from line `first`, if its error says."""
    if isinstance(error, msgspec.ValidationError):
        item = _ITEM_AT.search(str(error))
        return None if item is None else first + int(item[1])
    byte = _BYTE_AT.search(str(error))
    return None if byte is None else bisect_right(starts, starts[first] + int(byte[1])) - 1


def _non_finite_lines(chunk: Buffer) -> list[tuple[int, int]]:
    """Byte ranges of the lines where `NaN` or `Infinity` may be, adjacent lines merged.

    Tokens are searched by their first letter (memchr speed, and rare in logs).
    """
    found: list[tuple[int, int]] = []
    for letter, token in ((b"N", b"NaN"), (b"I", b"Infinity")):
        at = chunk.find(letter)
        while at >= 0:
            if chunk.startswith(token, at):
                end = chunk.find(b"\n", at) + 1 or len(chunk)
                found.append((chunk.rfind(b"\n", 0, at) + 1, end))
                at = chunk.find(letter, end)
            else:
                at = chunk.find(letter, at + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and merged[-1][1] >= start:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _has_line_longer_than(chunk: Buffer, limit: int) -> bool:
    """True if some line exceeds `limit` bytes, found by jumping one window at a time."""
    start = 0
    while len(chunk) - start > limit:
        newline = chunk.rfind(b"\n", start, start + limit + 1)
        if newline < 0:
            return True
        start = newline + 1
    return False


def _decode_one(line: Buffer) -> _Line:
    """One line, strictly, except for Python's `NaN`/`Infinity`/`-Infinity` (module docstring).

    Those tokens are read as `null` one at a time where msgspec stops at them, and past
    `_TOKENS_ONE_BY_ONE` all at once, in one pass that skips over strings: a line full of them
    costs a few more decodes, not one per token. A line holding a string longer than
    `MAX_VALUE_LENGTH` is read again without that bound, for `_bound_strings` to replace it.
    """
    decoder: msgspec.json.Decoder[Any] = _decoder
    strict, replaced = line, 0
    while True:
        try:
            decoded = decoder.decode(strict)
        except msgspec.ValidationError as exc:
            if decoder is _decoder and _TOO_LONG.search(str(exc)):
                decoder = _loose_decoder
                continue
            if _LATENCY_OUT_OF_RANGE.search(str(exc)):
                decoded = _with_latency_out_of_range(strict, str(exc))
                break
            note = " (NaN and Infinity read as null)" if replaced else ""
            raise _Skip("not_a_record", f"{exc}{note}") from None
        except msgspec.DecodeError as exc:
            nulled = _null_for_non_finite(strict, exc)
            if nulled is None:
                raise _Skip("not_json", str(exc)) from None
            replaced += 1
            if replaced >= _TOKENS_ONE_BY_ONE:
                nulled = _NON_FINITE_TOKEN.sub(_null_for_token, nulled)
            strict = nulled
            continue
        except RecursionError:
            raise _Skip("not_a_record", _TOO_DEEP) from None
        except ValueError as exc:
            raise _Skip("not_json", str(exc)) from None
        break
    if replaced:
        decoded.input_features = _features_as_written(line, decoded.input_features)
    return decoded


def _bound_strings(row: _Line) -> list[str]:
    """Replace the row's strings longer than `MAX_VALUE_LENGTH` by their stand-ins; what was
    replaced (`field of N bytes`), for the `long_value` message."""
    replaced = []
    for name in _STRING_FIELDS:
        value = getattr(row, name)
        if value.__class__ is str and len(value) > MAX_VALUE_LENGTH:
            stand_in, size = _stand_in(value)
            setattr(row, name, stand_in)
            replaced.append(f"{name} of {size} bytes")
    return replaced


def short_text(text: str) -> str:
    """`text`, or its stand-in if longer than `MAX_VALUE_LENGTH` (a name taken from a log)."""
    return text if len(text) <= MAX_VALUE_LENGTH else _stand_in(text)[0]


def _stand_in(value: Any) -> tuple[str, int]:
    """The short text standing for a long value, and the value's size in bytes: equal values
    (a container's keys in any order) have equal stand-ins."""
    if isinstance(value, str):
        kind, data = "text", value.encode("utf-8", "surrogatepass")
    else:
        kind = "list" if isinstance(value, list) else "object"
        data = msgspec.json.encode(value, order="sorted")
    digest = hashlib.sha256(data).hexdigest()[:16]
    return f"<{kind} of {len(data)} bytes, sha256 {digest}>", len(data)


def _long_value_detail(replaced: list[str]) -> str:
    their = "its digest" if len(replaced) == 1 else "their digests"
    return f"{', '.join(replaced)} replaced by {their} (record kept)"


def _null_for_token(match: re.Match[bytes]) -> bytes:
    return match[0] if match[1] is None else b"null"


def _with_latency_out_of_range(line: Buffer, error: str) -> _Line:
    """A line whose `latency_ms` is beyond float range: kept, its latency read as an infinity
    of its sign (which `batch` drops as invalid)."""
    try:
        loose = _raw_latency_decoder.decode(line)
        latency = float(bytes(loose.latency_ms))
    except (msgspec.DecodeError, ValueError):
        raise _Skip("not_a_record", error) from None
    fields = {name: getattr(loose, name) for name in _Line.__struct_fields__}
    return _Line(**{**fields, "latency_ms": latency})


def _features_as_written(line: Buffer, nulled: msgspec.Raw) -> msgspec.Raw:
    """The line's `input_features` with its non-finite numbers kept, as Python's json writes."""
    if bytes(nulled) == b"null":
        return nulled
    try:
        features = json.loads(line).get("input_features")
        if not isinstance(features, dict):
            return nulled
        return msgspec.Raw(json.dumps(features).encode())
    except Exception:  # the nulled features stand in
        return nulled


def decode_objects(raw: Sequence[bytes | None]) -> list[Any]:
    """JSON objects kept raw in a `RecordBatch`, decoded: one msgspec call for the whole list.

    Objects holding the old writer's `NaN`/`Infinity` tokens fall back, alone, to `json.loads`,
    which reads them as floats. An object that cannot be decoded at all (nested too deep, say)
    reads as None: it costs that value only.
    """
    if not raw:
        return []
    joined = b",".join(b"null" if value is None else value for value in raw)
    try:
        return list(msgspec.json.decode(b"[" + joined + b"]"))
    except Exception:  # each value alone, so that a bad one costs itself only
        return [_decode_object(value) for value in raw]


def _decode_object(value: bytes | None) -> Any:
    if value is None:
        return None
    try:
        return msgspec.json.decode(value)
    except msgspec.DecodeError:
        pass
    except Exception:  # see decode_objects
        return None
    try:
        return json.loads(value)
    except Exception:  # see decode_objects
        return None


def _null_for_non_finite(line: Buffer, error: msgspec.DecodeError) -> Buffer | None:
    """`line` with the token msgspec stopped at written as `null`, if it is a non-finite number.

    msgspec stops exactly where a value was expected, so the token is never inside a string:
    this reads the old writer's `json.dumps` output as `json.loads` would, with missing values.
    """
    found = _INVALID_CHARACTER_AT.search(str(error))
    if found is None:
        return None
    at = int(found[1])
    after_minus = at > 0 and line[at - 1 : at] == b"-"
    if after_minus and line.startswith(b"Infinity", at):
        start, end = at - 1, at + len(b"Infinity")
    elif not after_minus and line.startswith(b"Infinity", at):
        start, end = at, at + len(b"Infinity")
    elif not after_minus and line.startswith(b"NaN", at):
        start, end = at, at + len(b"NaN")
    else:
        return None
    if line[end : end + 1] not in _AFTER_A_VALUE:
        return None
    return line[:start] + b"null" + line[end:]


def _columns(
    rows: list[_Line], latest: float
) -> tuple[RecordBatch, list[tuple[int, str]], dict[int, list[str]]]:
    """The rows as `RecordBatch` columns, one list comprehension per column (the fastest
    attribute read there is for a struct field).

    Also returns the rows that are not records, with why (one reason per row, in row order):
    raw objects that are not objects (nor null), since msgspec's `Raw` accepts any JSON value,
    and timestamps before 1970 or after `latest`; and the rows whose long `prediction` or
    `ground_truth` container was replaced by its stand-in, with what.
    """
    if not rows:
        return RecordBatch.empty(), [], {}
    features, features_null, features_ok = _raw_column([row.input_features for row in rows])
    proba, _, proba_ok = _raw_column([row.prediction_proba for row in rows])
    predictions = [row.prediction for row in rows]
    labels = [row.ground_truth for row in rows]
    long_values: dict[int, list[str]] = {}
    _bound_containers(predictions, "prediction", long_values)
    _bound_containers(labels, "ground_truth", long_values)
    prediction, ground_truth = _objects(predictions), _objects(labels)
    has_ground_truth = ground_truth != None  # noqa: E711 - elementwise on an object array
    ids = [row.prediction_id for row in rows]
    records = RecordBatch(
        timestamp=np.array([row.timestamp for row in rows], dtype=np.float64),
        model=_objects([row.model_name for row in rows]),
        version=_objects([row.model_version for row in rows]),
        prediction_id=_objects([i if i.__class__ is str else str(i) for i in ids]),
        latency_ms=np.array([row.latency_ms for row in rows], dtype=np.float64),
        error=_objects([row.error for row in rows]),
        is_label=has_ground_truth & features_null,
        prediction=prediction,
        ground_truth=ground_truth,
        input_features=features,
        prediction_proba=proba,
    )
    timestamp = records.timestamp
    time_ok = (timestamp >= 0.0) & (timestamp <= latest)
    rejected = [
        (int(row), f"`{'prediction_proba' if features_ok[row] else 'input_features'}` {_SHAPE}")
        if time_ok[row]
        else (int(row), _timestamp_problem(float(timestamp[row]), latest))
        for row in np.flatnonzero(~(time_ok & features_ok & proba_ok))
    ]
    return records, rejected, long_values


def _bound_containers(values: list[Any], name: str, replaced: dict[int, list[str]]) -> None:
    """Replace, in place, the lists and objects among `values` whose JSON is longer than
    `MAX_VALUE_LENGTH` by their stand-ins, noting each in `replaced` by row.

    One pass over the types finds whether there are any (rare): a clean column costs only that.
    """
    if not any(kind in _CONTAINERS for kind in set(map(type, values))):
        return
    for row, value in enumerate(values):
        if value.__class__ in _CONTAINERS and len(msgspec.json.encode(value)) > MAX_VALUE_LENGTH:
            values[row], size = _stand_in(value)
            replaced.setdefault(row, []).append(f"{name} of {size} bytes")


def _drop_invalid_latencies(latency_ms: np.ndarray) -> list[tuple[int, str]]:
    """Set latencies that cannot be measured ones to NaN (absent), in place; the rows, with why.

    Only the slow path allocates: a clean batch costs two comparisons over its column.
    """
    with np.errstate(invalid="ignore"):
        valid = (latency_ms >= 0.0) & (latency_ms <= MAX_LATENCY_MS)
    invalid = np.flatnonzero(~valid & ~np.isnan(latency_ms))
    if invalid.shape[0] == 0:
        return []
    problems = [(int(row), _latency_problem(float(latency_ms[row]))) for row in invalid]
    latency_ms[invalid] = np.nan
    return problems


def _latency_problem(latency: float) -> str:
    if latency < 0.0:
        why = "is negative"
    elif math.isinf(latency):
        why = "is out of range"
    else:
        why = f"is above {MAX_LATENCY_MS:.0f} ms (a day)"
    return f"latency_ms {latency:.10g} {why} (record kept without its latency)"


def _timestamp_problem(timestamp: float, latest: float) -> str:
    """Why a timestamp outside [0, `latest`] is wrong, with the likely cause when there is one."""
    if timestamp < 0.0:
        return f"`timestamp` {timestamp:.6g} is negative"
    hint = ": milliseconds?" if _YEAR_2000 <= timestamp / 1000.0 <= latest else ""
    return f"`timestamp` {timestamp:.6g} is more than a day in the future{hint}"


def _objects(values: list[Any]) -> np.ndarray:
    """An object column holding each value whole (a list value stays one element)."""
    return np.fromiter(values, OBJECT, len(values))


def _raw_column(values: list[msgspec.Raw]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw JSON objects as `bytes` (`None` for null or absent), where null, where well formed.

    `b"" + raw` copies a value out of the chunk: it costs less than `bytes(raw)`, whose
    argument parsing doubles the price of a short value.
    """
    column = _objects([_EMPTY + value for value in values])
    first_bytes = column.astype("S1").view(np.uint8)  # numpy keeps the first byte of each
    is_null = first_bytes == _FIRST_OF_NULL
    column[is_null] = None
    return column, is_null, is_null | (first_bytes == _FIRST_OF_OBJECT)
