"""A storage written through `ModelLogger`, and a scrape read back, for the headless tests."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from neural_tui import ModelLogger


def log_records(storage: Path, model: str, n: int, *, start: int = 0, errors: int = 0) -> None:
    with ModelLogger(model, "1.0", storage_path=storage) as monitor:
        for i in range(start, start + n):
            monitor.log_prediction(f"{model}-{i}", {"x": float(i)}, 1, latency_ms=20.0)
        for _ in range(errors):
            monitor.record_error("timeout")


def write_files_as_the_old_module(folder: Path, n: int = 5) -> None:
    """One more `predictions_*.jsonl` file in `folder`, as the old module's logger wrote it
    (today's writers take a path ending in `predictions` to be that folder itself, so they
    no longer write `predictions/predictions/`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"predictions_{1700000000 + len(list(folder.glob('*.jsonl')))}.jsonl"
    path.write_text("".join(json.dumps({"timestamp": 1700000000.0 + i, "prediction_id": f"p{i}",
                                        "input_features": {"x": float(i)}, "prediction": 1,
                                        "latency_ms": 5.0}) + "\n" for i in range(n)))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values
