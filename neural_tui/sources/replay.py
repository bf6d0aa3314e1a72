"""Playing stored records back in record-time order, as a replay clock reaches them.

Every `*.jsonl` under `<storage>/predictions/` is read from its start in bounded chunks (a
daemon thread reads and decodes; the event loop only waits). A file being played keeps one
decoded chunk, sorted by time, and the files are merged by time: a batch holds the rows of
every file up to the earliest time that all the buffered chunks reach. A file is read only
once the clock reaches the time of the line at its read position, and its chunk is let go once
played, so memory stays one chunk per file playing at once (the rotated files of past days
cost nothing until their day comes), however large the storage. A file's lines are sorted
within a chunk only: a record written more than a chunk out of place comes a little late, as
it did live.

Records before `start` are read past and dropped, the range ends at `end` (or the last record),
and the rows go out as the clock passes their time; then `on_finished` is called once. A last
line without its newline (a writer mid-line) is left out, as the tail leaves it.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from neural_tui.decode import MAX_LINE_BYTES, decode_counting_lines
from neural_tui.records import IngestBatch, RecordBatch
from neural_tui.sources.scan import SUFFIX
from neural_tui.sources.workers import DaemonExecutor
from neural_tui.storage_layout import RECORDS_FOLDER

CHUNK_BYTES = 256 << 10
"""Bytes read from one file at a time: what each file holds in memory, decoded."""
MAX_BATCH_ROWS = 20_000
"""Rows handed to the runtime in one batch (a big step comes as several)."""
PEEK_BYTES = 64 << 10
"""Bytes read to learn the time of the line at a file's read position (a longer line: the
chunk is read instead)."""
POLL_SECONDS = 0.05
"""How often, in wall seconds, the source looks at the clock when it has nothing due."""
MESSAGES_KEPT = 20


class _FileCursor:
    """One file read from its start: the current chunk decoded and sorted by time, and where
    its next rows start. A file not reached yet holds no rows: only the time of the line at
    its read position (`lower_bound`), read alone."""

    def __init__(self, path: Path, start: float) -> None:
        self.path = path
        self.start = start
        self.offset = 0
        self.line = 1
        self.at_end = False
        self.rows = RecordBatch.empty()
        self.next_row = 0
        self.skipped: Counter[str] = Counter()
        self.messages: list[str] = []
        self._peeked: tuple[int, float] | None = None
        """The read position and the time of the line there, once read."""
        self.drained = False
        """Whether the last chunk was read to the file's end: nothing later holds its rows back
        (a line written since comes a little late, as it did live)."""

    @property
    def buffered(self) -> bool:
        return self.next_row < len(self.rows)

    @property
    def next_time(self) -> float:
        return float(self.rows.timestamp[self.next_row]) if self.buffered else math.inf

    @property
    def last_time(self) -> float:
        return float(self.rows.timestamp[-1]) if self.buffered else math.inf

    def lower_bound(self) -> float:
        """The time of the next row, or, before its chunk is read, of the line at the read
        position (a file is written about in time order; -inf when that line has no time, so
        the chunk is read); inf once the file is played."""
        if self.buffered:
            return self.next_time
        if self.at_end:
            return math.inf
        if self._peeked is None or self._peeked[0] != self.offset:
            self._peeked = (self.offset, self._time_at_offset())
        return self._peeked[1]

    def fill(self) -> None:
        """Read chunks until one holds rows at or after `start`, or the file ends."""
        while not self.buffered and not self.at_end:
            self._read_chunk()

    def last_record_time(self) -> float:
        """The time of the file's last whole line, from its last chunk alone (-inf when that
        holds no record)."""
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - CHUNK_BYTES))
                data = handle.read(CHUNK_BYTES)
        except OSError:
            return -math.inf
        end = data.rfind(b"\n")
        first = data.find(b"\n") + 1 if size > CHUNK_BYTES else 0
        if end < first:
            return -math.inf
        return _newest(data[first:end + 1], self.path.name)

    def take_through(self, horizon: float) -> RecordBatch:
        """The buffered rows timed at or before `horizon`, in time order; a chunk played to
        its end is let go."""
        stop = int(np.searchsorted(self.rows.timestamp, horizon, side="right"))
        if stop <= self.next_row:
            return RecordBatch.empty()
        taken = self.rows.take(slice(self.next_row, stop))
        self.next_row = stop
        if not self.buffered:
            self.rows, self.next_row = RecordBatch.empty(), 0
        return taken

    def _time_at_offset(self) -> float:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(PEEK_BYTES)
        except OSError:
            return -math.inf
        end = data.find(b"\n")
        return -math.inf if end < 0 else _newest(data[:end + 1], self.path.name)

    def _read_chunk(self) -> None:
        data = self._whole_lines()
        if data is None:
            self.at_end = True
            self.rows, self.next_row = RecordBatch.empty(), 0
            return
        if not data:
            return
        batch, lines = decode_counting_lines(data, source=self.path.name, first_line=self.line,
                                             max_line_bytes=MAX_LINE_BYTES)
        self.line += lines
        self.skipped.update(batch.skipped)
        self.messages.extend(batch.messages)
        rows = batch.records
        rows = rows.take(np.argsort(rows.timestamp, kind="stable"))
        first = int(np.searchsorted(rows.timestamp, self.start, side="left"))
        self.rows, self.next_row = rows, first

    def _whole_lines(self) -> bytes | None:
        """The next bytes up to the last newline within a chunk (a line longer than a chunk
        whole, up to `MAX_LINE_BYTES`, beyond which it is skipped as too long and empty bytes
        are returned); None at the end (a last line without its newline waits)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(CHUNK_BYTES)
                self.drained = len(data) < CHUNK_BYTES
                cut = data.rfind(b"\n")
                if cut < 0 and len(data) == CHUNK_BYTES:
                    data += handle.read(MAX_LINE_BYTES)
                    cut = data.find(b"\n")
                    if cut < 0 and len(data) == CHUNK_BYTES + MAX_LINE_BYTES:
                        return self._skip_long_line(handle, len(data))
        except OSError as exc:
            self.skipped["read_error"] += 1
            self.messages.append(f"{self.path.name}: read_error: {exc.strerror or exc}")
            return None
        if cut < 0:
            return None
        self.offset += cut + 1
        return data[: cut + 1]

    def _skip_long_line(self, handle: BinaryIO, read: int) -> bytes | None:
        """Read past a line longer than any record may be, a chunk at a time, to its newline;
        counted as skipped (`too_long`)."""
        while block := handle.read(CHUNK_BYTES):
            newline = block.find(b"\n")
            if newline >= 0:
                self.offset += read + newline + 1
                self.skipped["too_long"] += 1
                self.messages.append(f"{self.path.name}:{self.line}: too_long: the line is "
                                     f"longer than {MAX_LINE_BYTES} bytes")
                self.line += 1
                return b""
            read += len(block)
        return None


def _newest(lines: bytes, name: str) -> float:
    """The newest record time among whole `lines` (-inf when none is a record)."""
    batch, _ = decode_counting_lines(lines, source=name, first_line=1)
    return float(batch.records.timestamp.max()) if len(batch.records) else -math.inf


class StoredRecords:
    """The storage's records merged across files by time (blocking: call from a thread)."""

    def __init__(self, storage: Path, *, start: float = -math.inf) -> None:
        folder = storage / RECORDS_FOLDER
        paths = sorted(path for path in _listing(folder)
                       if path.suffix == SUFFIX and path.is_file())
        self._cursors = [_FileCursor(path, start) for path in paths]

    def next_time(self) -> float:
        """The time of the next row to play, at or after the start (inf when every file is
        played): the files are read, lowest `lower_bound` first, until the lowest is a row."""
        while True:
            cursor = min(self._cursors, key=_FileCursor.lower_bound, default=None)
            if cursor is None or cursor.buffered or cursor.at_end:
                return math.inf if cursor is None else cursor.lower_bound()
            cursor.fill()

    def last_time(self) -> float:
        """The newest record time at the end of any file (reading each file's last chunk
        only): where a replay without `--to` stops its clock."""
        return max((cursor.last_record_time() for cursor in self._cursors), default=-math.inf)

    def take_until(self, until: float, max_rows: int = MAX_BATCH_ROWS) -> list[IngestBatch]:
        """The rows timed at or before `until`, in time order, as batches of about `max_rows`
        (a batch with the lines skipped since the last one)."""
        batches: list[IngestBatch] = []
        taken = 0
        while taken < max_rows:
            due = [cursor for cursor in self._cursors if cursor.lower_bound() <= until]
            for cursor in due:
                cursor.fill()
            live = [cursor for cursor in due if cursor.buffered]
            if not live:
                break
            horizon = min(until, min((cursor.last_time for cursor in live
                                      if not cursor.drained), default=math.inf))
            parts = [part for part in (cursor.take_through(horizon) for cursor in live)
                     if len(part)]
            if not parts:
                break
            rows = RecordBatch.concat(parts) if len(parts) > 1 else parts[0]
            if len(parts) > 1:
                rows = rows.take(np.argsort(rows.timestamp, kind="stable"))
            batches.append(IngestBatch(rows, *self._skips()))
            taken += len(rows)
        skipped, messages = self._skips()
        if skipped:
            batches.append(IngestBatch(RecordBatch.empty(), skipped, messages))
        return batches

    def _skips(self) -> tuple[Counter[str], tuple[str, ...]]:
        """The lines skipped since the last call, and their first messages."""
        skipped: Counter[str] = Counter()
        messages: list[str] = []
        for cursor in self._cursors:
            skipped.update(cursor.skipped)
            messages.extend(cursor.messages)
            cursor.skipped.clear()
            cursor.messages.clear()
        return skipped, tuple(messages[:MESSAGES_KEPT])


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


class ReplaySource:
    """A source that plays `StoredRecords` as `clock` reaches their times (see the module)."""

    def __init__(self, records: StoredRecords, clock: Callable[[], float], *,
                 end: float | None = None, on_finished: Callable[[], None] = lambda: None,
                 label: str = "replay") -> None:
        self._records = records
        self._clock = clock
        self._end = math.inf if end is None else end
        self._on_finished = on_finished
        self._label = label
        self._reader = DaemonExecutor(1, "replay reader")

    @property
    def label(self) -> str:
        return self._label

    async def batches(self) -> AsyncIterator[IngestBatch]:
        loop = asyncio.get_running_loop()
        while True:
            until = min(self._clock(), self._end)
            for batch in await loop.run_in_executor(self._reader, self._records.take_until,
                                                    until):
                yield batch
            upcoming = await loop.run_in_executor(self._reader, self._records.next_time)
            if math.isinf(upcoming) or upcoming > self._end:
                self._on_finished()
                return
            if upcoming > until:
                await asyncio.sleep(POLL_SECONDS)
