"""What the runtime asks of a source: an async producer of batches with a name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from neural_tui.records import IngestBatch


class Source(Protocol):
    """An async producer of batches; `label` names it in the console and the logs."""

    @property
    def label(self) -> str: ...

    def batches(self) -> AsyncIterator[IngestBatch]: ...
