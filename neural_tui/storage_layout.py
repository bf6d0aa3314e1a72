"""The storage layout, named once, and where records likely are when absent from it.

A storage directory holds the records as `<storage>/predictions/*.jsonl` (`RECORDS_FOLDER`)
and, at its root, `monitor_config.json` (`MONITOR_CONFIG`), which names the model of records
that do not name their own (the old module's convention, still written by the producer).

A writer given the predictions folder as its storage path (the old logger's convention)
writes `predictions/predictions/*.jsonl`, and a reader given that folder looks for
`predictions/predictions/`: either way nothing is read and every figure is a silent 0.
`misplaced_records` finds such files one level off, so the commands can say where the records
are instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from neural_tui.errors import UsageError

RECORDS_FOLDER = "predictions"
"""The folder of a storage directory that holds the JSONL records."""
MONITOR_CONFIG = "monitor_config.json"
"""The file at the root of a storage directory naming its default model and version."""
ALERTS_FOLDER = "alerts"
"""The folder of a storage directory that holds the alerting's saved state."""
MAX_ENTRIES = 10_000
"""Directory entries looked at per folder, so a huge storage costs a bounded scan."""
MAX_SUBFOLDERS = 100
"""Subfolders looked into per folder."""


def require_storage(storage: Path) -> None:
    """Raise `UsageError` naming `storage` unless it is a directory."""
    if not storage.exists():
        raise UsageError(f"{storage}: storage directory does not exist")
    if not storage.is_dir():
        raise UsageError(f"{storage}: storage is not a directory")


@dataclass(frozen=True, slots=True)
class MisplacedRecords:
    """`files` JSONL files in `folder`, where the reader of `storage` does not look."""

    storage: Path
    folder: Path
    files: int

    @property
    def right_storage(self) -> Path | None:
        """The `--storage` under which the reader would find them, if there is one."""
        return self.folder.parent if self.folder.name == RECORDS_FOLDER else None

    def describe(self) -> str:
        """One line naming the folder and what to do."""
        expected = self.storage / RECORDS_FOLDER
        found = (f"{self.storage}: no record in {expected}/, but {self.files} .jsonl "
                 f"file{'s' if self.files != 1 else ''} in {self.folder}/")
        if self.right_storage is not None:
            return f"{found}: use --storage {self.right_storage}"
        return f"{found}: move them into {expected}/ or point --storage elsewhere"


def misplaced_records(storage: Path) -> MisplacedRecords | None:
    """JSONL files one level off `<storage>/predictions/` while it holds none, the folder
    holding the most of them.

    Looked at: `<storage>/`, `<storage>/predictions/*/` and `<storage>/*/predictions/`.
    """
    records = storage / RECORDS_FOLDER
    if _jsonl_files(records):
        return None
    candidates = [storage, *_subfolders(records)]
    candidates += [sub / RECORDS_FOLDER for sub in _subfolders(storage) if sub != records]
    counted = [(_jsonl_files(folder), folder) for folder in candidates]
    files, folder = max(counted, key=lambda pair: pair[0], default=(0, storage))
    return MisplacedRecords(storage, folder, files) if files else None


def _entries(folder: Path) -> list[tuple[Path, bool, bool]]:
    """Up to `MAX_ENTRIES` entries of `folder` as (path, is a folder, is a file); an
    unreadable folder has none."""
    try:
        with os.scandir(folder) as scan:
            return [(Path(entry.path), entry.is_dir(), entry.is_file())
                    for _, entry in zip(range(MAX_ENTRIES), scan, strict=False)]
    except OSError:
        return []


def _subfolders(folder: Path) -> list[Path]:
    found = [path for path, is_dir, _ in _entries(folder) if is_dir and path.name[:1] != "."]
    return sorted(found)[:MAX_SUBFOLDERS]


def _jsonl_files(folder: Path) -> int:
    return sum(1 for path, _, is_file in _entries(folder) if is_file and path.suffix == ".jsonl")
