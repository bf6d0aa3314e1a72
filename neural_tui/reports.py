"""One-shot reports for scripts and CI: read storage once, print a table or JSON, exit."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_tui.config import HealthSection, Settings
from neural_tui.engines.drift import DriftReport
from neural_tui.engines.performance import PerformanceReport
from neural_tui.engines.quality import QualityReport
from neural_tui.engines.slo import SLOStatus, duration_name
from neural_tui.errors import UsageError
from neural_tui.runtime.analysis import Analysis, ModelKey
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.runtime.verdict import ModelAnalysis
from neural_tui.safe_text import plain, safe_text
from neural_tui.sources.tail import TailSource
from neural_tui.storage_layout import misplaced_records, require_storage

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2


PIPED_WIDTH = 160
"""Width of tables written to a pipe or file, where Rich would otherwise assume 80 columns and
cut model and feature names short."""


def report_console() -> Console:
    """A console for tables: the terminal's width, or `PIPED_WIDTH` when piped (unless COLUMNS
    says otherwise); no highlighting of numbers, which would colour log text."""
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=PIPED_WIDTH if piped else None)


def load_runtime(settings: Settings) -> Runtime:
    """A runtime fed with everything in storage now, its clock set to the newest record.

    Reports on stored history are read as of the newest record, so a report on yesterday's
    files says what it said yesterday; on live storage the newest record is about now. "Newest"
    is the one most traffic agrees with (`ModelState.robust_now`), never past this host's
    clock: one record stamped hours ahead does not move every window past the traffic.
    """
    storage = settings.storage.path
    require_storage(storage)
    source = TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)
    runtime = Runtime(settings, [source])

    async def ingest_all() -> None:
        async with source:
            async for batch in source.available():
                runtime.ingest(batch)

    asyncio.run(ingest_all())
    newest = max((now for now in (s.robust_now() for s in runtime.states.values())
                  if now is not None), default=None)
    if newest is not None:
        newest = min(newest, time.time())
    runtime.clock = (lambda: newest) if newest is not None else time.time
    return runtime


def select_models(snapshot: Snapshot, model: str | None) -> tuple[ModelSnapshot, ...]:
    if model is None:
        return snapshot.models
    chosen = tuple(m for m in snapshot.models if m.name == model)
    if not chosen:
        raise unknown_model(model, [m.name for m in snapshot.models])
    return chosen


def unknown_model(model: str, names: Iterable[str]) -> UsageError:
    known = ", ".join(sorted(set(names))) or "none"
    return UsageError(f"--model {model!r}: no such model in storage (known: {known})")


def model_status(model: ModelSnapshot) -> dict[str, Any]:
    return {
        "name": model.name,
        "version": model.version,
        "predictions_total": model.predictions_total,
        "errors_total": model.errors_total,
        "labels_total": model.labels_total,
        "labels_joined": model.labels_joined,
        "last_record_at": model.last_record_at,
        "window_seconds": model.window_seconds,
        "throughput_rps": model.throughput_rps,
        "error_rate": model.error_rate,
        "latency_p50_ms": model.latency_p50_ms,
        "latency_p95_ms": model.latency_p95_ms,
        "latency_p99_ms": model.latency_p99_ms,
    }


def storage_warnings(settings: Settings, records_total: int) -> list[str]:
    """Why a storage that yielded no record likely holds them elsewhere (empty when it read
    some, or when nothing suggests a misplaced folder)."""
    if records_total:
        return []
    misplaced = misplaced_records(settings.storage.path)
    return [misplaced.describe()] if misplaced is not None else []


def finish(code: int, warnings: list[str]) -> int:
    """`code`, or `EXIT_BAD_INPUT` after one stderr line per warning: records found where the
    reader does not look are bad input, not an empty storage."""
    for warning in warnings:
        print(f"neural-tui: warning: {plain(warning)}", file=sys.stderr)
    return EXIT_BAD_INPUT if warnings else code


def print_status(settings: Settings, *, model: str | None, as_json: bool) -> int:
    snapshot = load_runtime(settings).build_snapshot()
    models = select_models(snapshot, model)
    warnings = storage_warnings(settings, snapshot.ingest.records_total)
    if as_json:
        print(json.dumps({
            "storage": str(settings.storage.path),
            "records_total": snapshot.ingest.records_total,
            "skipped_lines": snapshot.ingest.skipped_lines,
            "kept_lines_altered": snapshot.ingest.kept_lines,
            "models": [model_status(m) for m in models],
            "warnings": warnings,
        }))
        return finish(EXIT_OK, warnings)
    title = safe_text(f"neural-tui status — {settings.storage.path}")
    title.end = "\n"
    table = Table(title=title, title_justify="left")
    for column in ("model", "version", "predictions", "errors", "error rate", "rps",
                   "p50 ms", "p95 ms", "p99 ms", "labels"):
        table.add_column(column, justify="left" if column in ("model", "version") else "right")
    for m in models:
        table.add_row(safe_text(m.name), safe_text(m.version), f"{m.predictions_total:,}",
                      f"{m.errors_count:,}", f"{m.error_rate:.2%}", f"{m.throughput_rps:.1f}",
                      _ms(m.latency_p50_ms), _ms(m.latency_p95_ms), _ms(m.latency_p99_ms),
                      f"{m.labels_joined:,}/{m.labels_total:,}")
    console = report_console()
    console.print(table)
    skipped = sum(snapshot.ingest.skipped_lines.values())
    console.print(f"{snapshot.ingest.records_total:,} records read, {skipped:,} lines skipped",
                  markup=False)
    return finish(EXIT_OK, warnings)


@dataclass(frozen=True, slots=True)
class Check:
    """One `[health]` limit judged for one model: `passed` is None while there is not enough
    data for a verdict (no reference yet, too few labels), which never fails."""

    name: str
    passed: bool | None
    detail: str
    slo: str | None = None
    """The SLO judged, for the `fail_on_slo` checks (one per SLO of the model)."""

    @property
    def status(self) -> str:
        return {True: "ok", False: "failed", None: "waiting"}[self.passed]


@dataclass(frozen=True, slots=True)
class ModelHealth:
    name: str
    version: str
    checks: tuple[Check, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(c.detail for c in self.checks if c.passed is False)

    @property
    def waiting(self) -> tuple[str, ...]:
        return tuple(c.detail for c in self.checks if c.passed is None)

    @property
    def healthy(self) -> bool:
        return not self.problems


def judge(
    model: ModelSnapshot, limits: HealthSection, now: float, analysis: ModelAnalysis
) -> ModelHealth:
    """Every set `[health]` limit judged for `model`, worded for a person.

    The drift, quality and accuracy limits are judged on `analysis` (the engines' run on this
    model); where it holds no verdict yet, they wait.
    """
    checks = [_check("max_error_rate", model.error_rate > limits.max_error_rate,
                     f"error rate {model.error_rate:.2%}", f"{limits.max_error_rate:.2%}")]
    p95 = model.latency_p95_ms
    if limits.max_latency_p95_ms is not None:
        checks.append(Check("max_latency_p95_ms", None, "p95 latency: no latency in the window")
                      if p95 is None else
                      _check("max_latency_p95_ms", p95 > limits.max_latency_p95_ms,
                             f"p95 latency {p95:.1f} ms", f"{limits.max_latency_p95_ms:g} ms"))
    if limits.max_silence_seconds is not None:
        silent = now - model.last_record_at if model.last_record_at is not None else math.inf
        checks.append(Check("max_silence_seconds", not silent > limits.max_silence_seconds,
                            f"no record for {silent:.0f} s (limit "
                            f"{limits.max_silence_seconds:g} s)"))
    checks += _analysis_checks(limits, analysis)
    if limits.fail_on_slo:
        checks += [_slo_check(status) for status in model.slos]
    return ModelHealth(model.name, model.version, tuple(checks))


def _check(name: str, failed: bool, figure: str, limit: str, *, beyond: str = "above") -> Check:
    return Check(name, not failed, f"{figure} {beyond if failed else 'within'} {limit}")


def _analysis_checks(limits: HealthSection, result: ModelAnalysis) -> list[Check]:
    checks = [_drift_check(result)] if limits.fail_on_drift else []
    drift, quality = result.drift, result.quality
    if limits.max_drifted_share is not None:
        limit = limits.max_drifted_share
        checks.append(
            Check("max_drifted_share", None,
                  f"drifted share: {result.waiting or 'no drift report'}") if drift is None else
            _check("max_drifted_share", drift.drifted_share > limit,
                   f"drifted share {drift.drifted_share:.0%} ({len(drift.drifted_features)} of "
                   f"{len(drift.features)} features)", f"{limit:.0%}"))
    if limits.min_quality_score is not None:
        limit = limits.min_quality_score
        checks.append(
            Check("min_quality_score", None,
                  f"quality score: {result.waiting or 'no quality report'}") if quality is None
            else _check("min_quality_score", quality.score < limit,
                        f"quality score {quality.score:.3f}", f"{limit:g}", beyond="below"))
    if limits.min_accuracy is not None:
        checks.append(_accuracy_check(limits.min_accuracy, result.performance))
    return checks


def _drift_check(result: ModelAnalysis) -> Check:
    """The model's one drift verdict (`ModelAnalysis.drifted`), as `drift --json` gives it."""
    if result.drifted is None:
        return Check("fail_on_drift", None, f"drift: {result.waiting or 'no drift report'}")
    if result.drifted:
        return Check("fail_on_drift", False, f"drifted: {', '.join(result.drift_kinds)}")
    return Check("fail_on_drift", True, "no drift")


def _accuracy_check(limit: float, current: PerformanceReport | None) -> Check:
    if current is None:
        return Check("min_accuracy", None, "accuracy: no labelled prediction yet")
    if current.task != "classification" or current.accuracy is None:
        return Check("min_accuracy", None, f"accuracy: not measured for a {current.task} model")
    if not current.reliable:
        return Check("min_accuracy", None, f"accuracy: {current.n_labelled} of "
                     f"{current.min_labels} labelled predictions needed")
    return _check("min_accuracy", current.accuracy < limit,
                  f"accuracy {current.accuracy:.2%} over {current.n_labelled} labels",
                  f"{limit:.2%}", beyond="below")


def _slo_check(status: SLOStatus) -> Check:
    """One SLO of the model: failed when its error budget is exhausted or a page-level burn
    alert fires; waiting while its window holds no event."""
    name = status.spec.name
    if status.compliance is None:
        return Check("fail_on_slo", None, f"SLO {name}: no event in its "
                     f"{duration_name(status.spec.window_seconds)} window", slo=name)
    remaining = status.error_budget_remaining
    left = "—" if remaining is None else f"{remaining:z.1%}"
    problems = [f"error budget exhausted ({left} left)"] if status.exhausted else []
    problems += [alert.summary for alert in status.alerts
                 if alert.name == "slo_burn_rate" and alert.severity == "page"]
    if problems:
        return Check("fail_on_slo", False, f"SLO {name}: {'; '.join(problems)}", slo=name)
    return Check("fail_on_slo", True, f"SLO {name}: {left} of the error budget left", slo=name)


def _needs_analysis(limits: HealthSection) -> bool:
    return limits.fail_on_drift or any(limit is not None for limit in (
        limits.max_drifted_share, limits.min_quality_score, limits.min_accuracy))


def print_health(settings: Settings, *, model: str | None, as_json: bool) -> int:
    runtime = load_runtime(settings)
    snapshot = runtime.build_snapshot()
    models = select_models(snapshot, model)
    analyses: dict[ModelKey, ModelAnalysis] = {}
    if _needs_analysis(settings.health):
        keys = [(m.name, m.version) for m in models]
        analyses = dict(analyse_models(settings, runtime, keys, reference=None))
    verdicts = [judge(m, settings.health, time.time(),
                      analyses.get((m.name, m.version), ModelAnalysis()))
                for m in models]
    problems = [] if verdicts else ["no model has any record in storage"]
    healthy = bool(verdicts) and all(v.healthy for v in verdicts)
    warnings = storage_warnings(settings, snapshot.ingest.records_total)
    if as_json:
        print(json.dumps({
            "healthy": healthy,
            "problems": problems,
            "warnings": warnings,
            "models": [{"name": v.name, "version": v.version, "healthy": v.healthy,
                        "problems": list(v.problems), "waiting": list(v.waiting),
                        "checks": [_check_entry(c) for c in v.checks]}
                       for v in verdicts],
        }))
    else:
        console = report_console()
        for problem in problems:
            console.print(Text(f"UNHEALTHY  {problem}", style="bold red"))
        for v in verdicts:
            label = Text("ok         " if v.healthy else "UNHEALTHY  ",
                         style="green" if v.healthy else "bold red")
            label.append(safe_text(f"{v.name} {v.version}"))
            if v.problems:
                label.append(safe_text(": " + "; ".join(
                    f"{c.name}: {c.detail}" for c in v.checks if c.passed is False)))
            if v.waiting:
                label.append(safe_text(" (waiting: " + "; ".join(v.waiting) + ")",
                                       style="dim"))
            console.print(label)
    return finish(EXIT_OK if healthy else EXIT_UNHEALTHY, warnings)


def _check_entry(check: Check) -> dict[str, Any]:
    entry = {"check": check.name, "status": check.status, "detail": check.detail}
    return entry if check.slo is None else {**entry, "slo": check.slo}


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def analyse_storage(
    settings: Settings, *, model: str | None, reference: Path | None
) -> tuple[list[tuple[ModelKey, ModelAnalysis]], list[str]]:
    """Read storage once and run every engine on each selected model, in this thread; with
    the storage's warnings."""
    runtime = load_runtime(settings)
    keys = sorted(runtime.states)
    if model is not None:
        if not any(name == model for name, _ in keys):
            raise unknown_model(model, (name for name, _ in keys))
        keys = [key for key in keys if key[0] == model]
    warnings = storage_warnings(settings, runtime.build_snapshot().ingest.records_total)
    return analyse_models(settings, runtime, keys, reference=reference), warnings


def analyse_models(
    settings: Settings, runtime: Runtime, keys: list[ModelKey], *, reference: Path | None
) -> list[tuple[ModelKey, ModelAnalysis]]:
    """Every engine run on each of `keys`, in this thread.

    Reference files are read before any engine runs, so a bad one stops the command (exit 2)
    with one line naming it.
    """
    analysis = Analysis(settings, reference=reference)
    for name, _ in keys:
        path = analysis.reference_file(name)
        if path is not None:
            analysis.load_reference_file(path)
    return [(key, analysis.analyse_now(key, runtime.states[key])) for key in keys]


def print_drift(
    settings: Settings,
    *,
    model: str | None,
    as_json: bool,
    reference: Path | None,
    fail_on_drift: bool,
) -> int:
    results, warnings = analyse_storage(settings, model=model, reference=reference)
    drifted = any(_has_drift(result) for _, result in results)
    gate_error = None if warnings or not fail_on_drift or drifted else _no_verdict(results)
    if as_json and gate_error is not None:
        raise gate_error  # the error is then the one JSON document on stdout
    if as_json:
        print(json.dumps({
            "storage": str(settings.storage.path),
            "drift": drifted,
            "models": [_drift_entry(key, result) for key, result in results],
            "warnings": warnings,
        }))
    else:
        console = report_console()
        if not results:
            console.print("no model has any record in storage", markup=False)
        for key, result in results:
            _print_model_drift(console, key, result)
    if warnings or not fail_on_drift:
        return finish(EXIT_OK, warnings)
    if gate_error is not None:
        raise gate_error
    return EXIT_DRIFT if drifted else EXIT_OK


def _no_verdict(results: list[tuple[ModelKey, ModelAnalysis]]) -> UsageError | None:
    """Why `--fail-on-drift` found no drift but cannot pass: a model without a verdict, or no
    model at all (a gate never passes unchecked)."""
    undecided = [f"{name} {version} ({result.waiting or 'no drift report'})"
                 for (name, version), result in results if result.drifted is None]
    if undecided or not results:
        return UsageError("--fail-on-drift: no drift verdict for "
                          + ("; ".join(undecided) or "any model: storage has no record"))
    return None


def _has_drift(result: ModelAnalysis) -> bool:
    """The model's one drift verdict (defined in `neural_tui.runtime.verdict`)."""
    return result.drifted is True


def _drift_entry(key: ModelKey, result: ModelAnalysis) -> dict[str, Any]:
    entry = _model_entry(key, result, result.drift)
    entry["scores"] = result.scores()
    entry["drifted"] = result.drifted
    entry["drift_kinds"] = list(result.drift_kinds)
    entry["performance_waiting"] = result.performance_waiting
    return entry


def _print_drift_kinds(console: Console, result: ModelAnalysis) -> None:
    if result.drift_kinds:
        console.print(Text(f"DRIFT: {', '.join(result.drift_kinds)}", style="bold red"))
    if result.performance_waiting:
        console.print(result.performance_waiting, markup=False)


def _print_model_drift(console: Console, key: ModelKey, result: ModelAnalysis) -> None:
    title = safe_text(f"{key[0]} {key[1]}", style="bold")
    report = result.drift
    if report is None:
        title.append(safe_text(f" — {result.waiting or 'no drift report'}"))
        console.print(title)
        _print_drift_kinds(console, result)
        return
    title.append(safe_text(
        f" — {len(report.drifted_features)} of {len(report.features)} features drifted "
        f"({report.drifted_share:.0%}, correction {report.correction}); "
        f"{report.n_current:,} rows against {result.reference}"
    ))
    console.print(title)
    _print_drift_kinds(console, result)
    table = Table(title_justify="left")
    table.add_column("feature", overflow="fold")
    for column in ("kind", "test"):
        table.add_column(column)
    for column in ("statistic", "p-value", "threshold", "drift", "PSI", "W normed", "JS"):
        table.add_column(column, justify="right")
    outputs = [f for f in (report.prediction, report.top_probability) if f is not None]
    for feature in (*report.features, *outputs):
        table.add_row(
            safe_text(feature.name), feature.kind, feature.test, _figure(feature.statistic),
            _figure(feature.p_value), _figure(feature.threshold),
            Text("DRIFT", style="bold red") if feature.drifted else Text("ok", style="green"),
            _figure(feature.psi), _figure(feature.wasserstein_normed),
            _figure(feature.jensen_shannon),
        )
    console.print(table)
    if report.dataset_drift:
        console.print(Text("dataset drift: the drifted share reached the threshold",
                           style="bold red"))


def print_quality(
    settings: Settings, *, model: str | None, as_json: bool, reference: Path | None
) -> int:
    results, warnings = analyse_storage(settings, model=model, reference=reference)
    if as_json:
        print(json.dumps({
            "storage": str(settings.storage.path),
            "models": [_quality_entry(key, result) for key, result in results],
            "warnings": warnings,
        }))
        return finish(EXIT_OK, warnings)
    console = report_console()
    if not results:
        console.print("no model has any record in storage", markup=False)
    for key, result in results:
        _print_model_quality(console, key, result)
    return finish(EXIT_OK, warnings)


def _quality_entry(key: ModelKey, result: ModelAnalysis) -> dict[str, Any]:
    return _model_entry(key, result, result.quality)


def _model_entry(
    key: ModelKey, result: ModelAnalysis, report: DriftReport | QualityReport | None
) -> dict[str, Any]:
    """One model of `drift --json` or `quality --json`: who it is, then its report's own dict."""
    entry: dict[str, Any] = {"name": key[0], "version": key[1], "reference": result.reference,
                             "waiting": result.waiting}
    entry.update(report.to_dict() if report is not None else {"features": []})
    return entry


def _print_model_quality(console: Console, key: ModelKey, result: ModelAnalysis) -> None:
    title = safe_text(f"{key[0]} {key[1]}", style="bold")
    report = result.quality
    if report is None:
        title.append(safe_text(f" — {result.waiting or 'no quality report'}"))
        console.print(title)
        return
    title.append(safe_text(f" — quality score {report.score:.3f} over {report.rows:,} rows "
                           f"against {result.reference}"))
    console.print(title)
    table = Table(title_justify="left")
    table.add_column("feature", overflow="fold")
    table.add_column("kind")
    for column in ("missing", "type errors", "out of range", "outliers", "new categories",
                   "severity"):
        table.add_column(column, justify="right")
    for feature in report.by_severity():
        table.add_row(
            safe_text(feature.name), feature.kind, f"{feature.missing_rate:.2%}",
            f"{feature.type_violations:,}", f"{feature.out_of_range:,}",
            f"{feature.outlier_rate:.2%}", f"{feature.new_category_count:,}",
            f"{feature.severity:.3f}",
        )
    console.print(table)
    for label, names in (("missing features", report.missing_features),
                         ("unexpected features", report.unexpected_features)):
        if names:
            console.print(safe_text(f"{label}: {', '.join(names)}", style="yellow"))


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"
