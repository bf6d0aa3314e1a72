"""The PromQL the Prometheus source asks, built only from the exported metric names.

No query interpolates anything read from a server: every model comes back in one answer
grouped `by (model, version)`, so a model name never has to be escaped into a query. Counters
are summed over instances; a gauge of several instances reads as its worst instance (the
highest drift, missing rate, outlier rate and burn rate; the lowest p-value, quality, accuracy,
precision, recall, f1, compliance and budget left), which is what an on-call reader must see.
One more query reads whether Prometheus can still scrape each exporter (`up`), since the
series of an exporter it cannot scrape go stale at once and its models would leave silently.
Several gauges of the same grouping share one query through `{__name__=~"..."}`, aggregated
`by (__name__, ...)` so each answer still says which metric it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PREDICTIONS = "neural_predictions_total"
ERRORS = "neural_errors_total"
LATENCY = "neural_prediction_latency_seconds"
LATENCY_BUCKET = f"{LATENCY}_bucket"
LATENCY_COUNT = f"{LATENCY}_count"
LATENCY_SUM = f"{LATENCY}_sum"
DRIFT_SCORE = "neural_drift_score"
FEATURE_DRIFT = "neural_feature_drift"
FEATURE_DRIFTED = "neural_feature_drifted"
FEATURE_DRIFT_THRESHOLD = "neural_feature_drift_threshold"
FEATURE_DRIFT_P_VALUE = "neural_feature_drift_p_value"
QUALITY_SCORE = "neural_data_quality_score"
MISSING_RATE = "neural_missing_values_rate"
OUTLIER_RATE = "neural_outlier_rate"
ACCURACY = "neural_model_accuracy"
PRECISION = "neural_model_precision"
RECALL = "neural_model_recall"
F1 = "neural_model_f1"
SLO_COMPLIANCE = "neural_slo_compliance"
SLO_BUDGET = "neural_slo_error_budget_remaining"
SLO_BURN_RATE = "neural_slo_burn_rate"
ALERTS_FIRING = "neural_alerts_firing"
ACTIVE_MODELS = "neural_active_models"

EXPORTER_LOOKBACK = "6h"
"""How recently a scrape target must have published `neural_active_models` for its `up` to
be read: an exporter Prometheus has failed to scrape for longer than this leaves the answer
(as one that Prometheus never scraped is never in it)."""

BY_MODEL = "model, version"

# The names of a round's queries, as its answers are looked up.
TOTALS = "totals"
INSTANCES = "instances"
ERRORS_BY_TYPE = "errors"
BUCKETS = "buckets"
THROUGHPUT = "throughput"
ERROR_RATE = "error_rate"
P50 = "p50"
P95 = "p95"
P99 = "p99"
DRIFT = "drift"
FEATURES = "features"
FEATURE_P_VALUES = "feature_p_values"
HIGHEST = "highest"
LOWEST = "lowest"
SLOS = "slos"
BURN_RATES = "burn_rates"
ALERTS = "alerts"
EXPORTERS = "exporters"

QUANTILES: Mapping[str, float] = {P50: 0.5, P95: 0.95, P99: 0.99}
SERIES_QUERIES = (THROUGHPUT, ERROR_RATE, P95)
"""The figures whose history a round reads with range queries (the sparklines)."""


def _any_of(*names: str) -> str:
    return '{__name__=~"' + "|".join(names) + '"}'


def promql_duration(seconds: float) -> str:
    """`seconds` as a PromQL range: whole seconds when it is, else milliseconds."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


@dataclass(frozen=True, slots=True)
class Queries:
    """Every query of a round, by name, for one rate window."""

    instant: Mapping[str, str]
    ranged: Mapping[str, str]


def fleet_queries(rate_window_seconds: float) -> Queries:
    window = promql_duration(rate_window_seconds)
    requests = f"sum by ({BY_MODEL}) (rate({PREDICTIONS}[{window}]))"
    failures = f"sum by ({BY_MODEL}) (rate({ERRORS}[{window}]))"
    ratios = {
        THROUGHPUT: requests,
        # A model without errors has no error series: it reads 0, not nothing.
        ERROR_RATE: f"({failures} or 0 * {requests}) / {requests}",
        **{
            name: (f"histogram_quantile({q}, sum by ({BY_MODEL}, le) "
                   f"(rate({LATENCY_BUCKET}[{window}])))")
            for name, q in QUANTILES.items()
        },
    }
    instant = {
        TOTALS: f"sum by (__name__, {BY_MODEL}) "
                f"({_any_of(PREDICTIONS, LATENCY_COUNT, LATENCY_SUM)})",
        INSTANCES: f"group by ({BY_MODEL}, instance) ({PREDICTIONS})",
        ERRORS_BY_TYPE: f"sum by ({BY_MODEL}, error_type) ({ERRORS})",
        BUCKETS: f"sum by ({BY_MODEL}, le) ({LATENCY_BUCKET})",
        **ratios,
        DRIFT: f"max by ({BY_MODEL}, drift_type) ({DRIFT_SCORE})",
        FEATURES: f"max by (__name__, {BY_MODEL}, feature, test) "
                  f"({_any_of(FEATURE_DRIFT, FEATURE_DRIFTED, FEATURE_DRIFT_THRESHOLD)})",
        # The worst p-value is the lowest one.
        FEATURE_P_VALUES: f"min by (__name__, {BY_MODEL}, feature, test) "
                          f"({_any_of(FEATURE_DRIFT_P_VALUE)})",
        HIGHEST: f"max by (__name__, {BY_MODEL}) ({_any_of(MISSING_RATE, OUTLIER_RATE)})",
        LOWEST: f"min by (__name__, {BY_MODEL}) "
                f"({_any_of(QUALITY_SCORE, ACCURACY, PRECISION, RECALL, F1)})",
        SLOS: f"min by (__name__, slo, {BY_MODEL}) ({_any_of(SLO_COMPLIANCE, SLO_BUDGET)})",
        BURN_RATES: f"max by (slo, {BY_MODEL}, window) ({SLO_BURN_RATE})",
        ALERTS: f"sum by (model, rule, severity) ({ALERTS_FIRING})",
        # Prometheus' `up` of the scrape targets that are neural-tui exporters: the ones that
        # published the gauge every exporter serves, even while Prometheus has them stale
        # (`count_over_time`, which every Prometheus 2 has, only to say which did).
        EXPORTERS: f"min by (job, instance) (up and on (job, instance) "
                   f"count_over_time({ACTIVE_MODELS}[{EXPORTER_LOOKBACK}]))",
    }
    return Queries(instant=instant, ranged={name: ratios[name] for name in SERIES_QUERIES})
