"""Exporting the current view: the screen as SVG and the snapshot data behind it as JSON.

The JSON uses the names `neural-tui status --json`, `drift --json` and `quality --json` use,
and holds only finite numbers (null where a figure is missing or not finite). File names are
built from the view's fixed name and the UTC time only, never from a model's (untrusted) name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neural_tui.engines.slo import SLOStatus
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot

EXPORT_PREFIX = "neural-tui"
MAX_SAME_SECOND = 100
"""Exports of one view within one second get `-2`, `-3`, ... suffixes, up to this many."""


@dataclass(frozen=True, slots=True)
class ViewExport:
    """The two files one export wrote."""

    svg: Path
    json: Path


def export_view(directory: Path, view: str, svg: str, data: Mapping[str, Any],
                now: float) -> ViewExport:
    """Write `svg` and `data` as `neural-tui-<view>-<UTC time>.svg` and `.json` in
    `directory`, never over an earlier export; raises `OSError` when it cannot write."""
    stem = f"{EXPORT_PREFIX}-{view}-{datetime.fromtimestamp(now, UTC):%Y%m%dT%H%M%SZ}"
    text = json.dumps(data, indent=2, allow_nan=False, sort_keys=False)
    for attempt in range(1, MAX_SAME_SECOND + 1):
        name = stem if attempt == 1 else f"{stem}-{attempt}"
        svg_path, json_path = directory / f"{name}.svg", directory / f"{name}.json"
        try:
            with svg_path.open("x", encoding="utf-8") as out:
                out.write(svg)
        except FileExistsError:
            continue
        with json_path.open("w", encoding="utf-8") as out:
            out.write(text)
        return ViewExport(svg_path, json_path)
    raise FileExistsError(f"{directory / stem}.svg and {MAX_SAME_SECOND - 1} more exist")


def view_data(view: str, snapshot: Snapshot, models: Iterable[ModelSnapshot],
              now: float) -> dict[str, Any]:
    """The data behind `view`: the snapshot's time and each model it renders."""
    return finite({
        "view": view,
        "exported_at": now,
        "snapshot_at": snapshot.generated_at,
        "paused": snapshot.paused,
        "catching_up": snapshot.catching_up,
        "records_total": snapshot.ingest.records_total,
        "models": [model_entry(model) for model in models],
    })


def model_entry(model: ModelSnapshot) -> dict[str, Any]:
    """One model: the `status --json` figures, then its engine reports and SLOs."""
    return {
        **model.status_figures(),
        "source": model.source,
        "throughput_series": list(model.throughput_series),
        "error_rate_series": list(model.error_rate_series),
        "latency_p95_series": list(model.latency_p95_series),
        "waiting": model.analysis_waiting,
        "performance_waiting": model.performance_waiting,
        "scores": dict(model.drift_scores),
        "drifted": model.drifted,
        "drift_kinds": list(model.drift_kinds),
        "engine_range": (None if model.engine_range is None else {
            "seconds": model.engine_range.seconds, "records": model.engine_range.records,
            "judged": model.engine_range.judged, "labelled": model.engine_range.labelled}),
        "drift": model.drift.to_dict() if model.drift is not None else None,
        "quality": model.quality.to_dict() if model.quality is not None else None,
        "performance": model.performance.to_dict() if model.performance is not None else None,
        "slos": [slo_entry(status) for status in model.slos],
    }


def slo_entry(status: SLOStatus) -> dict[str, Any]:
    """One SLO's figures, named as `slo --json` names them."""
    spec = status.spec
    return {
        "name": spec.name,
        "type": spec.type,
        "target": spec.target,
        "sli": status.sli,
        "compliance": status.compliance,
        "error_budget_remaining": status.error_budget_remaining,
        "burn_rates": dict(status.burn_rates),
        "time_to_exhaustion_seconds": status.time_to_exhaustion_seconds,
        "meeting": status.meeting,
        "breach_count": status.breach_count,
    }


def finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by None, through dicts, lists and tuples
    (JSON has neither NaN nor infinity); keys become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value
