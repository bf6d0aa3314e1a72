"""The producer API: what a model server calls to write prediction records to storage.

`PredictionLogger` turns each call into one contract line (see ARCHITECTURE.md, "Contract") and
buffers it; lines reach `<storage>/predictions/*.jsonl` in batches, from the calling thread
when a batch fills, from a daemon thread every `flush_interval` seconds, and at `close()` or
interpreter exit. `ModelLogger` is the same writer bound to one model: every record carries
`model_name`/`model_version`, and `monitor_config.json` names the model for old readers.
`neural_tui.ModelMonitor` (the old module's face, in `monitor.py`) writes through a `ModelLogger`.

`PredictionLogger` also takes the old module's arguments: a `storage_path` whose last part is
`predictions` is that folder itself (the old module was handed `monitoring_data/predictions`),
so the storage is its parent; `enable_sampling=True` with `sampling_rate` is `sample_rate`.

Guarantees, because a model server must never pay for its monitoring with an outage or with
silently lost data:

- A written line is never overwritten: files are created exclusively with unique names
  (UTC time, pid, a random token, a sequence number), so processes sharing one storage never
  collide, and a file is appended to only by the logger that created it.
- A write failure (disk full, storage gone) never raises into the caller: the lines stay
  buffered up to `max_buffered_records` and are retried on the next interval; past that
  bound new records are dropped and counted in `dropped_records`. One warning per episode.
- Sampling is deterministic by a hash of `prediction_id`, so a late label is kept exactly
  when its prediction was; error records are sampled at the same rate by their fresh id, so
  the error share stays unbiased.
- NaN and infinite floats are written as Python's json writes them (`NaN`, `Infinity`,
  `-Infinity`), so a reader can tell them from a missing value (`null`).
- After `os.fork()` (e.g. gunicorn with a preloaded app) the child starts empty with its
  own files and flush thread; the parent keeps and writes what it had buffered.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import numbers
import os
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from io import FileIO
from operator import countOf
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson

from neural_tui.storage_layout import MONITOR_CONFIG, RECORDS_FOLDER

MiB = 1 << 20
DEFAULT_STORAGE = "monitoring_data"
"""The storage a writer given none uses (the old module's default too)."""

_log = logging.getLogger(__name__)
_ENCODE_OPTIONS = (
    orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
)
_HASH_RANGE = 1 << 32
_NONE_ID = id(None)
_live_loggers: weakref.WeakSet[PredictionLogger] = weakref.WeakSet()


class PredictionLogger:
    """Buffered, thread-safe writer of prediction records in the storage contract format."""

    _lock: threading.Lock
    _write_lock: threading.Lock
    _buffer: list[bytes]
    _failing: bool
    _file: FileIO | None
    _file_bytes: int
    _token: str
    _sequence: int
    _stop: threading.Event
    _flusher: threading.Thread

    def __init__(
        self,
        storage_path: str | os.PathLike[str] | None = DEFAULT_STORAGE,
        batch_size: int = 1000,
        enable_sampling: bool | None = None,
        sampling_rate: float | None = None,
        *,
        sample_rate: float | None = None,
        flush_interval: float = 5.0,
        max_file_bytes: int = 64 * MiB,
        max_buffered_records: int = 100_000,
        model_name: str | None = None,
        model_version: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        sample_rate = _sample_rate(sample_rate, enable_sampling, sampling_rate)
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, got {sample_rate!r}")
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        if max_file_bytes < 1:
            raise ValueError(f"max_file_bytes must be >= 1, got {max_file_bytes!r}")
        if max_buffered_records < batch_size:
            raise ValueError(
                f"max_buffered_records ({max_buffered_records!r}) must be >= batch_size "
                f"({batch_size!r})"
            )
        self.storage_path = storage_root(DEFAULT_STORAGE if storage_path is None else storage_path)
        self.predictions_dir = self.storage_path / RECORDS_FOLDER
        self.predictions_dir.mkdir(parents=True, exist_ok=True)
        self.sample_rate = sample_rate
        self._sample_threshold = int(sample_rate * _HASH_RANGE)
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._max_file_bytes = max_file_bytes
        self._max_buffered = max_buffered_records
        self._clock = clock
        self._model_fields = {
            key: _require_name(key, value)
            for key, value in (("model_name", model_name), ("model_version", model_version))
            if value is not None
        }
        self._closed = False
        self._dropped = 0
        self._drops_reported = False
        self._start_fresh()
        _live_loggers.add(self)
        atexit.register(self.close)

    @property
    def dropped_records(self) -> int:
        """Records lost because the buffer was full while writes kept failing."""
        return self._dropped

    @property
    def buffered_records(self) -> int:
        """Records accepted but not yet written."""
        return len(self._buffer)

    def log_prediction(
        self,
        prediction_id: str | int,
        input_features: Mapping[str, Any],
        prediction: Any,
        prediction_proba: Mapping[str, Any] | None = None,
        ground_truth: Any = None,
        latency_ms: float = 0.0,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one prediction (the old module's signature)."""
        prediction_id = _require_id(prediction_id)
        input_features = _require_object("input_features", input_features, prediction_id)
        if prediction_proba is not None:
            prediction_proba = _require_object("prediction_proba", prediction_proba, prediction_id)
        if metadata is not None:
            metadata = _require_object("metadata", metadata, prediction_id)
        latency_ms = _require_latency(latency_ms, prediction_id)
        if self._sample_threshold < _HASH_RANGE and not self._keeps(prediction_id):
            return
        record = {
            "timestamp": self._clock(),
            "prediction_id": prediction_id,
            "input_features": input_features,
            "prediction": prediction,
            "prediction_proba": prediction_proba,
            "ground_truth": ground_truth,
            "latency_ms": latency_ms,
            "metadata": metadata,
        }
        self._append(record)

    def log_ground_truth(self, prediction_id: str | int, ground_truth: Any) -> None:
        """Record the label of an earlier prediction (a late-label line, no input_features)."""
        prediction_id = _require_id(prediction_id)
        if ground_truth is None:
            raise ValueError(f"prediction {prediction_id!r}: ground_truth must not be None")
        if self._sample_threshold < _HASH_RANGE and not self._keeps(prediction_id):
            return
        record = {
            "timestamp": self._clock(),
            "prediction_id": prediction_id,
            "ground_truth": ground_truth,
        }
        self._append(record)

    def record_error(self, error_type: str, *, latency_ms: float | None = None) -> None:
        """Record a failed request: a line with `error` set and a fresh prediction_id.

        `latency_ms`, when given, is how long the failed request took (timeouts are slow).
        """
        if not isinstance(error_type, str) or not error_type:
            raise TypeError(f"error_type must be a non-empty str, got {error_type!r}")
        prediction_id = uuid.uuid4().hex
        if latency_ms is not None:
            latency_ms = _require_latency(latency_ms, prediction_id)
        if self._sample_threshold < _HASH_RANGE and not self._keeps(prediction_id):
            return
        record: dict[str, Any] = {
            "timestamp": self._clock(),
            "prediction_id": prediction_id,
            "error": error_type,
        }
        if latency_ms is not None:
            record["latency_ms"] = latency_ms
        self._append(record)

    def flush(self) -> None:
        """Write every buffered record now; on failure they stay buffered (see module doc)."""
        self._write_pending(wait=True)

    def close(self) -> None:
        """Stop the flush thread, write what is buffered and close the file. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        self._write_pending(wait=True)
        with self._write_lock:
            self._close_file()
        atexit.unregister(self.close)
        if self._buffer:
            _log.error(
                "%s: %d records could not be written and are lost",
                self.predictions_dir,
                len(self._buffer),
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _keeps(self, prediction_id: str) -> bool:
        """The sampling decision: a hash of the id, so a label follows its prediction."""
        return zlib.crc32(prediction_id.encode()) < self._sample_threshold

    def _append(self, record: dict[str, Any]) -> None:
        if self._model_fields:
            record.update(self._model_fields)
        line = _encode(record)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{type(self).__name__} for {self.storage_path} is closed")
            buffer = self._buffer
            if len(buffer) >= self._max_buffered:
                first_drop = self._count_drops(1)
                batch_full = False
            else:
                buffer.append(line)
                first_drop = False
                batch_full = len(buffer) >= self._batch_size and not self._failing
        if first_drop:
            self._warn_dropping()
        if batch_full:
            self._write_pending(wait=False)

    def _write_pending(self, *, wait: bool) -> None:
        """Write the buffer; without `wait`, leave it to a thread that is already writing."""
        if not self._write_lock.acquire(blocking=wait):
            return
        try:
            with self._lock:
                lines, self._buffer = self._buffer, []
            if not lines:
                return
            written = self._write_lines(lines)
            if written < len(lines):
                self._keep_unwritten(lines[written:])
            elif self._failing:
                self._failing = False
                _log.info("%s: writing again", self.predictions_dir)
        finally:
            self._write_lock.release()

    def _write_lines(self, lines: list[bytes]) -> int:
        """Append lines, rotating by size; return how many were written before any failure."""
        written = 0
        try:
            while written < len(lines):
                file = self._file or self._open_new_file()
                end = self._lines_that_fit(lines, written)
                if end == written:
                    self._close_file()
                    continue
                self._write_chunk(file, b"".join(lines[written:end]))
                written = end
                if self._file_bytes >= self._max_file_bytes:
                    self._close_file()
        except OSError as error:
            if not self._failing:
                _log.warning(
                    "%s: cannot write records (%s); keeping them buffered and retrying",
                    self.predictions_dir,
                    error,
                )
            self._failing = True
        return written

    def _lines_that_fit(self, lines: list[bytes], start: int) -> int:
        """End index of the lines from `start` that fit in the current file.

        An empty file takes at least one line, however long, so nothing is ever stuck.
        """
        room = self._max_file_bytes - self._file_bytes
        rest = lines[start:] if start else lines
        if sum(map(len, rest)) <= room:
            return len(lines)
        end, size = start, 0
        for line in rest:
            if size + len(line) > room and not (end == start and self._file_bytes == 0):
                break
            size += len(line)
            end += 1
        return end

    def _write_chunk(self, file: FileIO, chunk: bytes) -> None:
        """Write all of `chunk`; on failure cut the file back to its last whole line."""
        view = memoryview(chunk)
        try:
            while view:
                count = file.write(view)
                if not count:
                    raise OSError(f"short write to {file.name}")
                view = view[count:]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(file.fileno(), self._file_bytes)
            self._close_file()
            raise
        self._file_bytes += len(chunk)

    def _open_new_file(self) -> FileIO:
        """Create the next file; never an existing one (another process may be writing it)."""
        self.predictions_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
        while True:
            self._sequence += 1
            name = f"predictions_{stamp}_{os.getpid()}_{self._token}_{self._sequence:04d}.jsonl"
            try:
                file = (self.predictions_dir / name).open("xb", buffering=0)
            except FileExistsError:
                continue
            self._file = file
            self._file_bytes = 0
            return file

    def _close_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _keep_unwritten(self, lines: list[bytes]) -> None:
        """Put unwritten lines back in front of newer ones, dropping the newest past the bound."""
        first_drop = False
        with self._lock:
            kept = lines + self._buffer
            overflow = len(kept) - self._max_buffered
            if overflow > 0:
                first_drop = self._count_drops(overflow)
                del kept[self._max_buffered :]
            self._buffer = kept
        if first_drop:
            self._warn_dropping()

    def _count_drops(self, count: int) -> bool:
        """Count dropped records (holding `_lock`); True the first time, to warn once."""
        self._dropped += count
        first = not self._drops_reported
        self._drops_reported = True
        return first

    def _warn_dropping(self) -> None:
        _log.warning(
            "%s: buffer full (%d records) while writes fail; dropping the newest records",
            self.predictions_dir,
            self._max_buffered,
        )

    def _flush_periodically(self) -> None:
        while not self._stop.wait(self._flush_interval):
            self._write_pending(wait=True)

    def _start_fresh(self) -> None:
        """Empty buffer, no open file, new locks and flush thread (at start and after fork)."""
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._buffer = []
        self._failing = False
        self._file = None
        self._file_bytes = 0
        self._token = os.urandom(3).hex()
        self._sequence = 0
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_periodically, name="neural-tui-producer-flush", daemon=True
        )
        if not self._closed:
            self._flusher.start()


class ModelLogger(PredictionLogger):
    """A `PredictionLogger` for one model: records carry its name and version.

    It also writes `monitor_config.json` in the storage root as the old module did, unless
    that file names another model (then it is left alone: the records name their model).
    """

    def __init__(
        self,
        model_name: str,
        model_version: str,
        storage_path: str | os.PathLike[str] = DEFAULT_STORAGE,
        *,
        sample_rate: float = 1.0,
        flush_interval: float = 5.0,
        batch_size: int = 1000,
        max_file_bytes: int = 64 * MiB,
        max_buffered_records: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.model_name = _require_name("model_name", model_name)
        self.model_version = _require_name("model_version", model_version)
        super().__init__(
            storage_path,
            sample_rate=sample_rate,
            flush_interval=flush_interval,
            batch_size=batch_size,
            max_file_bytes=max_file_bytes,
            max_buffered_records=max_buffered_records,
            model_name=model_name,
            model_version=model_version,
            clock=clock,
        )
        self._register_model()

    def _register_model(self) -> None:
        path = self.storage_path / MONITOR_CONFIG
        existing = _read_config(path)
        if existing is not None:
            if existing.get("model_name") != self.model_name:
                _log.info("%s names model %r; leaving it", path, existing.get("model_name"))
                return
            if existing.get("model_version") == self.model_version:
                return
        config = {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "created_at": datetime.now(UTC).isoformat(),
        }
        temporary = path.with_name(f".{MONITOR_CONFIG}.{os.getpid()}.{os.urandom(3).hex()}")
        try:
            temporary.write_text(json.dumps(config, indent=2), encoding="utf-8")
            temporary.replace(path)
        except OSError as error:
            _log.warning("%s: cannot write (%s); records still name the model", path, error)
            with contextlib.suppress(OSError):
                temporary.unlink()


def storage_root(storage_path: str | os.PathLike[str]) -> Path:
    """The storage directory: `storage_path`, or its parent when its last part is the records
    folder itself (`monitoring_data/predictions`, as the old module was given it)."""
    path = Path(storage_path)
    return path.parent if path.name == RECORDS_FOLDER else path


def _sample_rate(
    sample_rate: float | None, enable_sampling: bool | None, sampling_rate: float | None
) -> float:
    """`sample_rate`, or the old module's `enable_sampling`/`sampling_rate` pair (which
    sampled only when `enable_sampling` was true); both ways given must agree."""
    old: float | None = None
    if enable_sampling:
        old = 1.0 if sampling_rate is None else sampling_rate
    elif sampling_rate is not None and sampling_rate != 1.0:
        raise ValueError(
            f"sampling_rate={sampling_rate!r} needs enable_sampling=True (the old module "
            "ignored it without); or pass sample_rate"
        )
    elif enable_sampling is not None:
        old = 1.0
    if sample_rate is not None and old is not None and sample_rate != old:
        raise ValueError(
            f"sample_rate={sample_rate!r} disagrees with the old arguments "
            f"enable_sampling={enable_sampling!r}, sampling_rate={sampling_rate!r}; pass one"
        )
    if sample_rate is not None:
        return sample_rate
    return 1.0 if old is None else old


def _read_config(path: Path) -> dict[str, Any] | None:
    """The config as written, or None when absent or unreadable (then it is rewritten)."""
    try:
        config = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def _encode(record: dict[str, Any]) -> bytes:
    """One JSON line; orjson for speed, Python's json only when a float is NaN or infinite.

    orjson writes NaN and infinity as `null`. When every `null` in its output is accounted for
    by a `None` at the top two levels of the record (the usual case), no float was
    non-finite; only otherwise is the whole record searched.
    """
    try:
        line = orjson.dumps(record, option=_ENCODE_OPTIONS)
    except orjson.JSONEncodeError as error:
        try:
            line = orjson.dumps(_with_text_keys(record), option=_ENCODE_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            raise TypeError(
                f"prediction {record['prediction_id']!r}: cannot be written as JSON: {error}"
            ) from None
    nulls = line.count(b"null")
    if nulls and nulls != _count_shallow_nones(record) and _has_nonfinite(record):
        text = json.dumps(_with_text_keys(record), ensure_ascii=False, separators=(",", ":"),
                          default=_plain)
        line = text.encode() + b"\n"
    return line


def _with_text_keys(value: Any) -> Any:
    """`value` with numpy scalar dict keys (e.g. `dict(zip(model.classes_, proba))`) made
    plain, as the old module's `json.dumps` wrote them; other keys are left to orjson."""
    if isinstance(value, dict):
        return {
            (key.item() if hasattr(key, "item") else key): _with_text_keys(item)
            for key, item in value.items()
        }
    return value


def _count_shallow_nones(record: dict[str, Any]) -> int:
    """Nones at the top two levels, by identity (`==` would broadcast over numpy arrays)."""
    count = 0
    for value in record.values():
        if value is None:
            count += 1
        elif type(value) is dict:
            count += countOf(map(id, value.values()), _NONE_ID)
    return count


def _has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nonfinite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nonfinite(item) for item in value)
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype.kind == "f":
        return _has_nonfinite(value.tolist())
    return False


def _plain(value: Any) -> Any:
    """What Python's json cannot write itself: numpy values, and whatever orjson can."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY))


def _require_id(prediction_id: Any) -> str:
    if isinstance(prediction_id, str):
        if not prediction_id:
            raise ValueError("prediction_id must not be empty")
        return prediction_id
    if isinstance(prediction_id, numbers.Integral) and not isinstance(prediction_id, bool):
        return str(int(prediction_id))  # a numpy integer too, written as the same digits
    raise TypeError(f"prediction_id must be a str or int, got {type(prediction_id).__name__}")


def _require_object(name: str, value: Any, prediction_id: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(
        f"prediction {prediction_id!r}: {name} must be a dict, got {type(value).__name__}"
    )


def _require_latency(latency_ms: Any, prediction_id: str) -> float:
    if type(latency_ms) is not float:
        if not isinstance(latency_ms, numbers.Real) or isinstance(latency_ms, bool):
            raise TypeError(
                f"prediction {prediction_id!r}: latency_ms must be a number, "
                f"got {type(latency_ms).__name__}"
            )
        latency_ms = float(latency_ms)
    if latency_ms < 0:
        raise ValueError(f"prediction {prediction_id!r}: latency_ms must be >= 0, got {latency_ms}")
    return latency_ms


def _require_name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key} must be a non-empty str, got {value!r}")
    return value


def _start_fresh_after_fork() -> None:
    for logger in list(_live_loggers):
        logger._start_fresh()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_start_fresh_after_fork)
