"""Playing stored records back in record-time order, as a replay clock reaches them.

Every `*.jsonl` under `<storage>/predictions/` is read from its start in bounded chunks (a
daemon thread reads and decodes; the event loop only waits). Each file keeps one decoded chunk,
sorted by time, and the files are merged by time: a batch holds the rows of every file up to
the earliest time that all the files' buffered chunks reach, so memory stays one chunk per
file, however large the storage. A file's lines are sorted within a chunk only: a record
written more than a chunk out of place comes a little late, as it did live.

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
POLL_SECONDS = 0.05
"""How often, in wall seconds, the source looks at the clock when it has nothing due."""
MESSAGES_KEPT = 20


class _FileCursor:
    """One file read from its start: the current chunk decoded and sorted by time, and where
    its next rows start."""

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

    @property
    def buffered(self) -> bool:
        return self.next_row < len(self.rows)

    @property
    def next_time(self) -> float:
        return float(self.rows.timestamp[self.next_row]) if self.buffered else math.inf

    @property
    def last_time(self) -> float:
        return float(self.rows.timestamp[-1]) if self.buffered else math.inf

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
        batch, _ = decode_counting_lines(data[first:end + 1], source=self.path.name,
                                         first_line=1)
        return float(batch.records.timestamp.max()) if len(batch.records) else -math.inf

    def take_through(self, horizon: float) -> RecordBatch:
        """The buffered rows timed at or before `horizon`, in time order."""
        stop = int(np.searchsorted(self.rows.timestamp, horizon, side="right"))
        if stop <= self.next_row:
            return RecordBatch.empty()
        taken = self.rows.take(slice(self.next_row, stop))
        self.next_row = stop
        return taken

    def _read_chunk(self) -> None:
        data = self._whole_lines()
        if not data:
            self.at_end = True
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

    def _whole_lines(self) -> bytes:
        """The next bytes up to the last newline within a chunk (further when one line is
        longer: the decoder then skips it as too long); empty at the end."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(CHUNK_BYTES)
                cut = data.rfind(b"\n")
                while cut < 0 and len(data) % CHUNK_BYTES == 0 and data:
                    more = handle.read(CHUNK_BYTES)
                    if not more:
                        break
                    data += more
                    cut = data.rfind(b"\n")
        except OSError as exc:
            self.skipped["read_error"] += 1
            self.messages.append(f"{self.path.name}: read_error: {exc.strerror or exc}")
            return b""
        if cut < 0:
            return b""
        self.offset += cut + 1
        return data[: cut + 1]


class StoredRecords:
    """The storage's records merged across files by time (blocking: call from a thread)."""

    def __init__(self, storage: Path, *, start: float = -math.inf) -> None:
        folder = storage / RECORDS_FOLDER
        paths = sorted(path for path in _listing(folder)
                       if path.suffix == SUFFIX and path.is_file())
        self._cursors = [_FileCursor(path, start) for path in paths]

    def next_time(self) -> float:
        """The time of the next row to play, at or after the start (inf when every file is
        played)."""
        for cursor in self._cursors:
            cursor.fill()
        return min((cursor.next_time for cursor in self._cursors), default=math.inf)

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
            for cursor in self._cursors:
                cursor.fill()
            live = [cursor for cursor in self._cursors if cursor.buffered]
            if not live:
                break
            horizon = min(until, min(cursor.last_time for cursor in live))
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
