"""`ScrapedModel`s built by hand for the rate tests: one series per counter, as an exporter of
one instance sends them."""

from __future__ import annotations

import math

from neural_tui.remote_models import RemoteFigures, RemoteLatency
from neural_tui.sources.exposition import CounterKey, ScrapedModel


def scraped_model(predictions: float, errors: dict[str, float] | None = None,
                  bounds: tuple[float, ...] = (), buckets: tuple[float, ...] | None = None,
                  count: float | None = None) -> ScrapedModel:
    """Model `fraud` version 1.0 with these totals; `buckets` are the finite buckets'
    cumulative counts, `count` the +Inf bucket's (the last bucket's when None)."""
    errors = errors or {}
    counters: dict[CounterKey, float] = {("predictions", "", ()): predictions}
    counters.update({("errors", kind, ()): n for kind, n in errors.items()})
    latency = None
    if buckets is not None:
        total = count if count is not None else buckets[-1]
        latency = RemoteLatency(bounds, buckets, total, 0.0)
        counters.update({("bucket", bound, ()): n for bound, n in zip(bounds, buckets,
                                                                         strict=True)})
        counters[("bucket", math.inf, ())] = total
        counters[("count", "", ())] = total
    return ScrapedModel("fraud", "1.0", predictions, errors, latency, {}, RemoteFigures(),
                        counters)
