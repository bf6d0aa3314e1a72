"""Prometheus recording and alerting rules for the configured SLOs (`neural-tui rules`).

For users who run Prometheus: the rules compute from the exported metrics the same error
ratios, burn rates and multi-window burn-rate alerts as the SLO engine, in the shape Sloth
generates. Per SLO, one rule group:

- `slo:sli_error:ratio_rate<w>`: the bad fraction over each window `w` of the SLO's burn tiers
  and over the SLO window itself, a ratio of counter rates (never an average of ratios);
- `slo:objective:ratio`, `slo:error_budget:ratio`, `slo:period_burn_rate:ratio` and
  `slo:period_error_budget_remaining:ratio`;
- one `slo_burn_rate` alert per burn tier (labels `severity`, `long_window`, `short_window`),
  held back while a faster tier fires and while the long window has fewer than `min_events`
  events (for throughput, whose events are minutes, at most the window's minutes).

Every series carries `slo`, `model` and `version`: like the engine, the rules judge each
version of a model on its own traffic. An SLO without `model` is computed for every model;
with `model`, a matcher keeps that model only. Label
values are written as PromQL string literals (quotes, backslashes and control characters
escaped) and the YAML by PyYAML, so no SLO name can break out of either. Alert labels and
annotations are Go templates in Prometheus: they hold only fixed text and `$labels`, never a
configured name.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.utils import floatToGoString

from neural_tui.config import ConfigError, Settings, SLOSection, parse_duration
from neural_tui.engines.slo import MINUTE, BurnTier, SLOSpec, burn_tiers, duration_name
from neural_tui.runtime.snapshot import MAX_LATENCY_BOUNDS, latency_bounds_seconds

EXIT_OK = 0

PREDICTIONS = "neural_predictions_total"
ERRORS = "neural_errors_total"
LATENCY_BUCKET = "neural_prediction_latency_seconds_bucket"
LATENCY_COUNT = "neural_prediction_latency_seconds_count"
LABELS_JOINED = "neural_labels_joined_total"
LABELS_CORRECT = "neural_labels_correct_total"
THROUGHPUT_SLICE = duration_name(MINUTE)
"""A throughput SLO's time slice: good when the request rate over it reached `min_rps`."""

ALERT_NAME = "slo_burn_rate"
BY = "model, version"
"""The labels every SLO series is kept apart by: the engine judges each version of a model on
its own traffic, and so do the rules."""


def sli_error_record(window: str) -> str:
    """The recording rule holding an SLO's bad fraction over `window` ("5m", "30d")."""
    return f"slo:sli_error:ratio_rate{window}"


def promql_string(value: str) -> str:
    """`value` as a double-quoted PromQL string literal (Go's escapes), safe for any text.

    Every character that is not printable is escaped, not only control characters: YAML reads
    U+0085, U+2028 and U+2029 as line breaks, which would split the literal in a block.
    """
    escaped = []
    for char in value:
        code = ord(char)
        if char in '"\\':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char.isprintable():
            escaped.append(char)
        elif code < 0x80:
            escaped.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            escaped.append(f"\\u{code:04x}")
        else:
            escaped.append(f"\\U{code:08x}")
    return '"' + "".join(escaped) + '"'


def go_template_text(value: str) -> str:
    """`value` as Go template text that expands to itself: Prometheus expands an alert's
    labels as templates, and only `{{` opens an action there."""
    return value.replace("{{", '{{ "{{" }}')


def _number(value: float) -> str:
    """A PromQL number literal with 15 significant digits (0.001, not 0.0010000000000000009)."""
    return f"{value:.15g}"


@dataclass(frozen=True, slots=True)
class _Selector:
    """The metric selectors of one SLO: `{model="x"}` for a named model, else no matcher."""

    model: str | None

    def of(self, metric: str, **labels: str) -> str:
        matchers = dict(labels)
        if self.model is not None:
            matchers = {"model": self.model, **matchers}
        inside = ",".join(f"{name}={promql_string(value)}" for name, value in matchers.items())
        return f"{metric}{{{inside}}}" if inside else metric

    def rate(self, metric: str, window: str, **labels: str) -> str:
        return f"sum by ({BY}) (rate({self.of(metric, **labels)}[{window}]))"


def _error_ratio(spec: SLOSpec, select: _Selector, window: str) -> str:
    """PromQL for the bad fraction of `spec`'s events over `window`, one series per model
    and version."""
    if spec.type in ("availability", "error_rate"):
        total = select.rate(PREDICTIONS, window)
        # A model that never failed has no error series: count its errors as zero.
        errors = f"({select.rate(ERRORS, window)} or {total} * 0)"
        return f"{errors} / {total}"
    if spec.type == "latency":
        total = select.rate(LATENCY_COUNT, window)
        within = select.rate(LATENCY_BUCKET, window, le=_le(spec))
        return f"({total} - {within}) / {total}"
    if spec.type == "accuracy":
        joined = select.rate(LABELS_JOINED, window)
        correct = select.rate(LABELS_CORRECT, window)
        return f"({joined} - {correct}) / {joined}"
    assert spec.min_rps is not None
    slice_rate = select.rate(PREDICTIONS, THROUGHPUT_SLICE)
    return (f"avg_over_time(({slice_rate} < bool {_number(spec.min_rps)})"
            f"[{window}:{THROUGHPUT_SLICE}])")


def _events(spec: SLOSpec, select: _Selector, tier: BurnTier) -> str:
    """PromQL: the long window of `tier` holds enough events for it to alert (the engine's
    low-traffic guard); a throughput SLO's events are minutes, at most the window's count."""
    if spec.type == "throughput":
        slices = f"({select.rate(PREDICTIONS, THROUGHPUT_SLICE)})[{tier.long_window}:" \
                 f"{THROUGHPUT_SLICE}]"
        needed = min(spec.min_events, tier.long_seconds // MINUTE)
        return f"count_over_time({slices}) >= {needed}"
    counter = {"availability": PREDICTIONS, "error_rate": PREDICTIONS, "latency": LATENCY_COUNT,
               "accuracy": LABELS_JOINED}[spec.type]
    return (f"sum by ({BY}) (increase({select.of(counter)}[{tier.long_window}])) "
            f">= {spec.min_events}")


def _le(spec: SLOSpec) -> str:
    """The `le` of the latency bucket at the SLO's threshold, written as the exporter writes
    it (prometheus-client's `floatToGoString`)."""
    assert spec.threshold_ms is not None
    return floatToGoString(spec.threshold_ms / 1000.0)


def _windows(spec: SLOSpec, tiers: tuple[BurnTier, ...]) -> list[tuple[str, int]]:
    """Every window the rules record, by name, shortest first."""
    seconds = {spec.window_seconds}
    for tier in tiers:
        seconds.update((tier.long_seconds, tier.short_seconds))
    return [(duration_name(s), s) for s in sorted(seconds)]


def _group(index: int, spec: SLOSpec) -> dict[str, Any]:
    select = _Selector(spec.model)
    constant_labels = {"slo": spec.name} | ({"model": spec.model} if spec.model is not None else {})
    budget = 1.0 - spec.objective
    tiers = burn_tiers(spec.window_seconds)
    period = duration_name(spec.window_seconds)
    rules: list[dict[str, Any]] = [
        {"record": sli_error_record(name), "expr": _error_ratio(spec, select, name),
         "labels": {"slo": spec.name}}
        for name, _ in _windows(spec, tiers)
    ]
    recorded = {"slo": spec.name}
    rules += [
        {"record": "slo:objective:ratio", "expr": f"vector({_number(spec.objective)})",
         "labels": dict(constant_labels)},
        {"record": "slo:error_budget:ratio", "expr": f"vector({_number(budget)})",
         "labels": dict(constant_labels)},
        {"record": "slo:period_burn_rate:ratio",
         "expr": f"{select.of(sli_error_record(period), **recorded)} / {_number(budget)}",
         "labels": {"slo": spec.name}},
        {"record": "slo:period_error_budget_remaining:ratio",
         "expr": f"1 - {select.of('slo:period_burn_rate:ratio', **recorded)}",
         "labels": {"slo": spec.name}},
    ]
    return {"name": f"neural-tui-slo-{index}", "rules": rules + _alerts(spec, select, tiers)}


def _alerts(spec: SLOSpec, select: _Selector, tiers: tuple[BurnTier, ...]) -> list[dict[str, Any]]:
    """One alert per burn tier, unless a faster tier fires for the same model and version.

    A short SLO window can scale two tiers to the same windows (a 1h SLO: both page tiers
    over 1m and 1m); such tiers become one alert, whose condition is the union of theirs.
    """
    budget = 1.0 - spec.objective
    conditions = [_tier_condition(spec, select, tier, budget) for tier in tiers]
    merged: dict[tuple[str, str, str], list[tuple[BurnTier, str]]] = {}
    for position, tier in enumerate(tiers):
        expr = conditions[position]
        for faster in conditions[:position]:
            expr = f"({expr})\nunless on ({BY})\n({faster})"
        merged.setdefault((tier.severity, tier.long_window, tier.short_window), []).append(
            (tier, expr))
    alerts = []
    for (severity, long_window, short_window), parts in merged.items():
        factor = min(tier.factor for tier, _ in parts)
        alerts.append({
            "alert": ALERT_NAME,
            "expr": "\nor\n".join(f"({expr})" if len(parts) > 1 else expr for _, expr in parts),
            "labels": {"slo": go_template_text(spec.name), "severity": severity,
                       "long_window": long_window, "short_window": short_window},
            "annotations": {
                "summary": "SLO {{ $labels.slo }} of model {{ $labels.model }} version "
                           "{{ $labels.version }}: the error budget burns over "
                           f"{_number(factor)} times the sustainable rate over {long_window} "
                           f"and {short_window}.",
            },
        })
    return alerts


def _tier_condition(spec: SLOSpec, select: _Selector, tier: BurnTier, budget: float) -> str:
    """Both windows of `tier` burn faster than its factor, with enough events; the series keep
    the `slo`, `model` and `version` labels of the long window's."""
    limit = f"({_number(tier.factor)} * {_number(budget)})"
    long_ratio = select.of(sli_error_record(tier.long_window), slo=spec.name)
    short_ratio = select.of(sli_error_record(tier.short_window), slo=spec.name)
    return (f"{long_ratio} > {limit}\nand on ({BY})\n{short_ratio} > {limit}\n"
            f"and on ({BY})\n{_events(spec, select, tier)}")


def slo_spec(section: SLOSection, index: int, source: Path | None) -> SLOSpec:
    """The spec of one `[[slo]]` entry, refused with the file and key when the rules could not
    compute it."""
    where = f"{source or 'config'}: key 'slo[{index}]"
    window = parse_duration(section.window)
    if window is None or window < MINUTE:
        raise ConfigError(f"{where}.window': {section.window!r} is not a duration such as "
                          "\"30d\", \"7d\" or \"1h\"")
    spec = SLOSpec(name=section.name, type=section.type, target=section.target,
                   window_seconds=window, model=section.model,
                   threshold_ms=section.threshold_ms, min_rps=section.min_rps,
                   min_events=section.min_events)
    if not 0.0 < spec.objective < 1.0:
        raise ConfigError(f"{where}.target': {section.target} leaves no error budget "
                          "(the objective must be between 0 and 1, both excluded)")
    if spec.type == "throughput" and spec.min_rps is None:
        raise ConfigError(f"{where}.min_rps': a throughput SLO needs min_rps")
    if spec.type == "latency" and spec.threshold_ms is None:
        raise ConfigError(f"{where}.threshold_ms': a latency SLO needs threshold_ms")
    return spec


def rule_document(settings: Settings) -> dict[str, Any]:
    """The rule file for every `[[slo]]` of `settings`, as a YAML-ready mapping."""
    specs = [slo_spec(section, i, settings.source) for i, section in enumerate(settings.slo)]
    names: set[str] = set()
    bounds = latency_bounds_seconds(
        (s.threshold_ms for s in specs if s.type == "latency" and s.threshold_ms is not None),
        settings.exporter.latency_buckets_ms)
    for index, spec in enumerate(specs):
        where = f"{settings.source or 'config'}: key 'slo[{index}]"
        if spec.name in names:
            raise ConfigError(f"{where}.name': duplicate SLO name {spec.name!r}")
        names.add(spec.name)
        if spec.threshold_ms is not None and spec.type == "latency" \
                and spec.threshold_ms / 1000.0 not in bounds:
            raise ConfigError(f"{where}.threshold_ms': {spec.threshold_ms} is not a bucket "
                              "bound of neural_prediction_latency_seconds (the histogram takes "
                              f"positive thresholds, at most {MAX_LATENCY_BOUNDS} bounds)")
    return {"groups": [_group(index, spec) for index, spec in enumerate(specs)]}


def render_rules(settings: Settings) -> str:
    """The rule file as YAML text, ready for Prometheus' `rule_files`."""
    return yaml.dump(rule_document(settings), Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, writing a multi-line PromQL expression as a literal block, and
    any text with another character that is not printable double-quoted, escaped."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Left to choose, PyYAML writes a lone U+0085 unquoted, and reads it back as a line break.
    style = None
    if not text.replace("\n", "").isprintable():
        style = '"'
    elif "\n" in text:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def print_rules(settings: Settings) -> int:
    """Print the rule file; with no `[[slo]]`, an empty one and a note on stderr (exit 0, so
    a pipeline that always writes the file keeps working)."""
    if not settings.slo:
        print("neural-tui: no [[slo]] in the config: the rule file has no groups",
              file=sys.stderr)
    sys.stdout.write(render_rules(settings))
    return EXIT_OK
