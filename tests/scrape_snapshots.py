"""A snapshot with every exported family filled and hostile label values everywhere, and the
comparison of two expositions sample by sample (what the fast `/metrics` path is held to)."""

from __future__ import annotations

import math
from dataclasses import replace

from factories import (
    categorical_drift,
    drift_report,
    drifting_model,
    feature_drift,
    four_slos,
    model_snapshot,
)
from prometheus_client.parser import text_string_to_metric_families

from neural_tui.remote_models import TargetStatus
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    IngestStats,
    LatencyHistogram,
    Snapshot,
)

HOSTILE_LABELS: tuple[str, ...] = (
    'quote " inside',
    "back\\slash and \\n not a newline",
    "new\nline",
    "trailing backslash \\",
    '\\"',
    "x" * 10_000,
    "naïve 模型 ü 🚀",
    "[bold red]rich markup[/] [link=http://x]",
    "{braces}=,comma",
    "",
)
"""Label values a log or an endpoint may hand the exporter."""


def rich_snapshot() -> Snapshot:
    """Models named by every hostile label (and one plain), each with drift, quality,
    performance, SLOs, errors and drift scores; odd numbers (a NaN score, an infinite
    statistic, 1e300, a negative budget, counts past 1e6); hostile feature names, error types,
    ingest reasons and target names; one remote model, which neither path exports."""
    features = (
        *(feature_drift(value, drifted=True, statistic=0.4, p_value=1e-9)
          for value in HOSTILE_LABELS[:4]),
        categorical_drift(HOSTILE_LABELS[6]),
        feature_drift("wide", test="wasserstein", statistic=1e300, p_value=None, threshold=0.1),
        feature_drift("infinite", statistic=math.inf),
        feature_drift("huge count", statistic=1_234_567.0, p_value=5e-324),
    )
    latency = LatencyHistogram(
        tuple(range(1_000_000, 1_000_000 + len(LATENCY_BUCKETS_SECONDS))),
        1_000_000 + len(LATENCY_BUCKETS_SECONDS), 12_345_678.9)
    models = [
        drifting_model(
            name, version=HOSTILE_LABELS[(i + 1) % len(HOSTILE_LABELS)],
            predictions_total=1_234_567 + i, latency=latency,
            errors_total={"timeout": 3, HOSTILE_LABELS[i % len(HOSTILE_LABELS)]: 1},
            labels_joined=2_900, labels_correct=2_000,
            drift=drift_report(*features), drifted=bool(i % 2),
            drift_scores={"distribution": 0.5, "concept": math.nan, "prediction": -0.0,
                          "performance": 1e-7},
            slos=tuple(replace(status, burn_rates={**status.burn_rates, "1h": math.inf})
                       for status in four_slos(name)),
        )
        for i, name in enumerate((*HOSTILE_LABELS, "plain"))
    ]
    models.append(model_snapshot("remote", source="target far", predictions_total=9))
    return Snapshot(
        generated_at=1_767_225_600.0,
        models=tuple(models),
        ingest=IngestStats(12_345_678, {"not_json": 3, HOSTILE_LABELS[2]: 1}),
        targets=tuple(TargetStatus(value, f"http://127.0.0.1:{9000 + i}/metrics", i % 2 == 0)
                      for i, value in enumerate(HOSTILE_LABELS)),
    )


Sample = tuple[str, frozenset[tuple[str, str]], float | str]


def parsed(text: str) -> dict[str, tuple[str, str, list[Sample]]]:
    """Each family of an exposition by name: its type, help and samples in order (a NaN value
    as the string "NaN", so that two parses compare equal)."""
    return {
        family.name: (family.type, family.documentation, [
            (sample.name, frozenset(sample.labels.items()),
             "NaN" if math.isnan(sample.value) else sample.value)
            for sample in family.samples])
        for family in text_string_to_metric_families(text)
    }
