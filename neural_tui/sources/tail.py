"""Following the prediction logs on local disk: every `*.jsonl` under `<storage>/predictions/`.

Restart strategy: rebuild from storage. A file is read from offset 0 when first seen, so a fresh
`TailSource` counts every valid record on disk exactly once, and nothing needs persisting.

Files are followed by (st_dev, st_ino), not by name: a file renamed to another `*.jsonl` name
(rotation) goes on from where it was, and a file shorter than what was read (truncated, or
copy-truncated) is read again from 0; rotation copies named `*.jsonl` are counted again.

A file is also recognised by its content, as log shippers do: its first bytes (`head`) and the
bytes just before the read offset (`tail`). Whenever a scan shows that a file changed (size or
mtime), both are read again (one `pread` each) before reading on; if either differs, the file
was rewritten in place (truncated and written again, even to the same size) and is read again
from 0. Totals are therefore records seen: the records of a rewritten file count again, the
ones it held before as well. What cannot be seen: a rewrite that leaves the fingerprinted bytes
as they were (then only what follows the old offset is new, and it is read), and a rewrite to
the same size within the same mtime tick of the file system (nothing tells it apart from no
write at all until the file changes again).

Non-regular files (a FIFO, a socket, a device, a directory called `x.jsonl`) are never read:
paths are opened non-blocking and the opened descriptor is checked, so a name that is briefly a
FIFO cannot block a read; each is reported once as a `read_error`. Every file-system call runs
in a small pool of daemon threads owned by the source (`DaemonExecutor`), never in asyncio's
default executor: a thread stuck in a syscall (a hung mount) costs the source its progress
(`progress_at` stops moving) but never holds the process at exit.

A `predictions/` directory that cannot be listed is a `read_error` reported once per episode
(again only after a listing succeeded in between); a missing one is waited for quietly.

Following (`batches()`), quiet files are polled less and less often (`neural_tui.sources.scan`):
a write to a file that was quiet for long may be seen up to `QUIET_POLL_CAP_SECONDS` late, while
new files and files being written are seen within a poll interval. `read_available()` always
looks at everything.

Handles are capped (`max_open_files`, the least recently read closed first), since storage
gathers files without end (size rotation, several writers, restarts) and a process may hold
only so many. A file whose size and mtime are what they were when it was last read to its end
is not touched (not even opened). A closed file that changed is opened again under the name the
scan found it by, if that name still leads to the same inode, and its fingerprint (above) still
holds: a deleted file's inode number may be given to a new file while it was not held open.

A file renamed away or deleted is drained to its end and closed if its handle is open. If it
was closed, it cannot be drained: what was written to it after its last read is never seen.
Nothing already read is lost or counted twice: its position is dropped, and an unended last
line that was read is decoded then, as for an open file. Files are closed least recently read
first, so these are the files that had been quiet longest.

State only moves forward after a chunk is decoded, so cancelling a read loses nothing.
"""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from neural_tui.decode import MAX_LINE_BYTES, decode_counting_lines, skip_message
from neural_tui.records import IngestBatch, RecordBatch
from neural_tui.sources.scan import (
    QUIET_POLL_CAP_SECONDS,
    DirectoryWatcher,
    FileKey,
    Scan,
    Seen,
    not_regular,
)
from neural_tui.sources.workers import DaemonExecutor
from neural_tui.storage_layout import RECORDS_FOLDER

_DECODE_IN_THREAD_BYTES = 256 << 10
"""Chunks at least this big are decoded off the event loop."""

MAX_OPEN_FILES = 64
"""Handles held open at once by default: a small share of the usual 1,024 per process."""

_SHARE_OF_DESCRIPTOR_LIMIT = 4
"""Under a low descriptor limit, the default cap is this fraction of it, leaving the rest to
the process (sockets, logs, the console)."""

_HEAD_BYTES = 256
"""How much of a file's start is kept to recognise it (module docstring)."""

_TAIL_BYTES = 256
"""How much of what lies just before the read offset is kept to recognise a file by."""

_WORKERS = 4
"""Threads for one source's file-system calls and big decodes."""

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
"""Non-blocking, so that opening a FIFO (or a device) returns at once instead of waiting."""

Settled = tuple[int, int]
"""(size, st_mtime_ns) of a file as a scan saw it."""

_T = TypeVar("_T")


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


@dataclass(frozen=True, slots=True)
class _Fingerprint:
    """The bytes a followed file held at its start and just before the read offset."""

    head: bytes
    tail: bytes
    offset: int

    def holds(self, fd: int) -> bool:
        """Whether the file still holds those bytes there (two small positional reads)."""
        if self.head and os.pread(fd, len(self.head), 0) != self.head:
            return False
        start = self.offset - len(self.tail)
        return not self.tail or os.pread(fd, len(self.tail), start) == self.tail


def _read_after(
    fd: int, pending: bytes, offset: int, size: int, fingerprint: _Fingerprint | None
) -> tuple[bytearray, int] | None:
    """`pending` followed by up to `size` bytes read at `offset`, and how many were read; None
    if the file no longer holds its `fingerprint` (it was rewritten).

    Read straight behind the pending line (no join copy) with a positional read (no seek, so a
    read-ahead cannot disturb another); the buffer is released here, in the reading thread, so
    that the caller may cut it in place.
    """
    if fingerprint is not None and not fingerprint.holds(fd):
        return None
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


def _oldest_first(item: tuple[FileKey, Seen]) -> tuple[int, Path]:
    """Files in the order they were last written, by name where the mtime is the same."""
    return item[1].modified, item[1].path


def _close_opened(opening: Future[tuple[int, FileKey]]) -> None:
    """Close what an open that was given up on opened, once it returns."""
    if not opening.cancelled() and opening.exception() is None:
        os.close(opening.result()[0])


def _open_regular(path: Path) -> tuple[int, FileKey]:
    """A descriptor on the regular file at `path`, and its key; never blocks on what it opens.

    Opened non-blocking, then the opened descriptor itself is checked: a FIFO, socket, device or
    directory is refused with an OSError (the name may have changed kind since the scan).
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        status = os.fstat(fd)
        odd = not_regular(status.st_mode)
        if odd is not None:
            raise OSError(errno.EINVAL, f"not a regular file ({odd})", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd, (status.st_dev, status.st_ino)


@dataclass(eq=False, slots=True)
class _FollowedFile:
    """A file being followed, whether its handle is open or not."""

    path: Path
    position: _Position = field(default_factory=_Position)
    head: bytes = b""
    """The first bytes of the file, as read from offset 0 (module docstring)."""
    tail: bytes = b""
    """The bytes just before `position.offset`, as read (module docstring)."""
    settled: Settled | None = None
    """The scan's (size, mtime) before the file was last read to its end: while a scan shows
    them again there is nothing new, and the file is left alone (not even opened)."""

    def restart(self) -> None:
        """Follow from offset 0: the file was truncated, or is another file."""
        self.position, self.head, self.tail, self.settled = _Position(), b"", b"", None

    def fingerprint(self) -> _Fingerprint | None:
        """What to check before reading on from the current offset (None from offset 0)."""
        if self.position.offset == 0:
            return None
        return _Fingerprint(self.head, self.tail, self.position.offset)


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
        quiet_poll_cap: float = QUIET_POLL_CAP_SECONDS,
    ) -> None:
        """`max_open_files` caps the handles held at once (default `_default_max_open_files`);
        `quiet_poll_cap` is the longest a quiet file goes unpolled while following."""
        if max_open_files is None:
            max_open_files = _default_max_open_files()
        if max_open_files < 1:
            raise ValueError(f"max_open_files must be at least 1, not {max_open_files}")
        self._directory = Path(storage) / RECORDS_FOLDER
        self._poll_interval = poll_interval
        self._chunk_bytes = chunk_bytes
        self._max_line_bytes = max_line_bytes
        self._max_open_files = max_open_files
        self._quiet_poll_cap = quiet_poll_cap
        self._watcher = self._new_watcher()
        self._workers = DaemonExecutor(_WORKERS, f"tail {self._directory}")
        self._files: dict[FileKey, _FollowedFile] = {}
        self._handles: dict[FileKey, int] = {}
        """The open descriptors, least recently read first."""
        self._failing: set[FileKey] = set()
        """Files whose read error was already reported (once until they read again)."""
        self._listing_problem: str | None = None
        """Why the directory cannot be listed, while it cannot (reported once per episode)."""
        self._unsettled: dict[str, FileKey] = {}
        """Files (by name) a scan handed over that were not read to their end yet (a read
        error, a pass cut short): the next scan hands them over again even if unchanged."""
        self._progress_at = time.monotonic()
        self._caught_up = False
        self._bytes_at_start: int | None = None
        self._bytes_read = 0

    @property
    def history_bytes(self) -> tuple[int, int] | None:
        """(bytes read, bytes of the files present at the first scan) while the first pass
        reads them, for a progress bar; None before that scan. Bytes read again (a file
        rewritten meanwhile) count again, so the first can pass the second."""
        if self._bytes_at_start is None:
            return None
        return self._bytes_read, self._bytes_at_start

    @property
    def caught_up(self) -> bool:
        """Whether a whole pass ended since the start: every file on disk then was read (or
        the folder could not be listed, so there is nothing to wait for)."""
        return self._caught_up

    @property
    def label(self) -> str:
        """The storage directory, as the console and the logs name this source."""
        return str(self._directory.parent)

    @property
    def problem(self) -> str | None:
        """What keeps this source from seeing its records now, if anything: the runtime
        reports the source failing with it (the directory cannot be listed)."""
        return self._listing_problem

    @property
    def progress_at(self) -> float:
        """`time.monotonic()` when this source last finished a pass or handed over a batch:
        a source stuck in the file system stops moving it."""
        return self._progress_at

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
        restarts this source after a failure goes on where it was: nothing read twice. Quiet
        files are polled less often (module docstring).
        """
        try:
            while True:
                async with aclosing(self._pass(full=False)) as one_pass:
                    async for batch in one_pass:
                        yield batch
                await asyncio.sleep(self._poll_interval)
        finally:
            self._close_handles()

    async def read_available(self) -> list[IngestBatch]:
        """One pass: every whole line on disk now (an unfinished last line waits)."""
        return [batch async for batch in self.available()]

    async def close(self) -> None:
        """Close every handle and forget every position: a later pass reads all from 0."""
        self._close_handles()
        self._files, self._unsettled = {}, {}
        self._watcher = self._new_watcher()

    def _new_watcher(self) -> DirectoryWatcher:
        return DirectoryWatcher(
            self._directory, poll_interval=self._poll_interval, quiet_cap=self._quiet_poll_cap
        )

    def _close_handles(self) -> None:
        """Closing a descriptor does not block on a regular file: done here, not in a thread
        that might be stuck behind another."""
        handles, self._handles = self._handles, {}
        for fd in handles.values():
            os.close(fd)

    async def available(self) -> AsyncGenerator[IngestBatch, None]:
        """`read_available()` as a stream, for storage too big to hold at once."""
        async with aclosing(self._pass(full=True)) as one_pass:
            async for batch in one_pass:
                yield batch

    async def _in_worker(self, call: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._workers, call)

    def _handing_over(self, batch: IngestBatch) -> IngestBatch:
        self._progress_at = time.monotonic()
        return batch

    async def _pass(self, *, full: bool) -> AsyncGenerator[IngestBatch, None]:
        """One pass over the files the scan gives; `full` looks at every file."""
        try:
            recheck = tuple(self._unsettled)
            scan = await self._in_worker(partial(self._watcher.scan, full=full, recheck=recheck))
        except OSError as exc:
            first = self._listing_problem is None
            self._listing_problem = (f"cannot list {self._directory}: "
                                     f"{exc.strerror or exc}")
            if first:
                yield self._handing_over(self._listing_error(exc))
            self._progress_at = time.monotonic()
            self._caught_up = True
            return
        self._listing_problem = None
        if self._bytes_at_start is None:
            self._bytes_at_start = sum(found.size for found in scan.stated.values()
                                       if found.odd is None)
        async for batch in self._read_scanned(scan):
            yield self._handing_over(batch)
        self._progress_at = time.monotonic()
        self._caught_up = True

    async def _read_scanned(self, scan: Scan) -> AsyncIterator[IngestBatch]:
        if scan.present is not None:
            for key in [key for key in self._files if key not in scan.present]:
                async for batch in self._drain(key):
                    yield batch
            self._failing.intersection_update(scan.present)
            self._unsettled = {n: k for n, k in self._unsettled.items() if k in scan.present}
        self._unsettled.update(
            (found.path.name, key) for key, found in scan.stated.items() if found.odd is None
        )
        for key, found in sorted(scan.stated.items(), key=_oldest_first):
            if found.odd is not None:
                refused = OSError(errno.EINVAL, f"not a regular file ({found.odd})")
                error = self._read_error(key, found.path, refused)
                if error is not None:
                    yield error
                continue
            followed = self._files.get(key)
            if followed is None or followed.settled != (found.size, found.modified):
                async for batch in self._read_changed(key, found):
                    yield batch
                followed = self._files.get(key)
            if followed is not None and followed.settled == (found.size, found.modified):
                self._unsettled.pop(found.path.name, None)

    async def _read_changed(self, key: FileKey, found: Seen) -> AsyncIterator[IngestBatch]:
        """A file the scan saw, read on if it changed since it was last read to its end."""
        followed = self._files.get(key) or _FollowedFile(found.path)
        followed.path = found.path
        settled = (found.size, found.modified)
        if followed.settled == settled:
            return
        if found.size < followed.position.offset:
            followed.restart()
        fd = self._handles.pop(key, None)
        if fd is None:
            try:
                fd = await self._open(key, followed)
            except OSError as exc:
                error = self._read_error(key, found.path, exc)
                if error is not None:
                    yield error
                return
            if fd is None:
                return
        self._handles[key] = fd
        self._files[key] = followed
        async for batch in self._read_to_end(key, followed, fd, settled):
            yield batch

    async def _open(self, key: FileKey, followed: _FollowedFile) -> int | None:
        """A descriptor on the file at `followed.path`; None if another file took that name.

        The least recently read handles are closed first to stay within `max_open_files`.
        """
        while len(self._handles) >= self._max_open_files:
            os.close(self._handles.pop(next(iter(self._handles))))
        opening = self._workers.submit(_open_regular, followed.path)
        try:
            fd, found = await asyncio.wrap_future(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(_close_opened)
            raise
        if found != key:
            os.close(fd)
            return None
        return fd

    async def _read_to_end(
        self,
        key: FileKey,
        followed: _FollowedFile,
        fd: int,
        settled: Settled | None,
    ) -> AsyncIterator[IngestBatch]:
        """Batches up to the end of the file, which is then `settled` there.

        The first read checks the file's fingerprint, and starts again from 0 if the file was
        rewritten. The next chunk is read while the consumer ingests a batch: reading releases
        the GIL, so it costs no time; while a chunk decodes, it would only compete for the CPU
        cache.
        """
        reading = self._read(followed, fd, followed.fingerprint())
        try:
            while True:
                try:
                    got = await reading
                except OSError as exc:
                    error = self._read_error(key, followed.path, exc)
                    if error is not None:
                        yield error
                    return
                self._failing.discard(key)
                if got is None:
                    followed.restart()
                    reading = self._read(followed, fd, None)
                    continue
                data, read = got
                self._bytes_read += read
                if not read:
                    followed.settled = settled
                    return
                head = bytes(data[:_HEAD_BYTES]) if followed.position.offset == 0 else None
                tail = bytes(data[-_TAIL_BYTES:])
                cut = _cut_lines(followed.position, data, read, self._max_line_bytes)
                batch, line_count = await self._decode(cut, str(followed.path))
                followed.position = cut.position(line_count)
                followed.tail = tail
                if head is not None:
                    followed.head = head
                more = read == self._chunk_bytes
                if more:
                    reading = self._read(followed, fd, None)
                else:
                    followed.settled = settled
                if batch is not None:
                    yield replace(batch, backlog=more)
                if not more:
                    return
        finally:
            reading.cancel()

    def _read(
        self, followed: _FollowedFile, fd: int, fingerprint: _Fingerprint | None
    ) -> asyncio.Future[tuple[bytearray, int] | None]:
        """The chunk at the file's position, being read in a worker thread from now on."""
        position = followed.position
        read = partial(
            _read_after, fd, position.pending, position.offset, self._chunk_bytes, fingerprint
        )
        return asyncio.get_running_loop().run_in_executor(self._workers, read)

    async def _drain(self, key: FileKey) -> AsyncIterator[IngestBatch]:
        """Finish a file that left the directory, and forget it.

        An open file is read to its end, and its unended last line decoded, as the writer will
        not finish it. A closed one cannot be read further (module docstring): the start of a
        line it held counts only if it is a whole record, and is not reported as corrupt
        otherwise, since its rest may well have been on disk. The file is forgotten before its
        last batch is handed over, so a consumer that stops there never gets that batch twice.
        """
        followed = self._files[key]
        fd = self._handles.get(key)
        if fd is not None:
            async for batch in self._read_to_end(key, followed, fd, None):
                yield batch
        del self._files[key]
        if fd is not None:
            del self._handles[key]
            os.close(fd)
        position = followed.position
        final, _ = await self._decode(
            _Cut(position.pending, position.next_line, b"", False, False, position.offset),
            str(followed.path),
        )
        if final is not None and fd is None:
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
            decoded, line_count = await self._in_worker(decode) if big else decode()
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

    def _listing_error(self, exc: OSError) -> IngestBatch:
        """The `read_error` batch for a directory that cannot be listed."""
        detail = f"cannot list the directory: {exc.strerror or exc}"
        message = skip_message(str(self._directory), None, "read_error", detail)
        return IngestBatch(RecordBatch.empty(), Counter(read_error=1), (message,))
