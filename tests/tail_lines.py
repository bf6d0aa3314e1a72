"""Storage lines for the `TailSource` tests: records to append, and what batches yielded."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from neural_tui.records import IngestBatch


def record(index: int, **fields: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "timestamp": 1_700_000_000.0 + index,
        "prediction_id": f"p{index}",
        "input_features": {"x": float(index), "colour": "red"},
        "prediction": index % 2,
        "prediction_proba": None,
        "ground_truth": None,
        "latency_ms": 5.0,
        "metadata": None,
    }
    line.update(fields)
    return line


def append(path: Path, *lines: dict[str, Any] | str, newline: bool = True) -> None:
    """Append lines as the old module did (`json.dumps` + newline); strings go in verbatim."""
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    with path.open("a", encoding="utf-8") as file:
        file.write(text + ("\n" if newline else ""))


def ids(batches: Iterable[IngestBatch]) -> list[str]:
    return [pid for batch in batches for pid in batch.records.prediction_id.tolist()]


def skipped(batches: Iterable[IngestBatch]) -> Counter[str]:
    return sum((batch.skipped for batch in batches), Counter())


def open_paths() -> set[str]:
    """Paths this process holds open, as the kernel lists them."""
    fds = Path("/proc/self/fd")
    return {str(fd.readlink()) for fd in fds.iterdir() if fd.is_symlink()}
