"""The overview's fleet: models grouped by source under a heading, the filter, and what the
console waits for while no model is known.

Target names, URLs, model names and the reason a target is down come from remote endpoints
(or a user's config), so every one of them is shown through `safe_text`. Nothing is computed
here beyond grouping, counting and matching what a snapshot says.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from neural_tui.app.formatting import format_ago
from neural_tui.remote_models import TargetStatus
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot, SourceHealth
from neural_tui.safe_text import safe_text

LOCAL_GROUP = ""
"""The group key of the models read from local storage (their `ModelSnapshot.source`)."""
TARGET_PREFIX = "target "
"""A target's view label is `target NAME`."""
PROMETHEUS_LABEL = "prometheus"
"""The Prometheus source's label, and its view's."""
DOWN_NAMES_SHOWN = 3
"""A heading names this many of a source's down exporters, then counts the rest."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """What the console was asked to read, as its wiring knows it (a snapshot only says what
    answered): local storage or not, the targets by name, and Prometheus' URL."""

    local: bool = True
    targets: tuple[str, ...] = ()
    prometheus_url: str | None = None

    @property
    def remote(self) -> bool:
        return bool(self.targets) or self.prometheus_url is not None


@dataclass(frozen=True, slots=True)
class Group:
    """One source's models, in snapshot order, under its heading (None: the console reads
    local storage only, so nothing needs a heading). `title` names the source; the filter
    matches it as well as the model names."""

    key: str
    title: str
    heading: Text | None
    models: tuple[ModelSnapshot, ...]
    down: bool = False


def group_models(snapshot: Snapshot, fleet: Fleet, storage: str) -> list[Group]:
    """Local models first, then each target's, then any other source's (Prometheus), each
    in label order.

    Every configured or reported target and a configured Prometheus get a group even without
    models, so a target that is down shows its heading and the reason.
    """
    by_source: dict[str, list[ModelSnapshot]] = {}
    for model in snapshot.models:
        by_source.setdefault(model.source, []).append(model)
    local = tuple(by_source.pop(LOCAL_GROUP, ()))
    own = polled_targets(snapshot)
    headed = fleet.remote or bool(by_source) or bool(snapshot.targets)
    local_title = f"local storage {storage}"
    groups = []
    if local:
        heading = safe_text(local_title) if headed else None
        groups.append(Group(LOCAL_GROUP, local_title, heading, local))
    statuses = {TARGET_PREFIX + status.name: status for status in own}
    labels = set(by_source) | set(statuses) | {TARGET_PREFIX + name for name in fleet.targets}
    if fleet.prometheus_url is not None:
        labels.add(PROMETHEUS_LABEL)
    labels |= {status.scraped_by for status in snapshot.targets} - {""}
    for label in sorted(labels, key=lambda label: (not label.startswith(TARGET_PREFIX), label)):
        models = tuple(by_source.get(label, ()))
        if label.startswith(TARGET_PREFIX):
            groups.append(_target_group(label, statuses.get(label), models,
                                        snapshot.generated_at))
        else:
            groups.append(_source_group(label, models, fleet, snapshot.source_health,
                                        scraped_by(snapshot, label)))
    return groups


def polled_targets(snapshot: Snapshot) -> tuple[TargetStatus, ...]:
    """The targets this process polls itself (each a `target NAME` group)."""
    return tuple(status for status in snapshot.targets if not status.scraped_by)


def scraped_by(snapshot: Snapshot, label: str) -> tuple[TargetStatus, ...]:
    """The exporters the source `label` reports on another scraper's word (Prometheus')."""
    return tuple(status for status in snapshot.targets if status.scraped_by == label)


def _target_group(label: str, status: TargetStatus | None, models: tuple[ModelSnapshot, ...],
                  now: float) -> Group:
    """`target host-1 (up, 0.2 s ago)`, `target host-2 DOWN: timed out after 2 s`, or `target
    host-3 (not polled yet)`."""
    heading = safe_text(label)
    if status is None:
        heading.append(" (not polled yet)")
    elif status.up:
        ago = format_ago(now, status.last_success_at)
        heading.append(f" (up, {ago})" if ago else " (up)")
    else:
        heading.append(" DOWN")
        if status.detail:
            heading.append_text(Text.assemble(": ", safe_text(status.detail)))
    if status is not None and status.up and not models:
        heading.append(" · no models")
    return Group(label, label, heading, models, down=status is not None and not status.up)


def _source_group(label: str, models: tuple[ModelSnapshot, ...], fleet: Fleet,
                  health: tuple[SourceHealth, ...], exporters: tuple[TargetStatus, ...]
                  ) -> Group:
    """`prometheus http://prom:9090`, with `FAILING: why` while the source cannot read, and
    `· 1 of 2 exporters down: neural/host-2:9108` while it says an exporter is down (a
    round may fail one query and still read the exporters)."""
    title = label
    if label == PROMETHEUS_LABEL and fleet.prometheus_url is not None:
        title = f"{label} {fleet.prometheus_url}"
    heading = safe_text(title)
    failing = next((h for h in health if h.label == label and h.status != "ok"), None)
    if failing is not None:
        heading.append(f" {failing.status.upper()}")
        if failing.detail:
            heading.append_text(Text.assemble(": ", safe_text(failing.detail)))
    elif not models:
        heading.append(" · no models")
    down = [status.name for status in exporters if not status.up]
    if down:
        heading.append_text(Text.assemble(f" · {exporters_down(exporters)}: ",
                                          safe_text(_some(down))))
    return Group(label, title, heading, models, down=failing is not None or bool(down))


def exporters_down(exporters: tuple[TargetStatus, ...]) -> str:
    """`1 of 2 exporters down`."""
    down = sum(not status.up for status in exporters)
    return f"{down} of {len(exporters)} exporter{'s' if len(exporters) != 1 else ''} down"


def _some(names: list[str]) -> str:
    """The first `DOWN_NAMES_SHOWN` names, then how many more."""
    shown = ", ".join(names[:DOWN_NAMES_SHOWN])
    more = len(names) - DOWN_NAMES_SHOWN
    return f"{shown} (+{more} more)" if more > 0 else shown


def model_matches(query: str, model: ModelSnapshot, group: Group) -> bool:
    """Whether the filter `query` (a substring, any case; blank matches all) names the model,
    its source, or both as its uid (`churn @ target host-1`)."""
    needle = query.strip().casefold()
    return not needle or any(needle in text.casefold()
                             for text in (model.name, group.title, model.uid))


def group_matches(query: str, group: Group) -> bool:
    """Whether a group with no model shown stays in view under `query`: it names the group."""
    needle = query.strip().casefold()
    return not needle or needle in group.title.casefold()


def waiting_text(snapshot: Snapshot, fleet: Fleet, storage: str) -> Text:
    """`waiting for records in DIR, models from 2 targets (1 down) and Prometheus at URL...`"""
    parts = []
    if fleet.local:
        parts.append(Text.assemble("records in ", safe_text(storage)))
    remote = []
    own = polled_targets(snapshot)
    if fleet.targets or own:
        remote.append(Text(_targets_count(own, len(fleet.targets))))
    if fleet.prometheus_url is not None:
        prometheus = Text.assemble("Prometheus at ", safe_text(fleet.prometheus_url))
        failing = next((h for h in snapshot.source_health
                        if h.label == PROMETHEUS_LABEL and h.status != "ok"), None)
        exporters = scraped_by(snapshot, PROMETHEUS_LABEL)
        if failing is not None:
            prometheus.append_text(Text.assemble(f" ({failing.status}: ",
                                                 safe_text(failing.detail), ")"))
        if any(not status.up for status in exporters):
            prometheus.append(f" ({exporters_down(exporters)})")
        remote.append(prometheus)
    if remote:
        parts.append(Text.assemble("models from ", Text(" and ").join(remote)))
    return Text.assemble("waiting for ", Text(", ").join(parts), "...")


def _targets_count(statuses: tuple[TargetStatus, ...], configured: int) -> str:
    """`2 targets (1 down)`, `3 targets (all up)`, `2 targets (not polled yet)`."""
    count = max(configured, len(statuses))
    down = sum(not status.up for status in statuses)
    pending = count - len(statuses)
    states = [f"{down} down"] if down else []
    if pending:
        states.append("not polled yet" if pending == count else f"{pending} not polled yet")
    return f"{count} target{'s' if count != 1 else ''} ({', '.join(states) or 'all up'})"


def fleet_status(snapshot: Snapshot) -> Text:
    """For the status line: targets up and down, each source's exporters up and down
    (`prometheus exporters 1 up, 1 down`), then every source not reading (`prometheus
    failing: connection refused`); empty when there is nothing to say."""
    parts = []
    own = polled_targets(snapshot)
    if own:
        parts.append(Text(_up_and_down("targets", own)))
    for label in sorted({status.scraped_by for status in snapshot.targets} - {""}):
        parts.append(Text.assemble(safe_text(label),
                                   _up_and_down(" exporters", scraped_by(snapshot, label))))
    for health in snapshot.source_health:
        if health.status != "ok":
            part = Text.assemble(safe_text(health.label), f" {health.status}")
            if health.detail:
                part.append_text(Text.assemble(": ", safe_text(health.detail)))
            parts.append(part)
    return Text(" · ").join(parts)


def _up_and_down(what: str, statuses: tuple[TargetStatus, ...]) -> str:
    up = sum(status.up for status in statuses)
    return f"{what} {up} up, {len(statuses) - up} down"
