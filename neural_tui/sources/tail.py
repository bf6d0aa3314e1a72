"""Following the prediction logs on local disk: every `*.jsonl` under `<storage>/predictions/`.

Restart strategy: rebuild from storage. A file is read from offset 0 when first seen, so a fresh
`TailSource` counts every valid record on disk exactly once, and nothing needs persisting.

Files are followed by (st_dev, st_ino), not by name: a file renamed to another `*.jsonl` name
(rotation) goes on from where it was, and a file shorter than what was read (truncated, or
copy-truncated) is read again from 0. A truncation followed by more writes than were read
before the next poll cannot be seen; rotation copies named `*.jsonl` are counted again.

Handles are capped (`max_open_files`, the least recently read closed first), since storage
gathers files without end (size rotation, several writers, restarts) and a process may hold
only so many. A file whose size and mtime are what they were when it was last read to its end
is not touched, so thousands of quiet files cost one `stat` each per poll. A closed file that
changed is opened again under the name the scan found it by, if that name still leads to the
same inode, and the file still starts with the bytes it started with: a deleted file's inode
number may be given to a new file while it was not held open.

A file renamed away or deleted is drained to its end and closed if its handle is open. If it
was closed, it cannot be drained: what was written to it after its last read is never seen.
Nothing already read is lost or counted twice: its position is dropped, and an unended last
line that was read is decoded then, as for an open file. Files are closed least recently read
first, so these are the files that had been quiet longest.

State only moves forward after a chunk is decoded, so cancelling a read loses nothing.
"""

from __future__ import annotations

import asyncio
import os
import resource
import stat
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import aiofiles

from neural_tui.decode import MAX_LINE_BYTES, decode_counting_lines, skip_message
from neural_tui.records import IngestBatch, RecordBatch

if TYPE_CHECKING:
    from aiofiles.threadpool.binary import AsyncFileIO

FileKey = tuple[int, int]
"""(st_dev, st_ino): what a file is, whatever it is called now."""

_DECODE_IN_THREAD_BYTES = 256 << 10
"""Chunks at least this big are decoded off the event loop."""

MAX_OPEN_FILES = 64
"""Handles held open at once by default: a small share of the usual 1,024 per process."""

_SHARE_OF_DESCRIPTOR_LIMIT = 4
"""Under a low descriptor limit, the default cap is this fraction of it, leaving the rest to
the process (sockets, logs, the console)."""

_HEAD_BYTES = 256
"""How much of a file's start is kept to recognise it when it is opened again."""

Settled = tuple[int, float]
"""(size, mtime) of a file as a scan saw it."""


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
    """What one read gave: whole lines to decode, and what follows them."""

    lines: bytes | bytearray
    first_line: int
    rest: bytes
    """The start of the line after `lines`, kept until its newline arrives."""
    skipping: bool
    """Inside a line longer than the limit: `rest` is dropped, and the line up to its newline."""
    too_long_begun: bool
    """That line began in this read: it is reported (once)."""
    offset: int
    """Where the next read starts."""

    def position(self, line_count: int) -> _Position:
        """The position once `lines`, which held `line_count` lines, are decoded."""
        return _Position(
            offset=self.offset,
            next_line=self.first_line + line_count,
            pending=b"" if self.skipping else self.rest,
            skipping=self.skipping,
        )


def _read_after(fd: int, pending: bytes, offset: int, size: int) -> tuple[bytearray, int]:
    """`pending` followed by up to `size` bytes read at `offset`, and how many were read.

    Read straight behind the pending line (no join copy) with a positional read (no seek, so a
    read-ahead cannot disturb another); the buffer is released here, in the reading thread, so
    that the caller may cut it in place.
    """
    buffer = bytearray(len(pending) + size)
    buffer[: len(pending)] = pending
    with memoryview(buffer) as whole, whole[len(pending) :] as free:
        read = os.preadv(fd, [free], offset)
    del buffer[len(pending) + read :]
    return buffer, read


def _cut_lines(position: _Position, data: bytearray, read: int, max_line_bytes: int) -> _Cut:
    """Split `data` (the pending line and `read` new bytes) into whole lines and the rest.

    `data` itself becomes the whole lines: cut in place, nothing big is copied. Never holds
    more than `max_line_bytes` of an unfinished line: beyond that the line is reported once
    and skipped up to its newline.
    """
    offset = position.offset + read
    first_line = position.next_line
    if position.skipping:
        newline = data.find(b"\n")
        if newline < 0:
            return _Cut(b"", first_line, b"", True, False, offset)
        del data[: newline + 1]
        first_line += 1
    end = data.rfind(b"\n") + 1
    rest = bytes(data[end:])
    del data[end:]
    too_long = len(rest) > max_line_bytes
    return _Cut(data, first_line, rest, too_long, too_long, offset)


def _default_max_open_files() -> int:
    """`MAX_OPEN_FILES`, or a share of the process's descriptor limit if that is less."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_OPEN_FILES
    return max(1, min(MAX_OPEN_FILES, soft // _SHARE_OF_DESCRIPTOR_LIMIT))


def _identify(fd: int, head_bytes: int) -> tuple[FileKey, bytes]:
    """The key of an open file, and its first `head_bytes` bytes."""
    status = os.fstat(fd)
    head = os.pread(fd, head_bytes, 0) if head_bytes else b""
    return (status.st_dev, status.st_ino), head


@dataclass(eq=False, slots=True)
class _FollowedFile:
    """A file being followed, whether its handle is open or not."""

    path: Path
    position: _Position = field(default_factory=_Position)
    head: bytes = b""
    """The first bytes of the file, as read from offset 0, to recognise it by on reopening."""
    settled: Settled | None = None
    """The scan's (size, mtime) before the file was last read to its end: while a scan shows
    them again there is nothing new, and the file is left alone (not even opened)."""

    def restart(self) -> None:
        """Follow from offset 0: the file was truncated, or is another file."""
        self.position, self.head, self.settled = _Position(), b"", None


@dataclass(frozen=True, slots=True)
class _Seen:
    path: Path
    size: int
    modified: float


class TailSource:
    """Async producer of `IngestBatch`es from the JSONL files of one storage directory.

    Use `batches()` to follow forever, or `read_available()` (`available()` to stream it) for
    one pass over what is on disk now. Positions, and up to `max_open_files` handles, are kept
    between passes so that the next pass continues; `close()` (or `async with`) releases them.
    """

    def __init__(
        self,
        storage: Path,
        *,
        poll_interval: float = 0.25,
        chunk_bytes: int = 4 << 20,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_open_files: int | None = None,
    ) -> None:
        """`max_open_files` caps the handles held at once (default `_default_max_open_files`)."""
        if max_open_files is None:
            max_open_files = _default_max_open_files()
        if max_open_files < 1:
            raise ValueError(f"max_open_files must be at least 1, not {max_open_files}")
        self._directory = Path(storage) / "predictions"
        self._poll_interval = poll_interval
        self._chunk_bytes = chunk_bytes
        self._max_line_bytes = max_line_bytes
        self._max_open_files = max_open_files
        self._files: dict[FileKey, _FollowedFile] = {}
        self._handles: dict[FileKey, AsyncFileIO] = {}
        """The open handles, least recently read first."""
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
        """Batches as lines arrive, until cancelled.

        Files are closed on the way out but their positions are kept, so that a runtime that
        restarts this source after a failure goes on where it was: nothing read twice.
        """
        try:
            while True:
                async with aclosing(self.available()) as one_pass:
                    async for batch in one_pass:
                        yield batch
                await asyncio.sleep(self._poll_interval)
        finally:
            await self._close_handles()

    async def read_available(self) -> list[IngestBatch]:
        """One pass: every whole line on disk now (an unfinished last line waits)."""
        return [batch async for batch in self.available()]

    async def close(self) -> None:
        """Close every handle and forget every position: a later pass reads all from 0."""
        await self._close_handles()
        self._files = {}

    async def _close_handles(self) -> None:
        handles, self._handles = self._handles, {}
        for handle in handles.values():
            await handle.close()

    async def available(self) -> AsyncGenerator[IngestBatch, None]:
        """`read_available()` as a stream, for storage too big to hold at once."""
        seen = await asyncio.to_thread(self._scan)
        for key in [key for key in self._files if key not in seen]:
            async for batch in self._drain(key):
                yield batch
        self._failing.intersection_update(seen)
        for key, found in sorted(seen.items(), key=lambda item: item[1].modified):
            followed = self._files.get(key) or _FollowedFile(found.path)
            followed.path = found.path
            if followed.settled == (found.size, found.modified):
                continue
            if found.size < followed.position.offset:
                followed.restart()
            handle = self._handles.pop(key, None)
            if handle is None:
                try:
                    handle = await self._open(key, followed)
                except OSError as exc:
                    error = self._read_error(key, found.path, exc)
                    if error is not None:
                        yield error
                    continue
                if handle is None:
                    continue
            self._handles[key] = handle
            self._files[key] = followed
            settled = (found.size, found.modified)
            async for batch in self._read_to_end(key, followed, handle, settled):
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

    async def _open(self, key: FileKey, followed: _FollowedFile) -> AsyncFileIO | None:
        """A handle on the file at `followed.path`; None if another file took that name.

        The least recently read handles are closed first to stay within `max_open_files`. A
        file that no longer starts as it did is another one that got the same inode number.
        """
        while len(self._handles) >= self._max_open_files:
            await self._handles.pop(next(iter(self._handles))).close()
        handle = await aiofiles.open(followed.path, "rb", buffering=0)
        try:
            found, head = await asyncio.to_thread(_identify, handle.fileno(), len(followed.head))
        except BaseException:
            await handle.close()
            raise
        if found != key:
            await handle.close()
            return None
        if head != followed.head:
            followed.restart()
        return handle

    async def _read_to_end(
        self,
        key: FileKey,
        followed: _FollowedFile,
        handle: AsyncFileIO,
        settled: Settled | None,
    ) -> AsyncIterator[IngestBatch]:
        """Batches up to the end of the file, which is then `settled` there.

        The next chunk is read while the consumer ingests a batch: reading releases the GIL,
        so it costs no time; while a chunk decodes, it would only compete for the CPU cache.
        """
        reading = self._read(followed, handle)
        try:
            while True:
                try:
                    data, read = await reading
                except OSError as exc:
                    error = self._read_error(key, followed.path, exc)
                    if error is not None:
                        yield error
                    return
                self._failing.discard(key)
                if not read:
                    followed.settled = settled
                    return
                if followed.position.offset == 0:
                    followed.head = bytes(data[:_HEAD_BYTES])
                cut = _cut_lines(followed.position, data, read, self._max_line_bytes)
                batch, line_count = await self._decode(cut, str(followed.path))
                followed.position = cut.position(line_count)
                more = read == self._chunk_bytes
                if more:
                    reading = self._read(followed, handle)
                else:
                    followed.settled = settled
                if batch is not None:
                    yield replace(batch, backlog=more)
                if not more:
                    return
        finally:
            reading.cancel()

    def _read(
        self, followed: _FollowedFile, handle: AsyncFileIO
    ) -> asyncio.Future[tuple[bytearray, int]]:
        """The chunk at the file's position, being read in a worker thread from now on.

        Not with aiofiles' `read`, which needs a `seek` first and a copy to join the pending line.
        """
        position = followed.position
        read = partial(
            _read_after,
            handle.fileno(),
            position.pending,
            position.offset,
            self._chunk_bytes,
        )
        return asyncio.get_running_loop().run_in_executor(None, read)

    async def _drain(self, key: FileKey) -> AsyncIterator[IngestBatch]:
        """Finish a file that left the directory, and forget it.

        An open file is read to its end, and its unended last line decoded, as the writer will
        not finish it. A closed one cannot be read further (module docstring): the start of a
        line it held counts only if it is a whole record, and is not reported as corrupt
        otherwise, since its rest may well have been on disk. The file is forgotten before its
        last batch is handed over, so a consumer that stops there never gets that batch twice.
        """
        followed = self._files[key]
        handle = self._handles.get(key)
        if handle is not None:
            async for batch in self._read_to_end(key, followed, handle, None):
                yield batch
        del self._files[key]
        if handle is not None:
            del self._handles[key]
            await handle.close()
        position = followed.position
        final, _ = await self._decode(
            _Cut(position.pending, position.next_line, b"", False, False, position.offset),
            str(followed.path),
        )
        if final is not None and handle is None:
            final = IngestBatch(final.records) if len(final.records) else None
        if final is not None:
            yield final

    async def _decode(self, cut: _Cut, source: str) -> tuple[IngestBatch | None, int]:
        """The batch for one read (None if it holds nothing) and how many lines it held.

        Big reads are decoded off the event loop.
        """
        decoded, line_count = IngestBatch(RecordBatch.empty()), 0
        if cut.lines:
            decode = partial(
                decode_counting_lines,
                cut.lines,
                source=source,
                first_line=cut.first_line,
                max_line_bytes=self._max_line_bytes,
            )
            big = len(cut.lines) >= _DECODE_IN_THREAD_BYTES
            decoded, line_count = await asyncio.to_thread(decode) if big else decode()
        if cut.too_long_begun:
            detail = f"longer than {self._max_line_bytes} bytes, skipped to its end"
            message = skip_message(source, cut.first_line + line_count, "too_long", detail)
            decoded = IngestBatch(
                decoded.records,
                decoded.skipped + Counter(too_long=1),
                (*decoded.messages, message),
            )
        return (decoded if len(decoded.records) or decoded.skipped else None), line_count

    def _read_error(self, key: FileKey, path: Path, exc: OSError) -> IngestBatch | None:
        """A `read_error` batch the first time a file fails, None while it keeps failing."""
        if key in self._failing:
            return None
        self._failing.add(key)
        message = skip_message(str(path), None, "read_error", exc.strerror or str(exc))
        return IngestBatch(RecordBatch.empty(), Counter(read_error=1), (message,))
