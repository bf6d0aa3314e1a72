"""The SLO metrics and the label counters an accuracy SLO's Prometheus rules need: what a scrape
says about the SLO statuses of a snapshot."""

from __future__ import annotations

import math
from typing import Any

from exposition import exposition as snapshot_exposition
from exposition import labels, samples
from factories import idle_model_snapshot

from neural_tui.engines.slo import SLOSpec, SLOStatus
from neural_tui.runtime.snapshot import IngestStats, ModelSnapshot, Snapshot

HOSTILE = 'p99 "fast"\\ {{ $x }}\nnext'


def exposition(*models: ModelSnapshot) -> str:
    return snapshot_exposition(Snapshot(generated_at=1_000.0, models=models,
                                        ingest=IngestStats(0, {})))


def status(name: str, model: str, **figures: Any) -> SLOStatus:
    """An availability SLO's status with the figures a test sets, the others empty."""
    fields: dict[str, Any] = {
        "spec": SLOSpec(name=name, type="availability", target=0.99, window_seconds=3600),
        "model": model, "at": 1_000.0, "good": 0, "total": 0, "sli": None, "compliance": None,
        "error_budget_remaining": None, "burn_rates": {}, "time_to_exhaustion_seconds": None,
        "breaches": (), "alerts": (),
    }
    fields.update(figures)
    return SLOStatus(**fields)


def test_each_slo_of_each_model_is_one_series_of_compliance_and_budget():
    # 10,000 requests of which 50 failed against 99%: compliance 0.995, half the budget left.
    churn = status("availability", "churn", good=9_950, total=10_000, compliance=0.995,
                   error_budget_remaining=0.5)
    fraud = status("availability", "fraud", good=80, total=100, compliance=0.8,
                   error_budget_remaining=-19.0)
    text = exposition(idle_model_snapshot("churn", "1.0", slos=(churn,)),
                      idle_model_snapshot("fraud", "2.0", slos=(fraud,)))

    assert samples(text, "neural_slo_compliance") == {
        labels(slo="availability", model="churn", version="1.0"): 0.995,
        labels(slo="availability", model="fraud", version="2.0"): 0.8,
    }
    assert samples(text, "neural_slo_error_budget_remaining") == {
        labels(slo="availability", model="churn", version="1.0"): 0.5,
        labels(slo="availability", model="fraud", version="2.0"): -19.0,
    }


def test_burn_rates_are_one_series_per_window_and_a_window_without_events_is_left_out():
    slo = status("availability", "churn", burn_rates={"1h": 0.5, "5m": 14.4, "6h": None})
    text = exposition(idle_model_snapshot("churn", "1.0", slos=(slo,)))

    assert samples(text, "neural_slo_burn_rate") == {
        labels(slo="availability", model="churn", version="1.0", window="1h"): 0.5,
        labels(slo="availability", model="churn", version="1.0", window="5m"): 14.4,
    }


def test_an_slo_without_figures_exports_no_sample():
    text = exposition(idle_model_snapshot("churn", "1.0", slos=(status("quiet", "churn"),)))

    for name in ("neural_slo_compliance", "neural_slo_error_budget_remaining",
                 "neural_slo_burn_rate"):
        assert samples(text, name) == {}


def test_a_non_finite_figure_is_left_out_and_the_rest_stays():
    slo = status("availability", "churn", compliance=math.nan,
                 error_budget_remaining=-math.inf, burn_rates={"1h": math.inf, "5m": 2.0})
    text = exposition(idle_model_snapshot("churn", "1.0", slos=(slo,)))

    assert samples(text, "neural_slo_compliance") == {}
    assert samples(text, "neural_slo_error_budget_remaining") == {}
    assert samples(text, "neural_slo_burn_rate") == {
        labels(slo="availability", model="churn", version="1.0", window="5m"): 2.0,
    }


def test_each_version_of_a_model_exports_its_own_slo_figures():
    text = exposition(
        idle_model_snapshot("churn", "1.0", slos=(status("availability", "churn",
                                                         compliance=0.9),)),
        idle_model_snapshot("churn", "2.0", slos=(status("availability", "churn",
                                                         compliance=0.5),)),
    )

    assert samples(text, "neural_slo_compliance") == {
        labels(slo="availability", model="churn", version="1.0"): 0.9,
        labels(slo="availability", model="churn", version="2.0"): 0.5,
    }


def test_a_hostile_slo_name_comes_back_unchanged_from_the_scrape():
    slo = status(HOSTILE, 'a"b', compliance=0.25, burn_rates={"1h": 75.0})
    text = exposition(idle_model_snapshot('a"b', "1.0", slos=(slo,)))

    assert samples(text, "neural_slo_compliance") == {
        labels(slo=HOSTILE, model='a"b', version="1.0"): 0.25}
    assert samples(text, "neural_slo_burn_rate") == {
        labels(slo=HOSTILE, model='a"b', version="1.0", window="1h"): 75.0,
    }


def test_labelled_and_correct_counts_are_counters_per_model_and_version():
    text = exposition(
        idle_model_snapshot("churn", "1.0", labels_joined=40, labels_correct=31),
        idle_model_snapshot("fraud", "2.0"),
    )

    assert "# TYPE neural_labels_joined_total counter" in text
    assert "# TYPE neural_labels_correct_total counter" in text
    assert samples(text, "neural_labels_joined_total") == {
        labels(model="churn", version="1.0"): 40, labels(model="fraud", version="2.0"): 0,
    }
    assert samples(text, "neural_labels_correct_total") == {
        labels(model="churn", version="1.0"): 31, labels(model="fraud", version="2.0"): 0,
    }
