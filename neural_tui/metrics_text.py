"""The exporter's metric families, and their rendering in the Prometheus text format 0.0.4.

prometheus-client's path (a `Metric` per family, a label dict and a `Sample` per series, then
`generate_latest` sorting and escaping every label of every sample) costs most of a scrape at
thousands of series. A `Family` holds its label values as tuples instead, and `render` builds
the label set of a series (`{feature="x",model="m",test="ks",version="1"}`) once per scrape,
reused by every family that shares it (the four per-feature gauges do).

The text is byte for byte what `generate_latest` writes for the same family: HELP escaped as
it does, labels sorted by name, label values with backslash, newline and double quote
escaped, numbers spelled by its `floatToGoString`, a counter's family named with `_total`, a
histogram's `_count` and `_sum` after its buckets, and no sample whose value is NaN or
infinite (the exporter leaves those out on both paths).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.utils import floatToGoString

LabelValues = tuple[str, ...]
Kind = Literal["counter", "gauge", "histogram"]


@dataclass(slots=True)
class Family:
    """One metric family of a scrape.

    `name` is the exposed name (a counter's ends in `_total`). A counter or gauge has one
    `series` entry per label set; a histogram one `histograms` entry: its cumulative buckets
    (`le` as prometheus-client writes it, `+Inf` last, whose count is the total) and its sum.
    """

    name: str
    kind: Kind
    documentation: str
    label_names: tuple[str, ...] = ()
    series: list[tuple[LabelValues, float]] = field(default_factory=list)
    histograms: list[tuple[LabelValues, list[tuple[str, float]], float]] = field(
        default_factory=list)


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(families: Iterable[Family]) -> str:
    """The families in the text format 0.0.4; see the module docstring."""
    out: list[str] = []
    label_sets: dict[tuple[tuple[str, ...], LabelValues], str] = {}
    for family in families:
        name = family.name
        documentation = family.documentation.replace("\\", "\\\\").replace("\n", "\\n")
        out.append(f"# HELP {name} {documentation}\n# TYPE {name} {family.kind}\n")
        names = family.label_names
        for values, value in family.series:
            if math.isfinite(value):
                label_set = label_sets.get((names, values))
                if label_set is None:
                    label_set = label_sets[names, values] = _label_set(names, values)
                out.append(f"{name}{label_set} {floatToGoString(value)}\n")
        if family.histograms:
            _render_histograms(out, family, label_sets)
    return "".join(out)


def _render_histograms(out: list[str], family: Family,
                       label_sets: dict[tuple[tuple[str, ...], LabelValues], str]) -> None:
    names = family.label_names
    bucket_names = (*names, "le")
    for values, buckets, total in family.histograms:
        for le, count in buckets:
            if math.isfinite(count):
                bucket = _label_set(bucket_names, (*values, le))
                out.append(f"{family.name}_bucket{bucket} {floatToGoString(count)}\n")
        series = label_sets.get((names, values))
        if series is None:
            series = label_sets[names, values] = _label_set(names, values)
        if math.isfinite(buckets[-1][1]):
            out.append(f"{family.name}_count{series} {floatToGoString(buckets[-1][1])}\n")
        if math.isfinite(total):
            out.append(f"{family.name}_sum{series} {floatToGoString(total)}\n")


def _label_set(names: tuple[str, ...], values: LabelValues) -> str:
    """`{name="value",...}` sorted by name, or "" without labels (names are distinct, so the
    sort never compares values)."""
    if not names:
        return ""
    pairs = sorted(zip(names, values, strict=True))
    return "{" + ",".join(f'{n}="{escape_label_value(v)}"' for n, v in pairs) + "}"
