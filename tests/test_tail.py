"""Specification of `TailSource`: following the JSONL files of a storage directory."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from tail_lines import append, ids, open_paths, record, skipped

from neural_tui.records import IngestBatch
from neural_tui.sources import tail
from neural_tui.sources.tail import TailSource

WAIT_SECONDS = 10.0
"""Upper bound for waiting on `batches()`; a healthy run takes a poll interval or two."""


async def test_every_file_is_read_from_the_start(predictions: Path, source: TailSource) -> None:
    append(predictions / "a.jsonl", record(0), record(1))
    append(predictions / "b.jsonl", record(2))

    assert sorted(ids(await source.read_available())) == ["p0", "p1", "p2"]


async def test_a_second_pass_reads_only_what_was_appended(
    predictions: Path, source: TailSource
) -> None:
    append(predictions / "a.jsonl", record(0))
    await source.read_available()
    append(predictions / "a.jsonl", record(1), record(2))

    assert ids(await source.read_available()) == ["p1", "p2"]
    assert await source.read_available() == []


async def test_order_within_a_file_is_preserved_across_chunks(predictions: Path) -> None:
    append(predictions / "a.jsonl", *(record(i) for i in range(300)))
    async with TailSource(predictions.parent, chunk_bytes=1000) as small_chunks:
        batches = await small_chunks.read_available()

    assert len(batches) > 10
    assert ids(batches) == [f"p{i}" for i in range(300)]


async def test_every_batch_but_the_last_of_a_file_says_a_backlog_waits_behind_it(
    predictions: Path,
) -> None:
    append(predictions / "a.jsonl", *(record(i) for i in range(300)))
    async with TailSource(predictions.parent, chunk_bytes=1000) as small_chunks:
        backlog = [batch.backlog for batch in await small_chunks.read_available()]

    assert len(backlog) > 10
    assert backlog == [True] * (len(backlog) - 1) + [False]


async def test_a_large_file_is_decoded_whole(predictions: Path, source: TailSource) -> None:
    append(predictions / "a.jsonl", *(record(i) for i in range(5000)))

    assert ids(await source.read_available()) == [f"p{i}" for i in range(5000)]


async def test_only_jsonl_files_are_followed(predictions: Path, source: TailSource) -> None:
    append(predictions / "a.jsonl", record(0))
    append(predictions / "a.jsonl.1", record(1))
    append(predictions / "notes.txt", record(2))
    (predictions / "folder.jsonl").mkdir()
    append(predictions.parent / "stray.jsonl", record(3))

    assert ids(await source.read_available()) == ["p0"]


async def test_missing_storage_is_waited_for_quietly(tmp_path: Path) -> None:
    storage = tmp_path / "not_yet"
    async with TailSource(storage) as waiting:
        assert await waiting.read_available() == []
        (storage / "predictions").mkdir(parents=True)
        append(storage / "predictions" / "a.jsonl", record(0))

        assert ids(await waiting.read_available()) == ["p0"]


async def test_a_partial_last_line_waits_for_its_newline(
    predictions: Path, source: TailSource
) -> None:
    path = predictions / "a.jsonl"
    second = json.dumps(record(1))
    append(path, record(0), second[:20], newline=False)

    first_pass = await source.read_available()
    append(path, second[20:], "{broken")
    second_pass = await source.read_available()

    assert ids(first_pass) == ["p0"] and skipped(first_pass) == Counter()
    assert ids(second_pass) == ["p1"]
    assert skipped(second_pass) == {"not_json": 1}
    assert second_pass[0].messages[0].startswith(f"{path}:3: not_json")


async def test_rotation_by_rename_continues_without_loss_or_double_count(
    predictions: Path, source: TailSource
) -> None:
    live = predictions / "a.jsonl"
    append(live, record(0), record(1))
    await source.read_available()
    append(live, record(2))
    rotated = live.rename(predictions / "a-2024.jsonl")
    append(rotated, "{broken")
    append(live, record(3))

    batches = await source.read_available()

    assert sorted(ids(batches)) == ["p2", "p3"]
    [message] = [m for b in batches for m in b.messages]
    assert message.startswith(f"{rotated}:4: not_json: ")
    assert await source.read_available() == []


async def test_a_file_renamed_away_from_jsonl_is_drained_then_dropped(
    predictions: Path, source: TailSource
) -> None:
    live = predictions / "a.jsonl"
    append(live, record(0))
    await source.read_available()
    append(live, record(1))
    rotated = live.rename(predictions / "a.jsonl.1")

    assert ids(await source.read_available()) == ["p1"]
    append(rotated, record(2))
    assert await source.read_available() == []


async def test_a_deleted_file_is_drained_including_an_unended_last_line(
    predictions: Path, source: TailSource
) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    await source.read_available()
    append(path, record(1), record(2), newline=False)
    path.unlink()

    assert ids(await source.read_available()) == ["p1", "p2"]


async def test_a_truncated_file_is_read_again_from_the_start(
    predictions: Path, source: TailSource
) -> None:
    path = predictions / "a.jsonl"
    append(path, *(record(i) for i in range(5)))
    await source.read_available()
    path.write_text("")
    append(path, record(10), "{broken")

    batches = await source.read_available()

    assert ids(batches) == ["p10"]
    assert batches[0].messages[0].startswith(f"{path}:2: not_json")


async def test_copy_truncate_rotation_counts_each_record_once(
    predictions: Path, source: TailSource
) -> None:
    path = predictions / "a.jsonl"
    append(path, *(record(i) for i in range(5)))
    first = await source.read_available()
    shutil.copy(path, predictions / "a.jsonl.1")
    with path.open("r+") as file:
        file.truncate(0)
    append(path, record(5), record(6))

    assert ids(first) + ids(await source.read_available()) == [f"p{i}" for i in range(7)]


async def test_a_restarted_source_counts_every_record_exactly_once(predictions: Path) -> None:
    append(predictions / "a.jsonl", record(0), record(1), "not json")
    append(
        predictions / "b.jsonl",
        record(2),
        {"timestamp": 9, "prediction_id": "p0", "ground_truth": 1},
    )
    append(predictions / "b.jsonl", json.dumps(record(3))[:10], newline=False)

    for _ in range(2):
        async with TailSource(predictions.parent) as restarted:
            batches = await restarted.read_available()
        assert sorted(ids(batches)) == ["p0", "p0", "p1", "p2"]
        assert skipped(batches) == {"not_json": 1}


async def test_late_labels_and_integer_ids_pass_through(
    predictions: Path, source: TailSource
) -> None:
    label = {"timestamp": 1_700_000_100.0, "prediction_id": 7, "ground_truth": 1}
    append(predictions / "a.jsonl", record(0, prediction_id=7), label)

    [batch] = await source.read_available()

    assert batch.records.prediction_id.tolist() == ["7", "7"]
    assert batch.records.is_label.tolist() == [False, True]


@pytest.mark.parametrize("chunk_bytes", [4 << 20, 64 << 10])
async def test_a_two_mebibyte_line_is_too_long_and_the_next_line_is_kept(
    predictions: Path, chunk_bytes: int
) -> None:
    path = predictions / "a.jsonl"
    huge = record(1, input_features={"blob": "x" * (2 << 20)})
    append(path, record(0), huge, record(2), "{broken")

    async with TailSource(predictions.parent, chunk_bytes=chunk_bytes) as reader:
        batches = await reader.read_available()

    assert ids(batches) == ["p0", "p2"]
    assert skipped(batches) == {"too_long": 1, "not_json": 1}
    messages = [message for batch in batches for message in batch.messages]
    assert any(message.startswith(f"{path}:2: too_long") for message in messages)
    assert any(message.startswith(f"{path}:4: not_json") for message in messages)


async def test_an_over_long_line_still_being_written_is_skipped_once(
    predictions: Path, source: TailSource
) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0), "[" + "1," * (600 << 10), newline=False)
    first = await source.read_available()
    append(path, "1" * 1000 + "]", record(1))
    second = await source.read_available()

    assert ids(first) == ["p0"] and skipped(first) == {"too_long": 1}
    assert ids(second) == ["p1"] and skipped(second) == Counter()


async def test_an_unreadable_file_is_a_read_error_reported_once(
    predictions: Path, source: TailSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = predictions / "locked.jsonl"
    append(locked, record(0))
    append(predictions / "open.jsonl", record(1))
    real_open = tail._open_regular

    def refuse_locked(path: Path) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path)

    monkeypatch.setattr(tail, "_open_regular", refuse_locked)
    first = await source.read_available()
    second = await source.read_available()

    assert ids(first) == ["p1"]
    assert skipped(first) == {"read_error": 1}
    assert [m for b in first for m in b.messages] == [f"{locked}: read_error: Permission denied"]
    assert second == []


async def next_batch(stream: AsyncIterator[IngestBatch]) -> IngestBatch:
    return await asyncio.wait_for(anext(stream), WAIT_SECONDS)


async def test_batches_follow_appends_and_new_files(predictions: Path) -> None:
    append(predictions / "a.jsonl", record(0))
    source = TailSource(predictions.parent, poll_interval=0.01)
    stream = source.batches()
    try:
        assert ids([await next_batch(stream)]) == ["p0"]
        append(predictions / "a.jsonl", record(1))
        assert ids([await next_batch(stream)]) == ["p1"]
        append(predictions / "b.jsonl", record(2))
        assert ids([await next_batch(stream)]) == ["p2"]
    finally:
        await stream.aclose()


async def test_following_again_after_a_stop_goes_on_where_it_was(predictions: Path) -> None:
    append(predictions / "a.jsonl", record(0), record(1))
    source = TailSource(predictions.parent, poll_interval=0.01)
    first = source.batches()
    assert ids([await next_batch(first)]) == ["p0", "p1"]
    await first.aclose()
    assert not {path for path in open_paths() if path.startswith(str(predictions))}
    append(predictions / "a.jsonl", record(2))
    again = source.batches()
    try:
        assert ids([await next_batch(again)]) == ["p2"]
    finally:
        await again.aclose()


async def test_batches_wait_for_the_storage_to_appear(tmp_path: Path) -> None:
    storage = tmp_path / "later"
    stream = TailSource(storage, poll_interval=0.01).batches()
    try:
        pending = asyncio.ensure_future(next_batch(stream))
        await asyncio.sleep(0.05)
        assert not pending.done()
        (storage / "predictions").mkdir(parents=True)
        append(storage / "predictions" / "a.jsonl", record(0))
        assert ids([await pending]) == ["p0"]
    finally:
        await stream.aclose()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to list open files")
async def test_closing_the_stream_closes_every_file(predictions: Path) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    stream = TailSource(predictions.parent, poll_interval=0.01).batches()
    await next_batch(stream)
    held_while_streaming = str(path) in open_paths()
    await stream.aclose()

    assert held_while_streaming
    assert str(path) not in open_paths()


def open_in(directory: Path) -> set[str]:
    """The files of `directory` this process holds open."""
    return {path for path in open_paths() if Path(path).parent == directory}


def counting_opens(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every path `TailSource` opens from now on."""
    opened: list[Path] = []
    real_open = tail._open_regular

    def open_and_count(path: Path) -> Any:
        opened.append(Path(path))
        return real_open(path)

    monkeypatch.setattr(tail, "_open_regular", open_and_count)
    return opened


def write_files(predictions: Path, count: int) -> list[Path]:
    """`count` files of two records each, oldest first (mtimes one second apart)."""
    paths = []
    for index in range(count):
        path = predictions / f"f{index:03}.jsonl"
        append(path, record(2 * index), record(2 * index + 1))
        os.utime(path, (1_700_000_000 + index, 1_700_000_000 + index))
        paths.append(path)
    return paths


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to list open files")
async def test_more_files_than_the_handle_cap_are_each_read_exactly_once(
    predictions: Path,
) -> None:
    paths = write_files(predictions, 300)
    async with TailSource(predictions.parent, max_open_files=16) as capped:
        first = await capped.read_available()
        held_after_first_pass = open_in(predictions)
        append(paths[0], record(600))
        append(paths[150], record(601), record(602))
        append(paths[299], record(603))
        second = await capped.read_available()
        third = await capped.read_available()
        held_at_the_end = len(open_in(predictions))

    assert sorted(ids(first)) == sorted(f"p{i}" for i in range(600))
    assert skipped(first) == Counter()
    assert held_after_first_pass == {str(path) for path in paths[-16:]}
    assert sorted(ids(second)) == ["p600", "p601", "p602", "p603"]
    assert third == []
    assert held_at_the_end <= 16


async def test_files_unchanged_since_they_were_read_are_not_opened_again(
    predictions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_files(predictions, 40)
    opened = counting_opens(monkeypatch)
    async with TailSource(predictions.parent, max_open_files=4) as capped:
        await capped.read_available()
        opened.clear()
        quiet_pass = await capped.read_available()
        opens_when_quiet = list(opened)
        append(paths[3], record(100))
        append(paths[7], record(101))
        busy_pass = await capped.read_available()

    assert quiet_pass == [] and opens_when_quiet == []
    assert ids(busy_pass) == ["p100", "p101"]
    assert opened == [paths[3], paths[7]]


@pytest.fixture
async def closed_file(predictions: Path) -> AsyncIterator[tuple[Path, TailSource]]:
    """`a.jsonl` (records p0, p1) read and then closed: the cap is one, and `b.jsonl` was read
    after it."""
    path = predictions / "a.jsonl"
    append(path, record(0), record(1))
    os.utime(path, (1_700_000_000, 1_700_000_000))
    append(predictions / "b.jsonl", record(9))
    async with TailSource(predictions.parent, max_open_files=1) as capped:
        assert sorted(ids(await capped.read_available())) == ["p0", "p1", "p9"]
        if Path("/proc/self/fd").is_dir():
            assert str(path) not in open_paths()
        yield path, capped


async def test_a_closed_file_renamed_to_another_jsonl_name_goes_on_where_it_was(
    closed_file: tuple[Path, TailSource],
) -> None:
    path, capped = closed_file
    append(path, record(2))
    rotated = path.rename(path.with_name("a-1.jsonl"))
    append(rotated, "{broken")

    batches = await capped.read_available()

    assert ids(batches) == ["p2"]
    [message] = [m for b in batches for m in b.messages]
    assert message.startswith(f"{rotated}:4: not_json: ")


async def test_a_closed_file_truncated_is_read_again_from_the_start(
    closed_file: tuple[Path, TailSource],
) -> None:
    path, capped = closed_file
    path.write_text("")
    append(path, record(5))

    assert ids(await capped.read_available()) == ["p5"]


async def test_a_closed_file_rewritten_from_the_start_past_its_old_end_is_read_from_0(
    closed_file: tuple[Path, TailSource],
) -> None:
    path, capped = closed_file
    with path.open("r+") as file:
        file.truncate(0)
    append(path, *(record(i) for i in range(10, 15)))

    assert ids(await capped.read_available()) == [f"p{i}" for i in range(10, 15)]


async def test_a_closed_file_replaced_before_it_is_reopened_is_not_taken_for_it(
    closed_file: tuple[Path, TailSource], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the scan and the reopening, its name comes to mean another file."""
    path, capped = closed_file
    append(path, record(2))
    real_open = tail._open_regular

    def replace_first(opening: Path) -> Any:
        if Path(opening) == path and not path.with_name("a-1.jsonl").exists():
            path.rename(path.with_name("a-1.jsonl"))
            append(path, record(20))
        return real_open(opening)

    monkeypatch.setattr(tail, "_open_regular", replace_first)
    first = await capped.read_available()
    second = await capped.read_available()

    assert ids(first) == []
    assert sorted(ids(second)) == ["p2", "p20"]
    assert await capped.read_available() == []


async def test_a_closed_file_deleted_keeps_what_was_read_and_yields_its_unended_line(
    closed_file: tuple[Path, TailSource],
) -> None:
    """A closed file cannot be drained: its last line, read but not ended, is all that is left."""
    path, capped = closed_file
    append(path, record(2))
    await capped.read_available()
    append(path, record(3), newline=False)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    append(path.with_name("b.jsonl"), record(10))
    assert sorted(ids(await capped.read_available())) == ["p10"]
    if Path("/proc/self/fd").is_dir():
        assert str(path) not in open_paths()
    path.unlink()

    assert ids(await capped.read_available()) == ["p3"]
    assert await capped.read_available() == []


async def test_a_closed_file_deleted_mid_line_reports_no_corrupt_line(
    closed_file: tuple[Path, TailSource],
) -> None:
    path, capped = closed_file
    await capped.read_available()
    append(path, '{"timestamp": 1700000003, "predic', newline=False)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    await capped.read_available()
    append(path.with_name("b.jsonl"), record(10))
    assert ids(await capped.read_available()) == ["p10"]
    path.unlink()

    assert skipped(await capped.read_available()) == Counter()


async def test_a_drained_last_line_is_never_handed_over_twice(
    predictions: Path, source: TailSource
) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0))
    await source.read_available()
    append(path, record(1), newline=False)
    await source.read_available()
    path.rename(path.with_name("a.done"))

    async with aclosing(source.available()) as one_pass:
        drained = await anext(one_pass)
    assert ids([drained]) == ["p1"]
    assert await source.read_available() == []


def test_the_handle_cap_must_allow_one_file(predictions: Path) -> None:
    with pytest.raises(ValueError, match="max_open_files"):
        TailSource(predictions.parent, max_open_files=0)


READ_UNDER_A_LOW_DESCRIPTOR_LIMIT = """
import asyncio, json, resource, sys
from pathlib import Path
from neural_tui.sources.tail import TailSource

resource.setrlimit(resource.RLIMIT_NOFILE, (40, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
storage = Path(sys.argv[1])

async def main():
    async with TailSource(storage) as source:
        first = await source.read_available()
        for path in (storage / "predictions").iterdir():
            with path.open("a") as file:
                file.write(json.dumps({"timestamp": 1.0, "prediction_id": path.stem}) + "\\n")
        second = await source.read_available()
    return [
        {"records": sum(len(b.records) for b in batches),
         "skipped": sum(sum(b.skipped.values()) for b in batches)}
        for batches in (first, second)
    ]

print(json.dumps(asyncio.run(main())))
"""


def test_more_files_than_the_descriptor_limit_are_all_read(predictions: Path) -> None:
    """In a child process, so that the limit does not reach this one."""
    write_files(predictions, 300)
    child = subprocess.run(
        [sys.executable, "-c", READ_UNDER_A_LOW_DESCRIPTOR_LIMIT, str(predictions.parent)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout) == [
        {"records": 600, "skipped": 0},
        {"records": 300, "skipped": 0},
    ]
