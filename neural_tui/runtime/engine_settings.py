"""The config's `[drift]`, `[quality]` and `[[slo]]` sections as the engines' own settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neural_tui.config import DriftSection, QualitySection, SLOSection
from neural_tui.engines.drift import DriftSettings
from neural_tui.engines.quality import QualitySettings, QualityWeights
from neural_tui.engines.slo import SLOSpec


def drift_settings(config: DriftSection) -> DriftSettings:
    """The `[drift]` section as the drift engine's settings."""
    return DriftSettings(
        alpha=config.alpha,
        psi_threshold=config.psi_threshold,
        wasserstein_threshold=config.wasserstein_threshold,
        jensen_shannon_threshold=config.jensen_shannon_threshold,
        small_reference_rows=config.small_reference_rows,
        numeric_distinct_values=config.numeric_distinct_values,
        correction=config.correction,
        dataset_drift_share=config.dataset_drift_share,
        min_effect_size=config.min_effect_size,
        feature_tests=config.tests,
        feature_kinds=config.kinds,
    )


def quality_settings(config: QualitySection, kinds: Mapping[str, Any]) -> QualitySettings:
    """The `[quality]` section as the quality engine's settings; `kinds` come from `[drift]`."""
    weights = config.weights
    return QualitySettings(
        weights=QualityWeights(
            missing=weights.missing,
            type_violations=weights.type_violations,
            out_of_range=weights.out_of_range,
            outliers=weights.outliers,
            new_categories=weights.new_categories,
            schema=weights.schema,
        ),
        range_tolerance=config.range_tolerance,
        outlier_method=config.outlier_method,
        mad_threshold=config.mad_threshold,
        iqr_factor=config.iqr_factor,
        kinds=dict(kinds),
    )


def slo_specs(slos: Sequence[SLOSection], model: str) -> tuple[SLOSpec, ...]:
    """The `[[slo]]` entries that apply to `model` (those naming it and those naming no
    model), in config order, as the SLO engine's specs."""
    return tuple(
        SLOSpec(name=slo.name, type=slo.type, target=slo.target,
                window_seconds=slo.window_seconds, model=slo.model,
                threshold_ms=slo.threshold_ms, min_rps=slo.min_rps, min_events=slo.min_events)
        for slo in slos if slo.model is None or slo.model == model
    )
