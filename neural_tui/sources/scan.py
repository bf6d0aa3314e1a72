"""Finding which `*.jsonl` files of a directory may have changed, at a cost that fades with quiet.

A full scan lists the directory and stats every file. Following, a scan costs what changes:

- the directory is listed again when its own mtime moved (a file was created, renamed or
  deleted), and at least every `RELIST_SECONDS` otherwise (a coarse mtime may hide a change);
  names new to the listing are stat'ed at once;
- a file is stat'ed again after its interval, which starts at the poll interval and doubles
  each time a stat finds it unchanged, up to `QUIET_POLL_CAP_SECONDS`; it drops back to the poll
  interval as soon as the file changes. A file being written is stat'ed every poll; a write to a
  file quiet for long is seen up to `QUIET_POLL_CAP_SECONDS` late.

So 20,000 quiet files cost a directory stat per poll and a few thousand file stats a second, not
20,000 stats per poll.

Everything here runs in a worker thread (it blocks on the file system), one scan at a time.
"""

from __future__ import annotations

import heapq
import os
import stat
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

FileKey = tuple[int, int]
"""(st_dev, st_ino): what a file is, whatever it is called now."""

QUIET_POLL_CAP_SECONDS = 5.0
"""The longest a quiet file goes between two stats: how late a write to it may be seen."""

RELIST_SECONDS = 5.0
"""The longest the directory goes without being listed, whatever its mtime says."""

SUFFIX = ".jsonl"

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_regular(mode: int) -> str | None:
    """What a file of this mode is, if it is not a regular file (None if it is)."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for is_kind, kind in _KINDS if is_kind(mode)), "not a regular file")


@dataclass(frozen=True, slots=True)
class Seen:
    """A file as a stat saw it."""

    path: Path
    size: int
    modified: int
    """st_mtime_ns."""
    odd: str | None = None
    """What the file is when it is not a regular file (a FIFO, a directory...)."""


@dataclass(frozen=True, slots=True)
class Scan:
    """What one scan found."""

    stated: dict[FileKey, Seen]
    """Following, the files a stat found changed (or new), and those asked to be rechecked;
    every file, for a full scan."""
    present: frozenset[FileKey] | None
    """Every file in the directory, when this scan listed it (None when it did not)."""


_Signature = tuple[int, int, int, int, int]
"""(st_dev, st_ino, st_size, st_mtime_ns, st_mode): what tells a stat from the one before."""


@dataclass(slots=True)
class _Watch:
    path: Path
    signature: _Signature | None = None
    seen: Seen | None = None
    interval: float = 0.0
    due: float = 0.0

    @property
    def key(self) -> FileKey | None:
        return None if self.signature is None else (self.signature[0], self.signature[1])

    @property
    def found(self) -> tuple[FileKey, Seen] | None:
        """The file as its last stat saw it (None before its first stat)."""
        if self.signature is None or self.seen is None:
            return None
        return (self.signature[0], self.signature[1]), self.seen


class DirectoryWatcher:
    """The `*.jsonl` files of one directory, stat'ed less often the longer they stay quiet."""

    def __init__(
        self,
        directory: Path,
        *,
        poll_interval: float,
        quiet_cap: float = QUIET_POLL_CAP_SECONDS,
        relist_seconds: float = RELIST_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._poll_interval = poll_interval
        self._quiet_cap = max(quiet_cap, poll_interval)
        self._relist_seconds = relist_seconds
        self._clock = clock
        self._watches: dict[str, _Watch] = {}
        self._schedule: list[tuple[float, str]] = []
        """(due, name), a heap; entries whose watch moved on or left are skipped."""
        self._listed: tuple[int, int, int] | None = None
        """The directory's (st_dev, st_ino, st_mtime_ns) when it was last listed."""
        self._next_listing = 0.0
        self._lock = threading.Lock()

    def scan(self, *, full: bool, recheck: Collection[str] = ()) -> Scan:
        """The files to look at now; `full` lists and stats everything. Following, `recheck`
        names files to hand over again even if unchanged (the reader did not finish them).

        Raises OSError when the directory exists but cannot be listed; a missing directory
        is an empty one (it may appear later).
        """
        with self._lock:
            now = self._clock()
            try:
                status = self._directory.stat()
            except FileNotFoundError:
                self._forget()
                return Scan({}, frozenset())
            listed = (status.st_dev, status.st_ino, status.st_mtime_ns)
            relist = full or listed != self._listed or now >= self._next_listing
            if relist:
                self._list(now)
                self._listed = listed
            stated: dict[FileKey, Seen] = {}
            for name in list(self._watches) if full else self._due(now):
                watch = self._watches[name]
                changed = self._stat(name, watch, now)
                if (changed or full) and name in self._watches and watch.found is not None:
                    key, seen = watch.found
                    stated[key] = seen
            for name in recheck:
                again = self._watches.get(name)
                if again is not None and again.found is not None:
                    key, seen = again.found
                    stated.setdefault(key, seen)
            present = None
            if relist:
                present = frozenset(w.key for w in self._watches.values() if w.key is not None)
            return Scan(stated, present)

    def _forget(self) -> None:
        self._watches, self._schedule, self._listed = {}, [], None

    def _list(self, now: float) -> None:
        with os.scandir(self._directory) as entries:
            names = {entry.name for entry in entries if entry.name.endswith(SUFFIX)}
        for name in [name for name in self._watches if name not in names]:
            del self._watches[name]
        for name in names:
            if name not in self._watches:
                self._watches[name] = _Watch(self._directory / name, due=now)
                heapq.heappush(self._schedule, (now, name))
        self._next_listing = now + self._relist_seconds

    def _due(self, now: float) -> list[str]:
        names = []
        schedule = self._schedule
        while schedule and schedule[0][0] <= now:
            due, name = heapq.heappop(schedule)
            watch = self._watches.get(name)
            if watch is not None and watch.due == due:
                names.append(name)
        return names

    def _stat(self, name: str, watch: _Watch, now: float) -> bool:
        """Stat one file and schedule its next stat: whether it changed (False if it is gone,
        and then no longer watched)."""
        try:
            status = os.stat(watch.path)  # noqa: PTH116 - the hot path of an idle poll
        except OSError:
            del self._watches[name]
            self._next_listing = now  # gone or unreachable: the next scan lists again
            return False
        signature = (
            status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_mode
        )
        changed = signature != watch.signature
        if changed:
            watch.signature = signature
            watch.seen = Seen(
                watch.path, status.st_size, status.st_mtime_ns, not_regular(status.st_mode)
            )
            watch.interval = self._poll_interval
        else:
            watch.interval = min(2 * watch.interval, self._quiet_cap)
        watch.due = now + watch.interval
        heapq.heappush(self._schedule, (watch.due, name))
        return changed
