"""`neural-tui init`: a starter config and storage, as the old module's `init` set them up."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from neural_tui.config import ServerSection
from neural_tui.errors import UsageError
from neural_tui.storage_layout import MONITOR_CONFIG, RECORDS_FOLDER


@dataclass(frozen=True, slots=True)
class Written:
    config: Path
    storage: Path


def write_starter(
    output: Path, *, model_name: str, model_version: str, storage: Path, force: bool
) -> Written:
    """Write the config, create `<storage>/predictions/` and the storage's `monitor_config.json`.

    An existing config is kept unless `force`; an existing `monitor_config.json` is never
    overwritten, since a running model server may own it.
    """
    if not model_name.strip():
        raise UsageError("--model-name: must not be empty")
    if output.exists() and not force:
        raise UsageError(f"{output}: already exists (use --force to overwrite)")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(_document(storage, model_name, model_version), encoding="utf-8")
        storage_dir = storage if storage.is_absolute() else output.parent / storage
        (storage_dir / RECORDS_FOLDER).mkdir(parents=True, exist_ok=True)
        monitor_config = storage_dir / MONITOR_CONFIG
        if not monitor_config.exists():
            monitor_config.write_text(json.dumps({
                "model_name": model_name,
                "model_version": model_version,
                "storage_path": str(storage),
                "created_at": time.time(),
            }, indent=2), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{exc.filename}: cannot write: {exc.strerror}") from None
    return Written(config=output, storage=storage_dir)


def _document(storage: Path, model_name: str, model_version: str) -> str:
    """The config text, its model as a `[[models]]` table as `config.example.toml` documents it,
    so that a further model is one more `[[models]]` block (an inline array could not grow)."""
    server = ServerSection()
    sections = tomli_w.dumps({
        "storage": {"path": str(storage)},
        "server": {"host": server.host, "port": server.port},
    })
    model = tomli_w.dumps({"name": model_name, "version": model_version})
    return (f"{_HEADER}{sections}\n[[models]]\n{model}{_MODEL_OPTIONS}{_STARTER_RULES}"
            f"{_STARTER_SLOS}")


_HEADER = """\
# neural-tui configuration, written by `neural-tui init`.
# Every key is documented in config.example.toml. Relative paths are relative to this file.

"""

_MODEL_OPTIONS = """\
# A JSONL file of records that drift and quality are measured against; without it, the model's
# first [drift] reference_rows records are the reference.
# reference = "reference.jsonl"

# One more [[models]] table per further model:
# [[models]]
# name = "another-model"
"""

_STARTER_SLOS = """\

# Service level objectives, none until uncommented (config.example.toml documents each key).
# Without `model`, an SLO applies to every model, each judged on its own traffic.
# [[slo]]
# name = "availability"
# type = "availability"
# target = 0.999
# window = "30d"
#
# [[slo]]
# name = "latency-250ms"
# type = "latency"
# target = 0.95
# window = "7d"
# threshold_ms = 250.0
#
# [[slo]]
# name = "accuracy"
# type = "accuracy"
# target = 0.9
# window = "7d"
#
# [[slo]]
# name = "traffic"
# type = "throughput"
# target = 0.99
# window = "1d"
# min_rps = 1.0
"""

_STARTER_RULES = """\

# Alert rules, active: each shows in the console and in neural_alerts_firing while it fires,
# and notifies nobody until a channel is named (config.example.toml documents every key).
# Burn-rate alerts of the [[slo]] entries below need no rule: they go to `slo_channels`.
# [alerts]
# slo_channels = ["pager"]
#
# [alerts.channels.pager]
# type = "webhook"
# url = "${PAGER_WEBHOOK_URL}"

[[alerts.rules]]
name = "drift"
when = "drifted"
for = "10m"
summary = "{model} drifted: {drift_score} of features, prediction drift {prediction_drift_score}"
# channels = ["pager"]

[[alerts.rules]]
name = "data_quality"
when = "quality_score < 0.7"
for = "10m"
summary = "{model}: data quality {quality_score}, missing {missing_rate}"

[[alerts.rules]]
name = "accuracy"
when = "accuracy < 0.8"
for = "15m"
summary = "{model}: accuracy {accuracy} on labelled predictions"

[[alerts.rules]]
name = "latency"
when = "p95_latency_ms > 500"
for = "5m"
summary = "{model}: p95 latency {p95_latency_ms} ms"

[[alerts.rules]]
name = "latency"
when = "p95_latency_ms > 2000"
severity = "critical"
for = "5m"
summary = "{model}: p95 latency {p95_latency_ms} ms"

[[alerts.rules]]
name = "error_rate"
when = "error_rate > 0.05 and throughput_rps > 0.1"
severity = "critical"
for = "5m"
summary = "{model}: {error_rate} of requests fail"
"""
