"""Specification of `TailSource` against hostile or unlucky storage: whatever one line, file or
directory does, the rest is read, and what went wrong is counted once."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from tail_lines import append, ids, record, skipped

from neural_tui.decode import MAX_LINE_BYTES
from neural_tui.records import IngestBatch
from neural_tui.sources import tail
from neural_tui.sources.scan import DirectoryWatcher
from neural_tui.sources.tail import TailSource

WAIT_SECONDS = 10.0

DEEP_METADATA = '{"timestamp": 1700000001.0, "prediction_id": "deep", "input_features": {}, ' \
    '"metadata": ' + "[" * 1000 + "]" * 1000 + "}"


async def collect_until(
    stream: AsyncIterator[IngestBatch], wanted: set[str]
) -> list[IngestBatch]:
    """Batches from a following stream until every id in `wanted` was handed over."""
    got: list[IngestBatch] = []

    async def run() -> None:
        while not wanted <= set(ids(got)):
            got.append(await anext(stream))

    await asyncio.wait_for(run(), WAIT_SECONDS)
    return got


# A line that breaks the decoder costs that line only, end to end.


async def test_a_line_nested_too_deep_costs_only_itself_in_every_file(
    predictions: Path, source: TailSource
) -> None:
    append(predictions / "a.jsonl", record(0), DEEP_METADATA, record(1))
    append(predictions / "b.jsonl", record(2))
    batches = await source.read_available()

    assert sorted(ids(batches)) == ["p0", "p1", "p2"]
    assert skipped(batches) == {"not_a_record": 1}
    messages = [m for batch in batches for m in batch.messages]
    assert messages == [f"{predictions / 'a.jsonl'}:2: not_a_record: "
                        "nested deeper than the decoder can follow"]


async def test_following_goes_on_after_a_line_nested_too_deep(predictions: Path) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    async with aclosing(TailSource(predictions.parent, poll_interval=0.01).batches()) as stream:
        first = await collect_until(stream, {"p0"})
        append(path, DEEP_METADATA, record(1))
        append(predictions / "b.jsonl", record(2))
        later = await collect_until(stream, {"p1", "p2"})

    assert ids(first) == ["p0"]
    assert sorted(ids(later)) == ["p1", "p2"]
    assert skipped(later) == {"not_a_record": 1}


# Non-regular files never block and are reported once.


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_directory(path: Path) -> Path:
    path.mkdir()
    return path


def make_socket(path: Path) -> Path:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return path


def link_to_dev_zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def link_to_a_fifo(path: Path) -> Path:
    path.symlink_to(make_fifo(path.with_name("elsewhere.fifo")))
    return path


ODD_FILES = {
    "a FIFO": (make_fifo, "a FIFO"),
    "a directory": (make_directory, "a directory"),
    "a socket": (make_socket, "a socket"),
    "a symlink to /dev/zero": (link_to_dev_zero, "a character device"),
    "a symlink to a FIFO": (link_to_a_fifo, "a FIFO"),
}


@pytest.mark.parametrize(("make", "kind"), ODD_FILES.values(), ids=ODD_FILES.keys())
async def test_a_jsonl_name_that_is_not_a_regular_file_is_a_read_error_once(
    predictions: Path, source: TailSource, make: Any, kind: str
) -> None:
    odd = make(predictions / "x.jsonl")
    append(predictions / "normal.jsonl", *(record(i) for i in range(50)))
    first = await asyncio.wait_for(source.read_available(), WAIT_SECONDS)
    second = await asyncio.wait_for(source.read_available(), WAIT_SECONDS)

    assert ids(first) == [f"p{i}" for i in range(50)]
    assert skipped(first) == {"read_error": 1}
    assert [m for b in first for m in b.messages] == [
        f"{odd}: read_error: not a regular file ({kind})"
    ]
    assert second == []


def test_opening_a_fifo_returns_at_once_with_an_error(tmp_path: Path) -> None:
    """The name may turn into a FIFO between the scan and the open: the open never waits."""
    fifo = make_fifo(tmp_path / "x.jsonl")
    outcome: list[BaseException | tuple[int, Any]] = []

    def open_it() -> None:
        try:
            outcome.append(tail._open_regular(fifo))
        except OSError as exc:
            outcome.append(exc)

    opener = threading.Thread(target=open_it, daemon=True)
    opener.start()
    opener.join(WAIT_SECONDS)
    if opener.is_alive():
        with fifo.open("wb"):  # a writer releases the blocked open, so the thread ends
            pass
        pytest.fail("opening a FIFO blocked")

    assert len(outcome) == 1 and isinstance(outcome[0], OSError)
    assert outcome[0].strerror == "not a regular file (a FIFO)"


async def test_a_name_that_turns_into_a_fifo_after_the_scan_is_refused_and_others_read(
    predictions: Path, source: TailSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    racy = predictions / "x.jsonl"
    append(racy, record(0))
    append(predictions / "normal.jsonl", record(1))
    real_open = tail._open_regular

    def fifo_by_then(path: Path) -> Any:
        if path == racy and racy.is_file():
            racy.unlink()
            make_fifo(racy)
        return real_open(path)

    monkeypatch.setattr(tail, "_open_regular", fifo_by_then)
    batches = await asyncio.wait_for(source.read_available(), WAIT_SECONDS)

    assert ids(batches) == ["p1"]
    assert skipped(batches) == {"read_error": 1}


# A file rewritten in place is read again from the start.


def rewrite(path: Path, lines: list[dict[str, Any]], mtime_ns: int) -> None:
    """Truncate and write again, as the old module did, with a given mtime."""
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    os.utime(path, ns=(mtime_ns, mtime_ns))


async def test_a_file_rewritten_in_place_to_the_same_size_counts_every_record_seen(
    predictions: Path, source: TailSource
) -> None:
    """1,200 records written (600, then 600 others over them): 1,200 records seen."""
    path = predictions / "a.jsonl"
    rewrite(path, [record(i + 1000) for i in range(600)], 1_700_000_000_000_000_000)
    first = await source.read_available()
    size = path.stat().st_size
    rewrite(path, [record(i + 2000) for i in range(600)], 1_700_000_000_500_000_000)
    second = await source.read_available()

    assert path.stat().st_size == size
    assert ids(first) == [f"p{i + 1000}" for i in range(600)]
    assert ids(second) == [f"p{i + 2000}" for i in range(600)]
    assert skipped(first + second) == Counter()


async def test_a_file_rewritten_longer_from_the_start_is_read_from_0(
    predictions: Path, source: TailSource
) -> None:
    """The new content begins like the old one (same head) but differs before the old end."""
    path = predictions / "a.jsonl"
    rewrite(path, [record(i) for i in range(10)], 1_700_000_000_000_000_000)
    await source.read_available()
    rewrite(path, [record(i) for i in range(5)] + [record(i + 100) for i in range(20)],
            1_700_000_001_000_000_000)
    second = await source.read_available()

    assert ids(second) == [f"p{i}" for i in range(5)] + [f"p{i + 100}" for i in range(20)]
    assert skipped(second) == Counter()


async def test_appending_after_a_rewrite_check_reads_only_what_is_new(
    predictions: Path, source: TailSource
) -> None:
    path = predictions / "a.jsonl"
    append(path, *(record(i) for i in range(10)))
    await source.read_available()
    append(path, record(10))
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    assert ids(await source.read_available()) == ["p10"]


async def test_a_rewrite_while_the_file_is_closed_is_read_from_0(predictions: Path) -> None:
    path = predictions / "a.jsonl"
    rewrite(path, [record(i) for i in range(10)], 1_700_000_000_000_000_000)
    async with TailSource(predictions.parent, max_open_files=1) as capped:
        await capped.read_available()
        append(predictions / "b.jsonl", record(99))
        await capped.read_available()  # a.jsonl's handle is closed for b.jsonl
        rewrite(path, [record(i + 100) for i in range(10)], 1_700_000_002_000_000_000)
        again = await capped.read_available()

    assert ids(again) == [f"p{i + 100}" for i in range(10)]


async def test_following_catches_a_rewrite_to_the_same_size(predictions: Path) -> None:
    path = predictions / "a.jsonl"
    rewrite(path, [record(i) for i in range(100)], 1_700_000_000_000_000_000)
    async with aclosing(TailSource(predictions.parent, poll_interval=0.01).batches()) as stream:
        first = await collect_until(stream, {"p99"})
        rewrite(path, [record(i + 200) for i in range(100)], 1_700_000_001_000_000_000)
        second = await collect_until(stream, {"p299"})

    assert len(ids(first)) == 100
    assert ids(second) == [f"p{i + 200}" for i in range(100)]


# A directory that cannot be listed is a read error once per episode.


async def test_a_predictions_path_that_cannot_be_listed_is_reported_once_per_episode(
    tmp_path: Path,
) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    predictions = storage / "predictions"
    predictions.write_text("not a directory")
    async with TailSource(storage) as source:
        failing = await source.read_available()
        still_failing = await source.read_available()
        predictions.unlink()
        predictions.mkdir()
        append(predictions / "a.jsonl", record(0))
        recovered = await source.read_available()
        (predictions / "a.jsonl").unlink()
        predictions.rmdir()
        predictions.write_text("a file again")
        failing_again = await source.read_available()

    message = f"{predictions}: read_error: cannot list the directory: Not a directory"
    assert skipped(failing) == {"read_error": 1}
    assert [m for b in failing for m in b.messages] == [message]
    assert still_failing == []
    assert ids(recovered) == ["p0"] and skipped(recovered) == Counter()
    assert [m for b in failing_again for m in b.messages] == [message]


async def test_following_keeps_polling_a_directory_that_cannot_be_listed(
    predictions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = threading.Event()
    refused.set()
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if refused.is_set() and Path(path) == predictions:
            raise OSError(5, "Input/output error", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    append(predictions / "a.jsonl", record(0))
    async with aclosing(TailSource(predictions.parent, poll_interval=0.01).batches()) as stream:
        first = await asyncio.wait_for(anext(stream), WAIT_SECONDS)
        await asyncio.sleep(0.2)  # many failed polls, none reported
        refused.clear()
        later = await collect_until(stream, {"p0"})

    assert first.skipped == {"read_error": 1}
    assert first.messages == (
        f"{predictions}: read_error: cannot list the directory: Input/output error",
    )
    assert ids(later) == ["p0"] and skipped(later) == Counter()


async def test_missing_storage_stays_quiet(tmp_path: Path) -> None:
    async with TailSource(tmp_path / "nowhere") as source:
        assert await source.read_available() == []


# Quiet files are polled less and less often.


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def stated_names(watcher: DirectoryWatcher) -> list[str]:
    return sorted(seen.path.name for seen in watcher.scan(full=False).stated.values())


def counting_stats(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[int]:
    """One entry per `os.stat` of `path` from now on."""
    stats: list[int] = []
    real_stat = os.stat

    def stat(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if Path(target) == path:
            stats.append(1)
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    return stats


def test_a_quiet_file_is_stated_less_and_less_often_up_to_the_cap(
    predictions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = predictions / "quiet.jsonl"
    append(path, record(0))
    stats = counting_stats(monkeypatch, path)
    clock = FakeClock()
    watcher = DirectoryWatcher(predictions, poll_interval=0.25, quiet_cap=2.0,
                               relist_seconds=1e9, clock=clock)
    stat_times = []
    for _ in range(60):
        before = len(stats)
        watcher.scan(full=False)
        if len(stats) > before:
            stat_times.append(clock.now - 1_000.0)
        clock.now += 0.25

    gaps = [b - a for a, b in itertools.pairwise(stat_times)]
    assert gaps[:4] == [0.25, 0.5, 1.0, 2.0]
    assert set(gaps[4:]) == {2.0}


def test_a_file_is_handed_over_when_new_or_changed_only(predictions: Path) -> None:
    path = predictions / "busy.jsonl"
    append(path, record(0))
    clock = FakeClock()
    watcher = DirectoryWatcher(predictions, poll_interval=0.25, quiet_cap=0.25,
                               relist_seconds=1e9, clock=clock)
    new = stated_names(watcher)
    clock.now += 0.25
    quiet = stated_names(watcher)
    append(path, record(1))
    os.utime(path, ns=(1, 1))
    clock.now += 0.25
    changed = stated_names(watcher)

    assert (new, quiet, changed) == (["busy.jsonl"], [], ["busy.jsonl"])


def test_a_file_asked_for_again_is_handed_over_unchanged(predictions: Path) -> None:
    append(predictions / "unfinished.jsonl", record(0))
    clock = FakeClock()
    watcher = DirectoryWatcher(predictions, poll_interval=0.25, clock=clock)
    watcher.scan(full=False)
    clock.now += 0.25

    assert [s.path.name for s in watcher.scan(full=False, recheck=["unfinished.jsonl"])
            .stated.values()] == ["unfinished.jsonl"]


def test_a_file_that_changes_is_stated_every_poll_again(
    predictions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = predictions / "busy.jsonl"
    append(path, record(0))
    stats = counting_stats(monkeypatch, path)
    clock = FakeClock()
    watcher = DirectoryWatcher(predictions, poll_interval=0.25, quiet_cap=4.0,
                               relist_seconds=1e9, clock=clock)
    for _ in range(40):  # quiet for 10 s: stated every 4 s by now
        watcher.scan(full=False)
        clock.now += 0.25
    append(path, record(1))
    os.utime(path, ns=(1, 1))
    clock.now += 4.0
    assert stated_names(watcher) == ["busy.jsonl"]  # seen changed
    before = len(stats)
    clock.now += 0.25
    watcher.scan(full=False)
    assert len(stats) == before + 1  # so stated again at the next poll


def test_a_new_file_is_stated_at_the_next_poll_however_quiet_the_others(
    predictions: Path,
) -> None:
    append(predictions / "quiet.jsonl", record(0))
    clock = FakeClock()
    watcher = DirectoryWatcher(predictions, poll_interval=0.25, quiet_cap=60.0,
                               relist_seconds=1e9, clock=clock)
    for _ in range(40):
        watcher.scan(full=False)
        clock.now += 0.25
    append(predictions / "new.jsonl", record(1))
    os.utime(predictions, ns=(2, 2))  # the directory's mtime moved, whatever its tick

    assert stated_names(watcher) == ["new.jsonl"]


def test_a_full_scan_stats_every_file_whatever_its_schedule(predictions: Path) -> None:
    for name in ("a", "b", "c"):
        append(predictions / f"{name}.jsonl", record(0))
    clock = FakeClock()
    watcher = DirectoryWatcher(predictions, poll_interval=0.25, quiet_cap=60.0,
                               relist_seconds=1e9, clock=clock)
    watcher.scan(full=False)

    assert sorted(s.path.name for s in watcher.scan(full=True).stated.values()) == [
        "a.jsonl", "b.jsonl", "c.jsonl"]
    assert watcher.scan(full=False).stated == {}


async def test_a_write_to_a_quiet_file_is_still_seen_while_following(predictions: Path) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    source = TailSource(predictions.parent, poll_interval=0.01, quiet_poll_cap=0.2)
    async with aclosing(source.batches()) as stream:
        await collect_until(stream, {"p0"})
        await asyncio.sleep(0.5)
        append(path, record(1))
        later = await collect_until(stream, {"p1"})

    assert ids(later) == ["p1"]


async def test_files_left_unread_by_a_pass_cut_short_are_read_by_the_next_one(
    predictions: Path,
) -> None:
    """The scan hands a changed file over once: the reader asks again for what it did not
    finish, however quiet the file stays afterwards."""
    for name in ("a", "b", "c"):
        append(predictions / f"{name}.jsonl", record(ord(name)))
    source = TailSource(predictions.parent, poll_interval=0.01)
    async with aclosing(source.batches()) as stream:
        first = await collect_until(stream, set())
        first.append(await asyncio.wait_for(anext(stream), WAIT_SECONDS))
    async with aclosing(source.batches()) as stream:
        rest = await collect_until(stream, {"p97", "p98", "p99"} - set(ids(first)))

    assert len(ids(first)) == 1
    assert sorted(ids(first + rest)) == ["p97", "p98", "p99"]


def still_open(fd: int, path: Path) -> bool:
    """Whether descriptor `fd` is still open on the file at `path` (a closed number may have
    been reused by another file since)."""
    try:
        held = os.fstat(fd)
    except OSError:
        return False
    on_disk = path.stat()
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


async def test_a_file_opened_after_the_stream_was_given_up_is_closed(
    predictions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    release, opened = threading.Event(), threading.Event()
    real_open = tail._open_regular

    descriptors: list[int] = []

    def slow(opening: Path) -> Any:
        release.wait(WAIT_SECONDS)
        try:
            fd, key = real_open(opening)
            descriptors.append(fd)
            return fd, key
        finally:
            opened.set()

    monkeypatch.setattr(tail, "_open_regular", slow)
    stream = TailSource(predictions.parent, poll_interval=0.01).batches()
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)
    pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)
    release.set()
    await asyncio.to_thread(opened.wait, WAIT_SECONDS)
    await asyncio.sleep(0.05)  # the done callback runs in the worker thread, right after

    assert len(descriptors) == 1
    assert not still_open(descriptors[0], path)


async def test_following_after_close_reads_every_file_from_the_start_again(
    predictions: Path,
) -> None:
    append(predictions / "a.jsonl", record(0), record(1))
    source = TailSource(predictions.parent, poll_interval=0.01)
    async with aclosing(source.batches()) as stream:
        first = await collect_until(stream, {"p0", "p1"})
    await source.close()
    async with aclosing(source.batches()) as stream:
        again = await collect_until(stream, {"p0", "p1"})

    assert ids(first) == ids(again) == ["p0", "p1"]


# Boundaries.


def line_of(size: int, index: int) -> str:
    """A valid record line of exactly `size` bytes (without its newline)."""
    short = json.dumps(record(index, metadata=""))
    padded = json.dumps(record(index, metadata="x" * (size - len(short))))
    assert len(padded) == size
    return padded


@pytest.mark.parametrize("chunk_bytes", [4 << 20, 100_000], ids=["whole", "split"])
async def test_a_line_of_exactly_the_limit_is_a_record_and_one_byte_more_is_too_long(
    predictions: Path, chunk_bytes: int
) -> None:
    append(predictions / "a.jsonl", record(0), line_of(MAX_LINE_BYTES, 1), record(2),
           line_of(MAX_LINE_BYTES + 1, 3), record(4))
    async with TailSource(predictions.parent, chunk_bytes=chunk_bytes) as source:
        batches = await source.read_available()

    assert ids(batches) == ["p0", "p1", "p2", "p4"]
    assert skipped(batches) == {"too_long": 1}
    assert [m.split(": ")[0] for b in batches for m in b.messages] == [
        f"{predictions / 'a.jsonl'}:4"]


async def test_a_read_error_that_comes_back_after_recovering_is_reported_again(
    predictions: Path, source: TailSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    refusing = True
    real_open = tail._open_regular

    def sometimes(opening: Path) -> Any:
        if refusing:
            raise PermissionError(13, "Permission denied", str(opening))
        return real_open(opening)

    monkeypatch.setattr(tail, "_open_regular", sometimes)
    failed = await source.read_available()
    failed_still = await source.read_available()
    refusing = False
    recovered = await source.read_available()
    await source.close()  # so that the file is opened again
    refusing = True
    failed_again = await source.read_available()

    assert skipped(failed) == {"read_error": 1} and failed_still == []
    assert ids(recovered) == ["p0"]
    assert skipped(failed_again) == {"read_error": 1}


async def test_a_read_error_in_the_middle_of_a_file_is_reported_again_after_recovering(
    predictions: Path, source: TailSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    failing = True
    real_read = tail._read_after

    def flaky(*args: Any) -> Any:
        if failing:
            raise OSError(5, "Input/output error")
        return real_read(*args)

    monkeypatch.setattr(tail, "_read_after", flaky)
    first = await source.read_available()
    failing = False
    second = await source.read_available()
    append(path, record(1))
    failing = True
    third = await source.read_available()
    failing = False
    append(path, record(2))
    fourth = await source.read_available()

    assert skipped(first) == {"read_error": 1}
    assert ids(second) == ["p0"]
    assert skipped(third) == {"read_error": 1}
    assert ids(fourth) == ["p1", "p2"]


# Progress, for the runtime to tell a stuck source.


async def test_progress_at_moves_with_each_pass_even_when_nothing_is_new(
    predictions: Path,
) -> None:
    source = TailSource(predictions.parent, poll_interval=0.01)
    created = source.progress_at
    await asyncio.sleep(0.01)
    await source.read_available()
    after_a_quiet_pass = source.progress_at

    assert after_a_quiet_pass > created


async def test_progress_at_stands_still_while_a_file_system_call_is_stuck(
    predictions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(predictions / "a.jsonl", record(0))
    release = threading.Event()
    real_open = tail._open_regular

    def stuck(path: Path) -> Any:
        release.wait(WAIT_SECONDS)
        return real_open(path)

    monkeypatch.setattr(tail, "_open_regular", stuck)
    source = TailSource(predictions.parent, poll_interval=0.01)
    async with aclosing(source.batches()) as stream:
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.05)
        stuck_at = source.progress_at
        await asyncio.sleep(0.2)
        still = source.progress_at
        release.set()
        batch = await asyncio.wait_for(pending, WAIT_SECONDS)

    assert still == stuck_at
    assert ids([batch]) == ["p0"] and source.progress_at > stuck_at
