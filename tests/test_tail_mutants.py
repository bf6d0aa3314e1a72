"""`TailSource` at the boundaries that mutation testing (`make mutate`) found unguarded."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from tail_lines import append, ids, record, skipped

from neural_tui.sources.tail import TailSource


async def test_an_over_long_line_whose_newline_starts_the_next_read_keeps_what_follows(
    predictions: Path,
) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0), "x" * 2000, newline=False)
    async with TailSource(predictions.parent, max_line_bytes=1000) as source:
        first = await source.read_available()
        append(path, "", record(1))
        second = await source.read_available()

    assert ids(first) == ["p0"] and skipped(first) == {"too_long": 1}
    assert ids(second) == ["p1"] and skipped(second) == Counter()


async def test_a_file_touched_without_new_lines_counts_nothing_again(predictions: Path) -> None:
    path = predictions / "a.jsonl"
    append(path, record(0), record(1))
    async with TailSource(predictions.parent) as source:
        first = await source.read_available()
        later = path.stat().st_mtime + 10
        os.utime(path, (later, later))
        second = await source.read_available()

    assert ids(first) == ["p0", "p1"]
    assert second == []


async def test_a_jsonl_link_to_nothing_hides_no_other_file(predictions: Path) -> None:
    for index in range(10):
        append(predictions / f"a{index}.jsonl", record(index))
        (predictions / f"b{index}.jsonl").symlink_to(predictions / f"missing{index}")
    async with TailSource(predictions.parent) as source:
        batches = await source.read_available()

    assert sorted(ids(batches)) == [f"p{index}" for index in range(10)]
