"""Following the prediction logs on local disk: every `*.jsonl` under `<storage>/predictions/`.

Restart strategy: rebuild from storage. A file is read from offset 0 when first seen, so a fresh
`TailSource` counts every valid record on disk exactly once, and nothing needs persisting.

Files are followed by (st_dev, st_ino), not by name, through a handle kept open: a file renamed
to another `*.jsonl` name (rotation) goes on from where it was, a file renamed away or deleted
is drained to its end and closed, and a file shorter than what was read (truncated, or
copy-truncated) is read again from 0. A truncation followed by more writes than were read
before the next poll cannot be seen; rotation copies named `*.jsonl` are counted again.

State only moves forward after a chunk is decoded, so cancelling a read loses nothing.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import aiofiles

from neural_tui.decode import MAX_LINE_BYTES, count_newlines, decode_lines, skip_message
from neural_tui.records import IngestBatch, RecordBatch

if TYPE_CHECKING:
    from aiofiles.threadpool.binary import AsyncFileIO

FileKey = tuple[int, int]
"""(st_dev, st_ino): what a file is, whatever it is called now."""

_DECODE_IN_THREAD_BYTES = 256 << 10
"""Chunks at least this big are decoded off the event loop."""


@dataclass(frozen=True, slots=True)
class _Position:
    """How far a file has been consumed."""

    offset: int = 0
    next_line: int = 1
    """Number of the first line not yet decoded (the one `pending` starts)."""
    pending: bytes = b""
    """The start of a line whose newline has not arrived yet."""
    skipping: bool = False
    """Inside a line longer than the limit: discard up to its newline."""


@dataclass(frozen=True, slots=True)
class _Cut:
    """What one read gave: whole lines to decode, and an over-long line begun, if any."""

    lines: bytes
    first_line: int
    too_long_line: int | None


def _cut_lines(position: _Position, data: bytes, max_line_bytes: int) -> tuple[_Cut, _Position]:
    """Split `data` read at `position` into whole lines and the new position.

    Never holds more than `max_line_bytes` of an unfinished line: beyond that the line is
    reported once and skipped up to its newline.
    """
    offset = position.offset + len(data)
    first_line = position.next_line
    if position.skipping:
        newline = data.find(b"\n")
        if newline < 0:
            return _Cut(b"", first_line, None), replace(position, offset=offset)
        data = data[newline + 1 :]
        first_line += 1
    end = data.rfind(b"\n") + 1
    whole = memoryview(data)[:end]
    lines = b"".join((position.pending, whole)) if end else b""
    rest = data[end:] if end else position.pending + data
    next_line = first_line + count_newlines(whole)
    too_long = len(rest) > max_line_bytes
    cut = _Cut(lines, first_line, next_line if too_long else None)
    return cut, _Position(
        offset=offset,
        next_line=next_line,
        pending=b"" if too_long else rest,
        skipping=too_long,
    )


@dataclass(eq=False, slots=True)
class _FollowedFile:
    path: Path
    handle: AsyncFileIO
    position: _Position


@dataclass(frozen=True, slots=True)
class _Seen:
    path: Path
    size: int
    modified: float


class TailSource:
    """Async producer of `IngestBatch`es from the JSONL files of one storage directory.

    Use `batches()` to follow forever, or `read_available()` (`available()` to stream it) for
    one pass over what is on disk now. Handles stay open between passes so that the next pass
    continues; `close()` (or `async with`) releases them.
    """

    def __init__(
        self,
        storage: Path,
        *,
        poll_interval: float = 0.25,
        chunk_bytes: int = 4 << 20,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self._directory = Path(storage) / "predictions"
        self._poll_interval = poll_interval
        self._chunk_bytes = chunk_bytes
        self._max_line_bytes = max_line_bytes
        self._files: dict[FileKey, _FollowedFile] = {}
        self._failing: set[FileKey] = set()
        """Files whose read error was already reported (once until they read again)."""

    @property
    def label(self) -> str:
        """The storage directory, as the console and the logs name this source."""
        return str(self._directory.parent)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def batches(self) -> AsyncIterator[IngestBatch]:
        """Batches as lines arrive, until cancelled; files are closed on the way out."""
        try:
            while True:
                async with aclosing(self.available()) as one_pass:
                    async for batch in one_pass:
                        yield batch
                await asyncio.sleep(self._poll_interval)
        finally:
            await self.close()

    async def read_available(self) -> list[IngestBatch]:
        """One pass: every whole line on disk now (an unfinished last line waits)."""
        return [batch async for batch in self.available()]

    async def close(self) -> None:
        files, self._files = self._files, {}
        for followed in files.values():
            await followed.handle.close()

    async def available(self) -> AsyncGenerator[IngestBatch, None]:
        """`read_available()` as a stream, for storage too big to hold at once."""
        seen = await asyncio.to_thread(self._scan)
        for key in [key for key in self._files if key not in seen]:
            async for batch in self._drain(key):
                yield batch
        self._failing.intersection_update(seen)
        for key, found in sorted(seen.items(), key=lambda item: item[1].modified):
            followed = self._files.get(key)
            if followed is None:
                try:
                    followed = await self._open(key, found.path)
                except OSError as exc:
                    error = self._read_error(key, found.path, exc)
                    if error is not None:
                        yield error
                    continue
                if followed is None:
                    continue
            followed.path = found.path
            if found.size < followed.position.offset:
                followed.position = _Position()
            async for batch in self._read_to_end(key, followed):
                yield batch

    def _scan(self) -> dict[FileKey, _Seen]:
        """The regular `*.jsonl` files in the predictions directory (none if it is missing)."""
        try:
            paths = [path for path in self._directory.iterdir() if path.suffix == ".jsonl"]
        except (FileNotFoundError, NotADirectoryError):
            return {}
        seen: dict[FileKey, _Seen] = {}
        for path in paths:
            try:
                status = path.stat()
            except OSError:
                continue
            if stat.S_ISREG(status.st_mode):
                seen[(status.st_dev, status.st_ino)] = _Seen(path, status.st_size, status.st_mtime)
        return seen

    async def _open(self, key: FileKey, path: Path) -> _FollowedFile | None:
        """Follow a newly seen file; None if another file took its name since the scan."""
        handle = await aiofiles.open(path, "rb", buffering=0)
        status = os.fstat(handle.fileno())
        if (status.st_dev, status.st_ino) != key:
            await handle.close()
            return None
        followed = _FollowedFile(path, handle, _Position())
        self._files[key] = followed
        return followed

    async def _read_to_end(
        self, key: FileKey, followed: _FollowedFile
    ) -> AsyncIterator[IngestBatch]:
        while True:
            try:
                await followed.handle.seek(followed.position.offset)
                data = await followed.handle.read(self._chunk_bytes)
            except OSError as exc:
                error = self._read_error(key, followed.path, exc)
                if error is not None:
                    yield error
                return
            self._failing.discard(key)
            if not data:
                return
            cut, position = _cut_lines(followed.position, data, self._max_line_bytes)
            batch = await self._decode(cut, str(followed.path))
            followed.position = position
            if batch is not None:
                yield batch
            if len(data) < self._chunk_bytes:
                return

    async def _drain(self, key: FileKey) -> AsyncIterator[IngestBatch]:
        """Read a file that left the directory to its end, then close it for good."""
        followed = self._files[key]
        async for batch in self._read_to_end(key, followed):
            yield batch
        position = followed.position
        final = await self._decode(
            _Cut(position.pending, position.next_line, None), str(followed.path)
        )
        if final is not None:
            yield final
        del self._files[key]
        await followed.handle.close()

    async def _decode(self, cut: _Cut, source: str) -> IngestBatch | None:
        """The batch for one read (None if it holds nothing), off the loop when it is big."""
        decoded = IngestBatch(RecordBatch.empty())
        if cut.lines:
            decode = partial(
                decode_lines,
                cut.lines,
                source=source,
                first_line=cut.first_line,
                max_line_bytes=self._max_line_bytes,
            )
            big = len(cut.lines) >= _DECODE_IN_THREAD_BYTES
            decoded = await asyncio.to_thread(decode) if big else decode()
        if cut.too_long_line is not None:
            detail = f"longer than {self._max_line_bytes} bytes, skipped to its end"
            message = skip_message(source, cut.too_long_line, "too_long", detail)
            decoded = IngestBatch(
                decoded.records,
                decoded.skipped + Counter(too_long=1),
                (*decoded.messages, message),
            )
        return decoded if len(decoded.records) or decoded.skipped else None

    def _read_error(self, key: FileKey, path: Path, exc: OSError) -> IngestBatch | None:
        """A `read_error` batch the first time a file fails, None while it keeps failing."""
        if key in self._failing:
            return None
        self._failing.add(key)
        message = skip_message(str(path), None, "read_error", exc.strerror or str(exc))
        return IngestBatch(RecordBatch.empty(), Counter(read_error=1), (message,))
