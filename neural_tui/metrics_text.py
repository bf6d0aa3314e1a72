"""The exporter's metric families, and their rendering in the Prometheus text format 0.0.4.

prometheus-client's path (a `Metric` per family, a label dict and a `Sample` per series, then
`generate_latest` sorting and escaping every label of every sample) costs most of a scrape at
thousands of series. A `Family` holds its label values as tuples instead, and `render` builds
the label set of a series (`{feature="x",model="m",test="ks",version="1"}`) once per scrape,
reused by every family that shares it (the four per-feature gauges do), from one `str.format`
template per tuple of label names, with each distinct label value escaped once.

The text is byte for byte what `generate_latest` writes for the same family: HELP escaped as
it does, labels sorted by name, label values with backslash, newline and double quote
escaped, numbers spelled by its `floatToGoString`, a counter's family named with `_total`, a
histogram's `_count` and `_sum` after its buckets, and no sample whose value is NaN or
infinite (the exporter's Collector leaves those out too).
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

    def __post_init__(self) -> None:
        if self.kind == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must be named with _total, as it is exposed")


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(families: Iterable[Family]) -> str:
    """The families in the text format 0.0.4; see the module docstring."""
    out: list[str] = []
    append = out.append
    finite = math.isfinite
    label_sets = _LabelSets()
    for family in families:
        name = family.name
        documentation = family.documentation.replace("\\", "\\\\").replace("\n", "\\n")
        append(f"# HELP {name} {documentation}\n# TYPE {name} {family.kind}\n")
        names = family.label_names
        rendered = label_sets.of(names)
        for values, value in family.series:
            if finite(value):
                label_set = rendered.get(values)
                if label_set is None:
                    label_set = rendered[values] = label_sets.render(names, values)
                number = repr(float(value))
                if value > 0 and number.find(".") > 6:
                    number = floatToGoString(value)  # past 1e6: Go's exponent form
                append(f"{name}{label_set} {number}\n")
        if family.histograms:
            _render_histograms(out, family, label_sets)
    return "".join(out)


def _render_histograms(out: list[str], family: Family, label_sets: _LabelSets) -> None:
    """Each series' buckets, then its `_count` (the `+Inf` bucket's) and `_sum`."""
    names = family.label_names
    bucket_names = (*names, "le")
    rendered = label_sets.of(names)
    for values, buckets, total in family.histograms:
        for le, count in buckets:
            if math.isfinite(count):
                bucket = label_sets.render(bucket_names, (*values, le))
                out.append(f"{family.name}_bucket{bucket} {floatToGoString(count)}\n")
        series = rendered.get(values)
        if series is None:
            series = rendered[values] = label_sets.render(names, values)
        if math.isfinite(buckets[-1][1]):
            out.append(f"{family.name}_count{series} {floatToGoString(buckets[-1][1])}\n")
        if math.isfinite(total):
            out.append(f"{family.name}_sum{series} {floatToGoString(total)}\n")


class _LabelSets:
    """The label sets of one scrape, rendered once each: per tuple of label names, a
    template with the names sorted (`{feature="{2}",model="{0}",...}`) and the label sets
    made so far; each distinct label value escaped once."""

    def __init__(self) -> None:
        self._rendered: dict[tuple[str, ...], dict[LabelValues, str]] = {}
        self._templates: dict[tuple[str, ...], str] = {}
        self._escaped = _Escaped()

    def of(self, names: tuple[str, ...]) -> dict[LabelValues, str]:
        """The label sets of `names` rendered so far, by their values."""
        return self._rendered.setdefault(names, {})

    def render(self, names: tuple[str, ...], values: LabelValues) -> str:
        """`{name="value",...}` sorted by name, or "" without labels."""
        template = self._templates.get(names)
        if template is None:
            template = self._templates[names] = _template(names)
        return template.format(*map(self._escaped.__getitem__, values))


class _Escaped(dict[str, str]):
    """Label values escaped, each the first time it is asked for."""

    def __missing__(self, value: str) -> str:
        escaped = self[value] = escape_label_value(value)
        return escaped


def _template(names: tuple[str, ...]) -> str:
    """A `str.format` template of the label set of `names`, sorted by name as
    `generate_latest` sorts them (names are distinct)."""
    if not names:
        return ""
    fields = sorted((name.replace("{", "{{").replace("}", "}}"), index)
                    for index, name in enumerate(names))
    return "{{" + ",".join(f'{name}="{{{index}}}"' for name, index in fields) + "}}"
