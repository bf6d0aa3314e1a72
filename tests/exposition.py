"""Reading what the exporter serves: a snapshot's exposition text, and its samples by labels."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from neural_tui.exporter import build_registry
from neural_tui.runtime.snapshot import Snapshot

Labels = frozenset[tuple[str, str]]


def exposition(snapshot: Snapshot) -> str:
    return generate_latest(build_registry(lambda: snapshot)).decode()


def samples(text: str, sample_name: str) -> dict[Labels, float]:
    """Values of every sample called `sample_name`, keyed by their label set."""
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == sample_name
    }


def labels(**pairs: str) -> Labels:
    return frozenset(pairs.items())
