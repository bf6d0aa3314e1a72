"""A model's reference file read into the rows a reference is built from.

The file is JSONL in the storage format; labels join their predictions as in the stream (inline
or late lines). Anything that makes it unusable is a `ReferenceFileError` naming the file.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neural_tui.decode import decode_lines, skipped_lines
from neural_tui.errors import UsageError
from neural_tui.runtime.state import FeatureRows, LabelledRows, ModelState, StateLimits

log = logging.getLogger(__name__)


class ReferenceFileError(UsageError):
    """A reference file that cannot be used: missing, unreadable, or without a valid record."""


@dataclass(frozen=True, slots=True)
class ReferenceRows:
    """The rows a reference is built from, and where they came from."""

    description: str
    features: FeatureRows
    labelled: LabelledRows


MAX_REFERENCE_BYTES = 64 << 20
"""Largest reference file read (64 MiB, about 200,000 typical records; reading one that size
peaks near 400 MB)."""


def _read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of `path`, or `ReferenceFileError` naming it when it is not a regular file of
    at most `limit` bytes (checked on the opened file, and again while reading)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ReferenceFileError(f"{path}: reference file not found") from None
    except OSError as exc:
        raise ReferenceFileError(f"{path}: cannot read reference file: {exc.strerror}") from None
    too_big = ReferenceFileError(f"{path}: reference file is larger than {limit >> 20} MiB")
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise ReferenceFileError(f"{path}: reference is a directory, not a file")
        if not stat.S_ISREG(status.st_mode):
            raise ReferenceFileError(f"{path}: reference is not a regular file")
        if status.st_size > limit:
            raise too_big
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise ReferenceFileError(f"{path}: cannot read reference file: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise too_big
    return data


def read_reference_file(path: Path) -> ReferenceRows:
    """Every prediction of a reference file, with its labels joined (inline or late lines).

    Only a regular file of at most `MAX_REFERENCE_BYTES` is read; it is opened non-blocking, so
    a FIFO or a device named as the reference is refused at once instead of hanging or
    filling memory.
    """
    data = _read_regular_file(path, MAX_REFERENCE_BYTES)
    batch = decode_lines(data, source=str(path), first_line=1)
    records = batch.records
    rows = int(np.count_nonzero(~records.is_label & (records.input_features != None)))  # noqa: E711
    skipped = sum(skipped_lines(batch.skipped).values())
    if rows == 0:
        raise ReferenceFileError(
            f"{path}: no valid prediction record in the reference file"
            + (f" ({skipped} lines skipped)" if skipped else "")
        )
    if skipped:
        log.warning("%s: %d invalid lines skipped in the reference file", path, skipped)
    state = ModelState("reference", "", StateLimits(
        pending_predictions=len(records), labelled_pairs=rows, feature_rows=rows, reference_rows=0,
    ))
    state.ingest(records)
    return ReferenceRows(str(path), state.feature_rows(), state.labelled())
