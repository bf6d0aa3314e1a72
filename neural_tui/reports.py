"""One-shot reports for scripts and CI: read storage once, print a table or JSON, exit.

`status` and `health` also make one round of every remote source the settings ask for
(`neural_tui.fleet`): each source's `fetch()` once, all at once, each bounded in time. A
target's rates and quantiles need two scrapes, so from one round they are n/a (null): its
totals and exported figures are shown, and the console (or `--prometheus`, whose rates
Prometheus computes) gives the rates.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_tui.config import HealthSection, Settings, StorageSection
from neural_tui.engines.drift import DriftReport, FeatureDrift
from neural_tui.engines.performance import PerformanceReport
from neural_tui.engines.quality import QualityReport
from neural_tui.engines.slo import SLOStatus, duration_name
from neural_tui.errors import UsageError
from neural_tui.fleet import remote_sources
from neural_tui.progress_line import ProgressLine
from neural_tui.remote_models import (
    RemoteFigures,
    RemoteModel,
    RemoteSource,
    RemoteView,
    SLOFigure,
    TargetStatus,
)
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


def load_runtime(settings: Settings, *, show_progress: bool = False) -> Runtime:
    """A runtime fed with everything in storage now, its clock set to the newest record.

    Reports on stored history are read as of the newest record, so a report on yesterday's
    files says what it said yesterday; on live storage the newest record is about now. "Newest"
    is the one most traffic agrees with (`ModelState.robust_now`), never past this host's
    clock: one record stamped hours ahead does not move every window past the traffic.
    With `show_progress` (not under `--json`), a progress bar on stderr while it reads, if
    stderr is a terminal (`neural_tui.progress_line`).
    """
    storage = settings.storage.path
    require_storage(storage)
    source = TailSource(storage, poll_interval=settings.runtime.poll_interval_seconds)
    runtime = Runtime(settings, [source])
    line = ProgressLine.on_stderr() if show_progress else None

    async def ingest_all() -> None:
        async with source:
            async for batch in source.available():
                runtime.ingest(batch)
                progress = runtime.history_progress() if line is not None else None
                if line is not None and progress is not None:
                    line.show(progress)

    try:
        asyncio.run(ingest_all())
    finally:
        if line is not None:
            line.close()
    newest = max((now for now in (s.robust_now() for s in runtime.states.values())
                  if now is not None), default=None)
    if newest is not None:
        newest = min(newest, time.time())
    runtime.clock = (lambda: newest) if newest is not None else time.time
    return runtime


def unknown_model(model: str, names: Iterable[str]) -> UsageError:
    known = ", ".join(sorted(set(names))) or "none"
    return UsageError(f"--model {model!r}: no such model in storage (known: {known})")


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


make_remote_sources: Callable[[Settings], tuple[RemoteSource, ...]] = remote_sources
"""What builds a report's remote sources from its settings (a test puts fakes here)."""
FETCH_GRACE_SECONDS = 5.0
"""What a remote source's round may take beyond twice its longest timeout before it is
reported failing (`fetch_deadline`)."""


@dataclass(frozen=True, slots=True)
class RemoteRound:
    """One round of one remote source: its views, or why it gave none (`problem`)."""

    label: str
    views: tuple[RemoteView, ...]
    problem: str | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the source, or one of its views, could not read (a target that is down is
        the target's state, judged on its own)."""
        views = tuple(v.problem for v in self.views if v.problem)
        return (self.problem, *views) if self.problem else views

    @property
    def models(self) -> tuple[tuple[str, RemoteModel], ...]:
        """Every model of the round with its view's label, by label, name and version."""
        return tuple(sorted(((v.label, m) for v in self.views for m in v.models),
                            key=lambda pair: (pair[0], pair[1].name, pair[1].version)))

    @property
    def targets(self) -> tuple[tuple[str, TargetStatus], ...]:
        return tuple((v.label, t) for v in sorted(self.views, key=lambda v: v.label)
                     for t in v.targets)


def fetch_deadline(settings: Settings) -> float:
    """How long a remote source's round may take: twice the longest configured timeout (a
    source may need a second request, e.g. Prometheus' range queries after the instant
    ones), plus `FETCH_GRACE_SECONDS`."""
    timeouts = [float(t.timeout) for t in settings.targets]
    if settings.prometheus.url is not None:
        timeouts.append(float(settings.prometheus.timeout))
    return 2 * max(timeouts, default=0.0) + FETCH_GRACE_SECONDS


def fetch_remote(sources: tuple[RemoteSource, ...], deadline: float
                 ) -> tuple[RemoteRound, ...]:
    """One round of every source, all at once; a source that raises or outlasts `deadline`
    gives a round with its problem instead of views."""
    if not sources:
        return ()

    async def fetch_all() -> tuple[RemoteRound, ...]:
        return tuple(await asyncio.gather(*(_fetch(s, deadline) for s in sources)))

    return asyncio.run(fetch_all())


async def _fetch(source: RemoteSource, deadline: float) -> RemoteRound:
    try:
        views = await asyncio.wait_for(source.fetch(), deadline)
    except TimeoutError:
        return RemoteRound(source.label, (), f"no answer within {deadline:g} s")
    except Exception as exc:  # one failing source must not hide the others
        return RemoteRound(source.label, (), " ".join(repr(exc).split())[:300])
    return RemoteRound(source.label, tuple(views))


@dataclass(frozen=True, slots=True)
class Fleet:
    """What `status` and `health` report on: the local storage read once (`runtime` and
    `snapshot` None when only remote sources are asked for) and one round of each remote
    source, with the models `--model` selects."""

    runtime: Runtime | None
    snapshot: Snapshot | None
    rounds: tuple[RemoteRound, ...]
    local: tuple[ModelSnapshot, ...]
    remote: tuple[tuple[str, RemoteModel], ...]
    warnings: list[str]

    @property
    def records_total(self) -> int:
        return self.snapshot.ingest.records_total if self.snapshot is not None else 0

    @property
    def targets(self) -> tuple[tuple[str, TargetStatus], ...]:
        return tuple(pair for r in self.rounds for pair in r.targets)


def read_fleet(settings: Settings, model: str | None, *, show_progress: bool = False) -> Fleet:
    """Storage first (a bad one stops the command before any network round), then the
    remote sources.

    The storage may be missing only when remote sources are asked for and the storage is the
    default one: a storage named by `--storage` or the config must exist.
    """
    sources = make_remote_sources(settings)
    runtime = None
    if not (sources and settings.storage == StorageSection()
            and not settings.storage.path.exists()):
        runtime = load_runtime(settings, show_progress=show_progress)
    snapshot = runtime.build_snapshot() if runtime is not None else None
    rounds = fetch_remote(sources, fetch_deadline(settings))
    local = snapshot.models if snapshot is not None else ()
    local, remote = select_fleet(local, rounds, model)
    warnings = (storage_warnings(settings, snapshot.ingest.records_total)
                if snapshot is not None else [])
    return Fleet(runtime, snapshot, rounds, local, remote, warnings)


def select_fleet(
    local: tuple[ModelSnapshot, ...], rounds: tuple[RemoteRound, ...], model: str | None
) -> tuple[tuple[ModelSnapshot, ...], tuple[tuple[str, RemoteModel], ...]]:
    """The local and the remote models named `model` (all when None); an unknown name is
    bad usage naming the known ones, unless a source or a target could not answer (the
    model may be there: `health` then fails on that, not on the name)."""
    remote = tuple(pair for r in rounds for pair in r.models)
    if model is None:
        return local, remote
    chosen = (tuple(m for m in local if m.name == model),
              tuple(pair for pair in remote if pair[1].name == model))
    if not any(chosen) and not rounds:
        raise unknown_model(model, (m.name for m in local))
    unanswered = any(r.problems or any(not t.up for _, t in r.targets) for r in rounds)
    if not any(chosen) and not unanswered:
        known = [m.name for m in local] + [m.name for _, m in remote]
        raise UsageError(f"--model {model!r}: no such model in storage or the remote sources "
                         f"(known: {', '.join(sorted(set(known))) or 'none'})")
    return chosen


def print_status(settings: Settings, *, model: str | None, as_json: bool) -> int:
    fleet = read_fleet(settings, model, show_progress=not as_json)
    snapshot = fleet.snapshot
    if as_json:
        print(json.dumps({
            "storage": str(settings.storage.path) if snapshot is not None else None,
            "records_total": fleet.records_total,
            "skipped_lines": snapshot.ingest.skipped_lines if snapshot is not None else {},
            "kept_lines_altered": snapshot.ingest.kept_lines if snapshot is not None else {},
            "models": ([{**m.status_figures(), "source": ""} for m in fleet.local]
                       + [remote_status(label, m) for label, m in fleet.remote]),
            "sources": [_source_entry(r) for r in fleet.rounds],
            "targets": [_target_entry(label, t) for label, t in fleet.targets],
            "warnings": fleet.warnings,
        }))
        return finish(EXIT_OK, fleet.warnings)
    console = report_console()
    if snapshot is not None:
        _print_local_status(console, settings, snapshot, fleet.local)
    _print_remote_status(console, fleet)
    return finish(EXIT_OK, fleet.warnings)


def _print_local_status(console: Console, settings: Settings, snapshot: Snapshot,
                        models: tuple[ModelSnapshot, ...]) -> None:
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
    console.print(table)
    skipped = sum(snapshot.ingest.skipped_lines.values())
    console.print(f"{snapshot.ingest.records_total:,} records read, {skipped:,} lines skipped",
                  markup=False)


def _print_remote_status(console: Console, fleet: Fleet) -> None:
    """One table per source label, then the targets, then what each failing source said."""
    models, targets = fleet.remote, fleet.targets
    for label in sorted({label for label, _ in models}):
        title = safe_text(f"source {label}")
        title.end = "\n"
        table = Table(title=title, title_justify="left")
        for column in ("model", "version", "predictions", "errors", "error rate", "rps",
                       "p50 ms", "p95 ms", "p99 ms", "drifted", "quality", "accuracy",
                       "SLO budget", "alerts"):
            table.add_column(column, justify="left" if column in ("model", "version")
                             else "right")
        for _, m in (pair for pair in models if pair[0] == label):
            table.add_row(safe_text(m.name), safe_text(m.version),
                          _count_text(m.predictions_total),
                          _count_text(sum(m.errors_total.values())),
                          _share(m.error_rate), _tenths(m.throughput_rps),
                          _tenths(m.latency_p50_ms), _tenths(m.latency_p95_ms),
                          _tenths(m.latency_p99_ms),
                          _drifted_text(m.figures), _figure(_finite(m.figures.quality_score)),
                          _share(m.figures.accuracy), _budget_text(m.figures.slos),
                          safe_text(_alerts_text(m.figures.alerts_firing)))
        console.print(table)
    if any(m.throughput_rps is None for _, m in models):
        console.print("n/a: a target's rates and quantiles need two scrapes; one-shot "
                      "reports make one (the console shows them)", markup=False)
    if targets:
        table = Table(title="targets", title_justify="left")
        for column in ("target", "state", "detail", "poll s"):
            table.add_column(column, justify="right" if column == "poll s" else "left")
        for _, t in targets:
            table.add_row(safe_text(t.name), Text("up", style="green") if t.up
                          else Text("DOWN", style="bold red"), safe_text(t.detail),
                          _seconds(t.last_poll_seconds))
        console.print(table)
    for r in fleet.rounds:
        for problem in r.problems:
            console.print(safe_text(f"source {r.label} failing: {problem}", style="bold red"))


def remote_status(label: str, model: RemoteModel) -> dict[str, Any]:
    """A remote model under `status --json`: as a local one where it can (rates and
    quantiles null until its source can compute them), then the figures its exporter
    published. Numbers that are not finite are null."""
    figures = model.figures
    return {
        "name": model.name,
        "version": model.version,
        "source": label,
        "instance": model.instance,
        "predictions_total": _count(model.predictions_total),
        "errors_total": {kind: _count(n) for kind, n in model.errors_total.items()},
        "window_seconds": _finite(model.window_seconds),
        "throughput_rps": _finite(model.throughput_rps),
        "error_rate": _finite(model.error_rate),
        "latency_p50_ms": _finite(model.latency_p50_ms),
        "latency_p95_ms": _finite(model.latency_p95_ms),
        "latency_p99_ms": _finite(model.latency_p99_ms),
        "drift_scores": {kind: _finite(v) for kind, v in model.drift_scores.items()},
        "feature_drift": [{"feature": f.feature, "test": f.test,
                           "statistic": _finite(f.statistic), "drifted": f.drifted,
                           "threshold": _finite(f.threshold), "p_value": _finite(f.p_value)}
                          for f in figures.feature_drift],
        **{key: _finite(getattr(figures, key)) for key in (
            "quality_score", "missing_rate", "outlier_rate", "accuracy", "precision",
            "recall", "f1")},
        "slos": [{"slo": f.slo, "compliance": _finite(f.compliance),
                  "budget_remaining": _finite(f.budget_remaining),
                  "burn_rates": {w: _finite(v) for w, v in f.burn_rates.items()}}
                 for f in figures.slos],
        "alerts_firing": [{"rule": rule, "severity": severity, "count": _count(n)}
                          for (rule, severity), n in sorted(figures.alerts_firing.items())],
    }


def _source_entry(r: RemoteRound) -> dict[str, Any]:
    return {"source": r.label, "status": "failing" if r.problems else "ok",
            "detail": "; ".join(r.problems)}


def _target_entry(label: str, t: TargetStatus) -> dict[str, Any]:
    """A target by name, never by URL (which may carry a token in its query)."""
    return {"target": t.name, "source": label, "up": t.up, "detail": t.detail,
            "last_success_at": _finite(t.last_success_at),
            "last_poll_seconds": _finite(t.last_poll_seconds)}


def _finite(value: float | None) -> float | None:
    """`value`, or None when it is missing or not a finite number (JSON has neither NaN nor
    infinity, and an endpoint may send either)."""
    return float(value) if value is not None and math.isfinite(value) else None


def _count(value: float) -> int | float | None:
    """An exported counter: an int when it is a whole number, else as `_finite`."""
    finite = _finite(value)
    return int(finite) if finite is not None and finite.is_integer() else finite


def _count_text(value: float) -> str:
    count = _count(value)
    return "—" if count is None else f"{count:,}"


def _share(value: float | None) -> str:
    value = _finite(value)
    return "n/a" if value is None else f"{value:.2%}"


def _tenths(value: float | None) -> str:
    """A rate or a latency in ms of a remote model: n/a until its source can compute it."""
    value = _finite(value)
    return "n/a" if value is None else f"{value:.1f}"


def _seconds(value: float | None) -> str:
    value = _finite(value)
    return "—" if value is None else f"{value:.3f}"


def _drifted_text(figures: RemoteFigures) -> str:
    """How many exported features drifted, of those the exporter judged."""
    judged = [f.drifted for f in figures.feature_drift if f.drifted is not None]
    return f"{sum(judged)}/{len(judged)}" if judged else "—"


def _budget_text(slos: tuple[SLOFigure, ...]) -> str:
    """The smallest error budget left among the exported SLOs."""
    left = [b for b in (_finite(f.budget_remaining) for f in slos) if b is not None]
    return f"{min(left):z.1%}" if left else "—"


def _alerts_text(firing: Mapping[tuple[str, str], float]) -> str:
    names = sorted({f"{rule} ({severity})" for (rule, severity), n in firing.items() if n > 0})
    return ", ".join(names) or "—"


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
    source: str = ""
    """The remote source's label ("" for local storage)."""

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


def judge_remote(label: str, model: RemoteModel, limits: HealthSection) -> ModelHealth:
    """A remote model judged on what its exporter publishes: no critical alert firing
    (`critical_alert`) and, with `fail_on_slo`, no SLO whose error budget is exhausted (at or
    below 0). Its rates are the exporter's own business: its `[health]` is not ours."""
    firing = sorted({rule for (rule, severity), n in model.figures.alerts_firing.items()
                     if severity == "critical" and n > 0})
    checks = [Check("critical_alert", not firing,
                    f"critical alert firing: {', '.join(firing)}" if firing
                    else "no critical alert firing")]
    if limits.fail_on_slo:
        checks += [_remote_slo_check(figure) for figure in model.figures.slos]
    return ModelHealth(model.name, model.version, tuple(checks), source=label)


def _remote_slo_check(figure: SLOFigure) -> Check:
    left = _finite(figure.budget_remaining)
    if left is None:
        return Check("fail_on_slo", None, f"SLO {figure.slo}: no error budget exported",
                     slo=figure.slo)
    if left <= 0:
        return Check("fail_on_slo", False, f"SLO {figure.slo}: error budget exhausted "
                     f"({left:z.1%} left)", slo=figure.slo)
    return Check("fail_on_slo", True, f"SLO {figure.slo}: {left:z.1%} of the error budget "
                 "left", slo=figure.slo)


def source_check(r: RemoteRound) -> Check:
    """`source_reachable`: the source answered its round (Prometheus reachable, no error)."""
    if r.problems:
        return Check("source_reachable", False, f"source {r.label} failing: "
                     + "; ".join(r.problems))
    return Check("source_reachable", True, f"source {r.label} answered")


def target_check(t: TargetStatus) -> Check:
    """`target_up`: the target's `/metrics` answered its last poll (or, for an exporter a
    source reports on another scraper's word, that scraper's last scrape of it did)."""
    what = f"{t.scraped_by} exporter {t.name}" if t.scraped_by else f"target {t.name}"
    if t.up:
        return Check("target_up", True, f"{what} up")
    return Check("target_up", False, f"{what} down: {t.detail or 'no reason given'}")


def print_health(settings: Settings, *, model: str | None, as_json: bool) -> int:
    fleet = read_fleet(settings, model, show_progress=not as_json)
    analyses: dict[ModelKey, ModelAnalysis] = {}
    if fleet.runtime is not None and _needs_analysis(settings.health):
        keys = [(m.name, m.version) for m in fleet.local]
        analyses = dict(analyse_models(settings, fleet.runtime, keys, reference=None))
    verdicts = [judge(m, settings.health, time.time(),
                      analyses.get((m.name, m.version), ModelAnalysis()))
                for m in fleet.local]
    verdicts += [judge_remote(label, m, settings.health) for label, m in fleet.remote]
    sources = [(r.label, source_check(r)) for r in fleet.rounds]
    targets = [(label, t, target_check(t)) for label, t in fleet.targets]
    problems = [] if verdicts else [
        "no model has any record in storage" if not fleet.rounds
        else "no model in storage or from the remote sources" if model is None
        else f"no model {model!r} in storage or from the remote sources that answered"]
    problems += [c.detail for _, c in sources if c.passed is False]
    problems += [c.detail for _, _, c in targets if c.passed is False]
    healthy = not problems and all(v.healthy for v in verdicts)
    if as_json:
        print(json.dumps({
            "healthy": healthy,
            "problems": problems,
            "warnings": fleet.warnings,
            "models": [{"name": v.name, "version": v.version, "source": v.source,
                        "healthy": v.healthy, "problems": list(v.problems),
                        "waiting": list(v.waiting),
                        "checks": [_check_entry(c) for c in v.checks]}
                       for v in verdicts],
            "sources": [{"source": label, **_check_entry(c)} for label, c in sources],
            "targets": [{"target": t.name, "source": label, "up": t.up, **_check_entry(c)}
                        for label, t, c in targets],
        }))
    else:
        _print_health(verdicts, problems)
    return finish(EXIT_OK if healthy else EXIT_UNHEALTHY, fleet.warnings)


def _print_health(verdicts: list[ModelHealth], problems: list[str]) -> None:
    console = report_console()
    for problem in problems:
        console.print(safe_text(f"UNHEALTHY  {problem}", style="bold red"))
    for v in verdicts:
        label = Text("ok         " if v.healthy else "UNHEALTHY  ",
                     style="green" if v.healthy else "bold red")
        label.append(safe_text(f"{v.name} {v.version}"
                               + (f" @ {v.source}" if v.source else "")))
        if v.problems:
            label.append(safe_text(": " + "; ".join(
                f"{c.name}: {c.detail}" for c in v.checks if c.passed is False)))
        if v.waiting:
            label.append(safe_text(" (waiting: " + "; ".join(v.waiting) + ")",
                                   style="dim"))
        console.print(label)


def _check_entry(check: Check) -> dict[str, Any]:
    entry = {"check": check.name, "status": check.status, "detail": check.detail}
    return entry if check.slo is None else {**entry, "slo": check.slo}


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def analyse_storage(
    settings: Settings, *, model: str | None, reference: Path | None, show_progress: bool
) -> tuple[list[tuple[ModelKey, ModelAnalysis]], list[str]]:
    """Read storage once and run every engine on each selected model, in this thread; with
    the storage's warnings (and a progress bar on a terminal's stderr if `show_progress`)."""
    runtime = load_runtime(settings, show_progress=show_progress)
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
    results, warnings = analyse_storage(settings, model=model, reference=reference,
                                        show_progress=not as_json)
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
    console.print(_drift_table(console, "feature", report.features))
    outputs = [f for f in (report.prediction, report.top_probability) if f is not None]
    if outputs:
        console.print(Text("model output (prediction drift, not counted among the features)",
                           style="bold"))
        console.print(_drift_table(console, "output", outputs))
    if report.dataset_drift:
        console.print(Text("dataset drift: the drifted share reached the threshold",
                           style="bold red"))


DRIFT_FIGURES = ("statistic", "p-value", "threshold", "drift", "PSI", "W normed", "JS")
"""The drift table's figure columns, right-aligned."""
DRIFT_EXTRA_FIGURES = ("PSI", "W normed", "JS")
"""Left out on a terminal too narrow for every figure whole (`--json` keeps them)."""
FOLDED_COLUMN_WIDTH = 8
"""The least the first column (names, folded over lines) is given when widths are counted."""


def _drift_table(console: Console, first_column: str, rows: Sequence[FeatureDrift]) -> Table:
    """One row per tested column (an input feature, or a model output), worst first as given.

    A figure is never cut (`0.0001…` would read as another number): on a terminal too narrow
    for all of them, the secondary distances are left out, and a caption says so."""
    cells = [_drift_cells(feature) for feature in rows]
    names = [first_column, "kind", "test", *DRIFT_FIGURES]
    widths = [max([cell_len(name), *(cell_len(row[index].plain) for row in cells)])
              for index, name in enumerate(names)]
    widths[0] = min(widths[0], FOLDED_COLUMN_WIDTH)
    shown = list(range(len(names)))
    if sum(widths) + 3 * len(names) + 1 > console.width:
        shown = [index for index in shown if names[index] not in DRIFT_EXTRA_FIGURES]
    table = Table(title_justify="left", caption_justify="left")
    if len(shown) < len(names):
        table.caption = (f"{', '.join(DRIFT_EXTRA_FIGURES)} left out at this width "
                         "(--json has them)")
    for index in shown:
        name = names[index]
        if index == 0:
            table.add_column(name, overflow="fold")
        else:
            table.add_column(name, justify="right" if name in DRIFT_FIGURES else "left",
                             min_width=widths[index], no_wrap=True)
    for row in cells:
        table.add_row(*(row[index] for index in shown))
    return table


def _drift_cells(feature: FeatureDrift) -> list[Text]:
    """A drift table row: the name (made safe), kind, test, then every figure."""
    return [
        safe_text(feature.name), Text(feature.kind), Text(feature.test),
        Text(_figure(feature.statistic)), Text(_figure(feature.p_value)),
        Text(_figure(feature.threshold)),
        Text("DRIFT", style="bold red") if feature.drifted else Text("ok", style="green"),
        Text(_figure(feature.psi)), Text(_figure(feature.wasserstein_normed)),
        Text(_figure(feature.jensen_shannon)),
    ]


def print_quality(
    settings: Settings, *, model: str | None, as_json: bool, reference: Path | None
) -> int:
    results, warnings = analyse_storage(settings, model=model, reference=reference,
                                        show_progress=not as_json)
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
